// Account administration through HTTP: looking users up, deactivating and reactivating them,
// resetting their access, and who may see which User fields.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, newAdmin, newUser, registerUser, loginTokens, loginCookie, LOGIN, ME, codeOf, TEST_PASSWORD, type TestServer, type SignedInUser, fieldErrors } from "../support/server.js";

const LOOKUP = `query($i: UserLookupInput!) { user(input: $i) { id email username active roles { name } permissions loginTracking { loginCount } } }`;
const SET_ACTIVE = `mutation($i: SetUserActiveInput!) { setUserActive(input: $i) { id email active } }`;
const RESET = `mutation($i: ResetUserAccessInput!) { resetUserAccess(input: $i) { id email active } }`;
const REFRESH = `mutation($t: String!) { refreshToken(input: { refreshToken: $t }) { accessToken refreshToken } }`;
const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id username email } } }`;
const ENTITIES_PUBLIC = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id username } } }`;

const rep = (id: string) => [{ __typename: "User", id }];


let s: TestServer;
let admin: SignedInUser;
beforeAll(async () => {
  s = await startTestServer();
  admin = await newAdmin(s);
});
afterAll(() => s.close());

describe("user lookup", () => {
  it("finds a user by id and by email (case-insensitively) for a holder of users-read", async () => {
    const username = `Look${Date.now().toString(36)}`;
    const { email } = await registerUser(s, { username });
    const u = await loginTokens(s, email);
    const byId = await s.gql(LOOKUP, { i: { id: u.id } }, { token: admin.accessToken });
    expect(byId.errors).toBeUndefined();
    expect(byId.data!.user).toEqual({ id: u.id, email, username, active: true, roles: [{ name: "user" }], permissions: ["user-read", "user-write"], loginTracking: { loginCount: 1 } });
    const byEmail = await s.gql(LOOKUP, { i: { email: email.toUpperCase() } }, { token: admin.accessToken });
    expect(byEmail.errors).toBeUndefined();
    expect(byEmail.data!.user.id).toBe(u.id);
  });

  it("answers null for an unknown id, a malformed id and an unknown email", async () => {
    for (const i of [{ id: "0123456789abcdef01234567" }, { id: "not-an-object-id" }, { email: "nobody.here@example.com" }, { email: `${"a".repeat(300)}@example.com` }]) {
      const r = await s.gql(LOOKUP, { i }, { token: admin.accessToken });
      expect(r.errors, JSON.stringify(i)).toBeUndefined();
      expect(r.data!.user, JSON.stringify(i)).toBeNull();
    }
  });

  it("needs exactly one of id and email", async () => {
    const u = await newUser(s);
    for (const i of [{}, { id: u.id, email: u.email }, { id: null, email: null }, { id: "", email: "" }]) {
      const r = await s.gql(LOOKUP, { i }, { token: admin.accessToken });
      expect(codeOf(r), JSON.stringify(i)).toBe("BAD_USER_INPUT");
      expect(fieldErrors(r)[0], JSON.stringify(i)).toMatchObject({ field: "id", code: "EXACTLY_ONE" });
    }
  });

  it("is refused to a normal user (FORBIDDEN), even for themselves, and to anonymous callers", async () => {
    const u = await newUser(s);
    const other = await newUser(s);
    expect(codeOf(await s.gql(LOOKUP, { i: { id: other.id } }, { token: u.accessToken }))).toBe("FORBIDDEN");
    expect(codeOf(await s.gql(LOOKUP, { i: { email: other.email } }, { token: u.accessToken }))).toBe("FORBIDDEN");
    expect(codeOf(await s.gql(LOOKUP, { i: { id: u.id } }, { token: u.accessToken }))).toBe("FORBIDDEN");
    expect(codeOf(await s.gql(LOOKUP, { i: { id: other.id } }))).toBe("UNAUTHENTICATED");
  });
});

