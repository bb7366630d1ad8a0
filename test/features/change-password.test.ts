// changePassword through HTTP: the caller gets a new session delivered as before, every older
// session and token of the user dies at once, and the password rules hold.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, newUser, registerUser, loginTokens, loginCookie, LOGIN, ME, codeOf, TEST_PASSWORD, type TestServer, fieldErrors } from "../support/server.js";

const CHANGE = `mutation($i: ChangePasswordInput!) {
  changePassword(input: $i) {
    __typename
    user { id email }
    session { id current delivery methods }
    tokens { accessToken refreshToken tokenType }
  }
}`;
const REFRESH = `mutation($t: String!) { refreshToken(input: { refreshToken: $t }) { accessToken refreshToken } }`;
const NEW_PASSWORD = "a brand new passphrase";


let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

describe("changePassword", () => {
  it("with TOKENS: returns new working tokens; every older session, token and refresh token dies; only the new password works", async () => {
    const { email } = await registerUser(s);
    const caller = await loginTokens(s, email);
    const otherTokens = await loginTokens(s, email);
    const otherCookie = await loginCookie(s, email);
    for (const opts of [{ token: caller.accessToken }, { token: otherTokens.accessToken }, { cookie: otherCookie.cookie }]) expect((await s.gql(ME, {}, opts)).data!.me.id).toBe(caller.id);

    const r = await s.gql(CHANGE, { i: { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD } }, { token: caller.accessToken });
    expect(r.errors).toBeUndefined();
    const out = r.data!.changePassword;
    expect(out.__typename).toBe("SignedIn");
    expect(out.user).toEqual({ id: caller.id, email });
    expect(out.session).toMatchObject({ current: true, delivery: "TOKENS", methods: ["pwd"] });
    expect(out.session.id).not.toBe(caller.sessionId);
    expect(out.tokens.tokenType).toBe("Bearer");
    expect(r.cookies[s.config.sessions.cookieName]).toBeUndefined();

    // the new tokens work
    expect((await s.gql(ME, {}, { token: out.tokens.accessToken })).data!.me.id).toBe(caller.id);
    // every older credential is dead on the very next request, the caller's own included
    for (const opts of [{ token: caller.accessToken }, { token: otherTokens.accessToken }, { cookie: otherCookie.cookie }]) expect(codeOf(await s.gql(ME, {}, opts))).toBe("UNAUTHENTICATED");
    expect(codeOf(await s.gql(REFRESH, { t: caller.refreshToken }))).toBe("REFRESH_TOKEN_INVALID");
    expect(codeOf(await s.gql(REFRESH, { t: otherTokens.refreshToken }))).toBe("REFRESH_TOKEN_INVALID");
    // the new refresh token rotates
    const next = await s.gql(REFRESH, { t: out.tokens.refreshToken });
    expect(next.errors).toBeUndefined();
    expect((await s.gql(ME, {}, { token: next.data!.refreshToken.accessToken })).data!.me.id).toBe(caller.id);

    // the old password no longer signs in, the new one does
    expect(codeOf(await s.gql(LOGIN, { input: { identity: email, password: TEST_PASSWORD } }))).toBe("GENERIC_AUTHN_FAILED");
    expect((await loginTokens(s, email, NEW_PASSWORD)).id).toBe(caller.id);
  });

  it("with COOKIE: sets a new working cookie, returns no tokens, and the old cookie and other sessions die", async () => {
    const { email } = await registerUser(s);
    const caller = await loginCookie(s, email);
    const other = await loginTokens(s, email);
    expect((await s.gql(ME, {}, { cookie: caller.cookie })).data!.me.id).toBe(caller.id);
    expect((await s.gql(ME, {}, { token: other.accessToken })).data!.me.id).toBe(caller.id);

    const r = await s.gql(CHANGE, { i: { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD } }, { cookie: caller.cookie });
    expect(r.errors).toBeUndefined();
    const out = r.data!.changePassword;
    expect(out.session).toMatchObject({ current: true, delivery: "COOKIE" });
    expect(out.tokens).toBeNull();
    const fresh = r.cookies[s.config.sessions.cookieName];
    expect(fresh).toBeTruthy();
    expect(fresh).not.toBe(caller.cookie);
    expect(r.headers.get("set-cookie")).toMatch(/HttpOnly/);

    expect((await s.gql(ME, {}, { cookie: fresh })).data!.me.id).toBe(caller.id);
    expect(codeOf(await s.gql(ME, {}, { cookie: caller.cookie }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await s.gql(ME, {}, { token: other.accessToken }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await s.gql(REFRESH, { t: other.refreshToken }))).toBe("REFRESH_TOKEN_INVALID");
    expect((await loginCookie(s, email, NEW_PASSWORD)).id).toBe(caller.id);
    expect(codeOf(await s.gql(LOGIN, { input: { identity: email, password: TEST_PASSWORD } }))).toBe("GENERIC_AUTHN_FAILED");
  });

  it("refuses a wrong current password with INVALID_PASSWORD and changes nothing", async () => {
    const u = await newUser(s);
    const r = await s.gql(CHANGE, { i: { currentPassword: "not my password", newPassword: NEW_PASSWORD } }, { token: u.accessToken });
    expect(codeOf(r)).toBe("INVALID_PASSWORD");
    expect(r.data).toBeNull();
    expect((await s.gql(ME, {}, { token: u.accessToken })).data!.me.id).toBe(u.id);
    expect((await loginTokens(s, u.email)).id).toBe(u.id);
    expect(codeOf(await s.gql(LOGIN, { input: { identity: u.email, password: NEW_PASSWORD } }))).toBe("GENERIC_AUTHN_FAILED");
  });

  it("refuses the same password with PASSWORD_IS_THE_SAME (also after normalisation)", async () => {
    const u = await newUser(s);
    const r = await s.gql(CHANGE, { i: { currentPassword: TEST_PASSWORD, newPassword: TEST_PASSWORD } }, { token: u.accessToken });
    expect(codeOf(r)).toBe("PASSWORD_IS_THE_SAME");
    const { email } = await registerUser(s, { password: "caf\u00e9 au lait" });
    const v = await loginTokens(s, email, "caf\u00e9 au lait");
    const nfkd = await s.gql(CHANGE, { i: { currentPassword: "caf\u00e9 au lait", newPassword: "cafe\u0301 au lait" } }, { token: v.accessToken });
    expect(codeOf(nfkd)).toBe("PASSWORD_IS_THE_SAME");
    expect((await s.gql(ME, {}, { token: u.accessToken })).data!.me.id).toBe(u.id);
  });

  it("refuses a too-short new password with a field error on newPassword, before checking the current one", async () => {
    const u = await newUser(s);
    const r = await s.gql(CHANGE, { i: { currentPassword: TEST_PASSWORD, newPassword: "short" } }, { token: u.accessToken });
    expect(codeOf(r)).toBe("BAD_USER_INPUT");
    expect(fieldErrors(r).map((f) => f.field)).toEqual(["newPassword"]);
    const r2 = await s.gql(CHANGE, { i: { currentPassword: "whatever wrong", newPassword: "x".repeat(129) } }, { token: u.accessToken });
    expect(codeOf(r2)).toBe("BAD_USER_INPUT");
    expect(fieldErrors(r2).map((f) => f.field)).toEqual(["newPassword"]);
    expect((await s.gql(ME, {}, { token: u.accessToken })).data!.me.id).toBe(u.id);
    expect((await loginTokens(s, u.email)).id).toBe(u.id);
  });

  it("is refused without a session", async () => {
    const r = await s.gql(CHANGE, { i: { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD } });
    expect(codeOf(r)).toBe("UNAUTHENTICATED");
  });
});