describe("setUserActive", () => {
  it("deactivation refuses the user's token, cookie and refresh token on the very next request, and their login; reactivation lets them in again", async () => {
    const { email } = await registerUser(s);
    const t = await loginTokens(s, email);
    const c = await loginCookie(s, email);
    // warm the per-process cache for both credentials
    expect((await s.gql(ME, {}, { token: t.accessToken })).data!.me.id).toBe(t.id);
    expect((await s.gql(ME, {}, { cookie: c.cookie })).data!.me.id).toBe(t.id);

    const off = await s.gql(SET_ACTIVE, { i: { userId: t.id, active: false } }, { token: admin.accessToken });
    expect(off.errors).toBeUndefined();
    expect(off.data!.setUserActive).toEqual({ id: t.id, email, active: false });

    expect(codeOf(await s.gql(ME, {}, { token: t.accessToken }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await s.gql(ME, {}, { cookie: c.cookie }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await s.gql(REFRESH, { t: t.refreshToken }))).toBe("REFRESH_TOKEN_INVALID");
    // the right password is told the account is disabled; a wrong one stays generic
    const login = await s.gql(LOGIN, { input: { identity: email, password: TEST_PASSWORD, delivery: "TOKENS" } });
    expect(codeOf(login)).toBe("DISABLED_ACCOUNT");
    expect(login.data).toBeNull();
    expect(codeOf(await s.gql(LOGIN, { input: { identity: email, password: "wrong password here" } }))).toBe("GENERIC_AUTHN_FAILED");
    const looked = await s.gql(LOOKUP, { i: { id: t.id } }, { token: admin.accessToken });
    expect(looked.data!.user.active).toBe(false);

    const on = await s.gql(SET_ACTIVE, { i: { userId: t.id, active: true } }, { token: admin.accessToken });
    expect(on.errors).toBeUndefined();
    expect(on.data!.setUserActive.active).toBe(true);
    const again = await loginTokens(s, email);
    expect((await s.gql(ME, {}, { token: again.accessToken })).data!.me).toMatchObject({ id: t.id, active: true });
    // the sessions from before the deactivation stay dead
    expect(codeOf(await s.gql(ME, {}, { token: t.accessToken }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await s.gql(ME, {}, { cookie: c.cookie }))).toBe("UNAUTHENTICATED");
  });

  it("refuses unknown and malformed user ids with USER_DOES_NOT_EXIST", async () => {
    for (const userId of ["0123456789abcdef01234567", "nope", "{\"$gt\":\"\"}"]) {
      const r = await s.gql(SET_ACTIVE, { i: { userId, active: false } }, { token: admin.accessToken });
      expect(codeOf(r), userId).toBe("USER_DOES_NOT_EXIST");
    }
  });

  it("is refused to a normal user, with no effect on the target", async () => {
    const u = await newUser(s);
    const victim = await newUser(s);
    expect(codeOf(await s.gql(SET_ACTIVE, { i: { userId: victim.id, active: false } }, { token: u.accessToken }))).toBe("FORBIDDEN");
    expect(codeOf(await s.gql(SET_ACTIVE, { i: { userId: victim.id, active: false } }))).toBe("UNAUTHENTICATED");
    expect((await s.gql(ME, {}, { token: victim.accessToken })).data!.me.active).toBe(true);
  });
});

describe("resetUserAccess", () => {
  it("kills every session and token of the user at once, and the user can sign in again", async () => {
    const { email } = await registerUser(s);
    const t1 = await loginTokens(s, email);
    const t2 = await loginTokens(s, email);
    const c = await loginCookie(s, email);
    for (const opts of [{ token: t1.accessToken }, { token: t2.accessToken }, { cookie: c.cookie }]) expect((await s.gql(ME, {}, opts)).data!.me.id).toBe(t1.id);

    const r = await s.gql(RESET, { i: { userId: t1.id } }, { token: admin.accessToken });
    expect(r.errors).toBeUndefined();
    expect(r.data!.resetUserAccess).toEqual({ id: t1.id, email, active: true });

    for (const opts of [{ token: t1.accessToken }, { token: t2.accessToken }, { cookie: c.cookie }]) expect(codeOf(await s.gql(ME, {}, opts))).toBe("UNAUTHENTICATED");
    expect(codeOf(await s.gql(REFRESH, { t: t2.refreshToken }))).toBe("REFRESH_TOKEN_INVALID");

    const back = await loginTokens(s, email);
    expect((await s.gql(ME, {}, { token: back.accessToken })).data!.me.id).toBe(t1.id);
    // the admin's own session is untouched
    expect((await s.gql(ME, {}, { token: admin.accessToken })).data!.me.id).toBe(admin.id);
  });

  it("refuses unknown users and callers without users-admin", async () => {
    expect(codeOf(await s.gql(RESET, { i: { userId: "0123456789abcdef01234567" } }, { token: admin.accessToken }))).toBe("USER_DOES_NOT_EXIST");
    const u = await newUser(s);
    const victim = await newUser(s);
    expect(codeOf(await s.gql(RESET, { i: { userId: victim.id } }, { token: u.accessToken }))).toBe("FORBIDDEN");
    expect((await s.gql(ME, {}, { token: victim.accessToken })).data!.me.id).toBe(victim.id);
  });
});

describe("User field visibility", () => {
  it("another normal user sees id and username but not email (FORBIDDEN)", async () => {
    const username = `Vis${Date.now().toString(36)}`;
    const { email } = await registerUser(s, { username });
    const owner = await loginTokens(s, email);
    const other = await newUser(s);

    const pub = await s.gql(ENTITIES_PUBLIC, { r: rep(owner.id) }, { token: other.accessToken });
    expect(pub.errors).toBeUndefined();
    expect(pub.data!._entities).toEqual([{ id: owner.id, username }]);

    const priv = await s.gql(ENTITIES, { r: rep(owner.id) }, { token: other.accessToken });
    expect(codeOf(priv)).toBe("FORBIDDEN");
    expect(priv.errors![0]!.path).toEqual(["_entities", 0, "email"]);
    expect(priv.raw).not.toContain(email);
    // email is non-null, so the whole entity is nulled rather than leaked
    expect(priv.data!._entities).toEqual([null]);

    for (const field of ["active", "roles { name }", "permissions", "loginTracking { loginCount }", "createdAt"]) {
      const r = await s.gql(`query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id ${field} } } }`, { r: rep(owner.id) }, { token: other.accessToken });
      expect(codeOf(r), field).toBe("FORBIDDEN");
    }
  });

  it("the user sees their own email", async () => {
    const { email } = await registerUser(s);
    const owner = await loginTokens(s, email);
    const r = await s.gql(ENTITIES, { r: rep(owner.id) }, { token: owner.accessToken });
    expect(r.errors).toBeUndefined();
    expect(r.data!._entities).toEqual([{ id: owner.id, username: null, email }]);
  });

  it("an admin (users-read) sees another user's email", async () => {
    const { email } = await registerUser(s);
    const owner = await loginTokens(s, email);
    const r = await s.gql(ENTITIES, { r: rep(owner.id) }, { token: admin.accessToken });
    expect(r.errors).toBeUndefined();
    expect(r.data!._entities).toEqual([{ id: owner.id, username: null, email }]);
  });

  it("granting users-read through a role opens other users' emails on the next request", async () => {
    const { email } = await registerUser(s);
    const owner = await loginTokens(s, email);
    const reader = await newUser(s);
    expect(codeOf(await s.gql(ENTITIES, { r: rep(owner.id) }, { token: reader.accessToken }))).toBe("FORBIDDEN");
    const role = `support-${Date.now().toString(36)}`;
    const created = await s.gql(`mutation($i: CreateRoleInput!) { createRole(input: $i) { name } }`, { i: { name: role, permissions: ["users-read"] } }, { token: admin.accessToken });
    expect(created.errors).toBeUndefined();
    await s.running.app.models.User.updateOne({ _id: reader.id }, { $addToSet: { roles: role } });
    await s.running.app.authState.publish("user", reader.id);
    const r = await s.gql(ENTITIES, { r: rep(owner.id) }, { token: reader.accessToken });
    expect(r.errors).toBeUndefined();
    expect(r.data!._entities[0].email).toBe(email);
    // users-read does not grant users-admin
    expect(codeOf(await s.gql(SET_ACTIVE, { i: { userId: owner.id, active: false } }, { token: reader.accessToken }))).toBe("FORBIDDEN");
  });
});
