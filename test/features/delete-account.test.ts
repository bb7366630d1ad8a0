// Account deletion end to end: real HTTP, real database, the notice read from a real SMTP server.
// After deleteAccount nothing of the user works (cookie, access and refresh tokens of every device,
// pending links, sign-in by email or username), nothing with the user's id, email or username is
// left in any collection (the revocation feed excepted, by design), and the address and username
// can be registered again as a new account with an empty profile.
import { randomBytes } from "node:crypto";
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliFor, type RunCli } from "../support/cli.js";
import { closeMailTestServer, startMailTestServer } from "../support/mail-flow.js";
import { startSmtpServer, type ReceivedMail, type TestSmtpServer } from "../support/smtp.js";
import { leftovers } from "../support/leftovers.js";
import { LOGIN, ME, REGISTER, TEST_PASSWORD, codeOf, loginCookie, loginTokens, newAdmin, newUser, registerUser, startTestServer, uniqueEmail, type TestServer } from "../support/server.js";

const DELETE = /* GraphQL */ `mutation Delete($input: DeleteAccountInput!) { deleteAccount(input: $input) { deleted message } }`;
const UPDATE_PROFILE = /* GraphQL */ `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { city } }`;
const PROFILE = /* GraphQL */ `query { me { id profile { firstName lastName dateOfBirth phone address city country postalCode avatarUrl updatedAt } } }`;
const REFRESH = /* GraphQL */ `mutation($t: String!) { refreshToken(input: { refreshToken: $t }) { accessToken } }`;
const CONFIRM_EMAIL = /* GraphQL */ `mutation($token: String!) { confirmEmail(input: { token: $token }) { confirmed } }`;
const REQUEST_RESET = /* GraphQL */ `mutation($email: String!) { requestPasswordReset(input: { email: $email }) { accepted } }`;
const RESET = /* GraphQL */ `mutation($token: String!, $password: String!) { resetPassword(input: { token: $token, password: $password }) { reset } }`;
const CHANGE_EMAIL = /* GraphQL */ `mutation($e: String!) { changeEmail(input: { newEmail: $e }) { accepted } }`;
const CONFIRM_CHANGE = /* GraphQL */ `mutation($token: String!) { confirmChangeEmail(input: { token: $token }) { email } }`;
const VERIFY = /* GraphQL */ `mutation($password: String!) { verifyPassword(input: { password: $password }) { verifiedAt } }`;

const PUBLIC_URL = "https://auth.example.test";
const EMPTY_PROFILE = { firstName: null, lastName: null, dateOfBirth: null, phone: null, address: null, city: null, country: null, postalCode: null, avatarUrl: null, updatedAt: null };

const mailOf = (smtp: TestSmtpServer, purpose: string, to: string, afterSeq = 0): Promise<ReceivedMail> =>
  smtp.waitFor((m) => m.seq > afterSeq && m.purpose === purpose && m.envelope.to.includes(to));

function tokenOf(mail: ReceivedMail): string {
  const link = (mail.text.match(/https?:\/\/[^\s<>"']+/g) ?? []).find((l) => l.includes("#token="));
  if (!link) throw new Error(`no link in: ${mail.text}`);
  return link.slice(link.indexOf("#token=") + "#token=".length);
}

const uniqueName = (p: string) => `${p}${randomBytes(4).toString("hex")}`;

describe("delete account", () => {
  let smtp: TestSmtpServer;
  let s: TestServer;
  beforeAll(async () => {
    ({ s, smtp } = await startMailTestServer({ publicUrl: PUBLIC_URL }));
  });
  afterAll(() => closeMailTestServer(s, smtp));

  it("removes everything: every device's credentials, pending links, identity; the notice arrives; nothing with the user's id is left", async () => {
    const email = uniqueEmail("Doomed").replace("@example.com", "@Example.com");
    const emailKey = email.toLowerCase();
    const stored = email.replace("@Example.com", "@example.com"); // the domain is normalised, the local part kept
    const username = uniqueName("doomed");
    const seq0 = smtp.received.length;
    await registerUser(s, { email, username });
    const confirmToken = tokenOf(await mailOf(smtp, "confirm-email", stored, seq0));

    // three devices: this API client, another API client, a browser
    const me = await loginTokens(s, email);
    const other = await loginTokens(s, username);
    const browser = await loginCookie(s, email);
    const rotated = await s.gql(REFRESH, { t: other.refreshToken });
    expect(rotated.errors).toBeUndefined(); // leaves a refresh claim behind
    // data in every corner: profile, a reset link, a change-email link, limiter counters, claims
    expect((await s.gql(UPDATE_PROFILE, { input: { city: "Atlantis", firstName: "Doomed" } }, { token: me.accessToken })).errors).toBeUndefined();
    const seq1 = smtp.received.length;
    await s.gql(REQUEST_RESET, { email });
    const resetToken = tokenOf(await mailOf(smtp, "reset-password", stored, seq1));
    const newEmail = uniqueEmail("moving");
    await s.gql(CHANGE_EMAIL, { e: newEmail }, { token: me.accessToken });
    const changeToken = tokenOf(await mailOf(smtp, "confirm-change-email", newEmail, seq1));
    await s.gql(REGISTER, { input: { email, password: TEST_PASSWORD } }); // register-existing claim
    const app = s.running.app;
    expect(await app.models.RateHit.countDocuments({ key: `change-email:user:${me.id}` })).toBe(1);
    expect(await app.models.LinkToken.countDocuments({ userId: me.id })).toBeGreaterThanOrEqual(2);
    expect(await app.models.Identifier.countDocuments({ userId: me.id })).toBe(1);
    expect(await app.models.Claim.countDocuments({ _id: { $regex: me.id } })).toBeGreaterThanOrEqual(1);
    // and a document in every other kernel collection that holds per-user data (second factors,
    // passkeys, flows, codes, … whatever exists now), written raw as its feature would store it
    const { KEYED_BY_USER_ID } = await import("../../src/core/user-data.js");
    const oid = new Types.ObjectId(me.id);
    type RawCollection = { insertOne(d: object): Promise<unknown>; updateOne(f: object, u: object, o: object): Promise<unknown> };
    for (const [name, m] of Object.entries(app.models) as Array<[string, { schema: { path(p: string): unknown }; collection: RawCollection }]>) {
      if (name === "Session" || name === "User") continue;
      if (m.schema.path("userId")) await m.collection.insertOne({ userId: oid, planted: true });
      // one document per user: the sign-ins above may already have written it (login tracking)
      else if (KEYED_BY_USER_ID.includes(name)) await m.collection.updateOne({ _id: oid }, { $set: { planted: true } }, { upsert: true });
    }
    const sessionIds = (await app.models.Session.find({ userId: me.id }).lean()).map((x) => String(x._id));
    expect(sessionIds).toHaveLength(3);

    const seq2 = smtp.received.length;
    const r = await s.gql(DELETE, { input: { password: TEST_PASSWORD } }, { token: me.accessToken });
    expect(r.errors).toBeUndefined();
    expect(r.data?.deleteAccount).toEqual({ deleted: true, message: expect.any(String) });

    // every credential of every device is refused on the very next request
    for (const token of [me.accessToken, other.accessToken, rotated.data?.refreshToken.accessToken]) {
      const res = await s.gql(ME, {}, { token });
      expect(codeOf(res)).toBe("UNAUTHENTICATED");
      expect(res.data).toBeNull();
    }
    expect(codeOf(await s.gql(ME, {}, { cookie: browser.cookie }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await s.gql(REFRESH, { t: me.refreshToken }))).toBe("REFRESH_TOKEN_INVALID");
    expect(codeOf(await s.gql(REFRESH, { t: other.refreshToken }))).toBe("REFRESH_TOKEN_INVALID");
    // every pending link is dead
    expect(codeOf(await s.gql(CONFIRM_EMAIL, { token: confirmToken }))).toBe("INVALID_CONFIRMATION_TOKEN");
    expect(codeOf(await s.gql(RESET, { token: resetToken, password: "a brand new password" }))).toBe("INVALID_RESET_PASSWORD_TOKEN");
    expect(codeOf(await s.gql(CONFIRM_CHANGE, { token: changeToken }))).toBe("INVALID_CHANGE_EMAIL_TOKEN");
    // sign-in fails exactly as for an address that never existed
    const byEmail = await s.gql(LOGIN, { input: { identity: email, password: TEST_PASSWORD } });
    const byName = await s.gql(LOGIN, { input: { identity: username, password: TEST_PASSWORD } });
    const never = await s.gql(LOGIN, { input: { identity: uniqueEmail("never"), password: TEST_PASSWORD } });
    expect(codeOf(byEmail)).toBe("GENERIC_AUTHN_FAILED");
    expect(codeOf(byName)).toBe("GENERIC_AUTHN_FAILED");
    expect(byEmail.raw).toBe(never.raw);

    // the notice, to the old address, with no link that could do anything
    const notice = await mailOf(smtp, "account-deleted", stored, seq2);
    expect(notice.subject).toContain("deleted");
    expect(notice.raw).not.toContain("#token=");

    // nothing with the user's id, session ids, email or username remains (the feed holds ids only)
    const { found, feed } = await leftovers(s, [me.id, ...sessionIds, emailKey, username, newEmail]);
    expect(found).toEqual([]);
    for (const d of feed) expect(Object.keys(d).sort()).toEqual(["_id", "at", "kind", "target"]);
    expect(await app.features.profile.Profile.countDocuments({ _id: me.id })).toBe(0);

    // the address and the username are free again: a new account, a new id, an empty profile
    await registerUser(s, { email, username });
    const again = await loginTokens(s, email);
    expect(again.id).not.toBe(me.id);
    expect((await s.gql(PROFILE, {}, { token: again.accessToken })).data?.me.profile).toEqual(EMPTY_PROFILE);
    expect((await loginTokens(s, username)).id).toBe(again.id);
    // and the old credentials stay dead for the new account too
    expect(codeOf(await s.gql(ME, {}, { token: me.accessToken }))).toBe("UNAUTHENTICATED");
  });

  it("with a cookie: the cookie is cleared in the answer and refused afterwards", async () => {
    const { email } = await registerUser(s);
    const c = await loginCookie(s, email);
    const r = await s.gql(DELETE, { input: { password: TEST_PASSWORD } }, { cookie: c.cookie });
    expect(r.errors).toBeUndefined();
    expect(r.cookies[s.config.sessions.cookieName]).toBe("");
    expect(codeOf(await s.gql(ME, {}, { cookie: c.cookie }))).toBe("UNAUTHENTICATED");
  });

  it("deleteUser: an administrator deletes any account the same way; the owner is told who did it", async () => {
    const DELETE_USER = /* GraphQL */ `mutation($id: ID!) { deleteUser(input: { userId: $id }) { deleted message } }`;
    const admin = await newAdmin(s);
    const victim = await newUser(s);
    const other = await newUser(s);
    const seen: Array<{ userId: string; by: string }> = [];
    s.running.app.events.on("user.deleted", (e) => void seen.push(e));
    // not for a normal user, and nothing happens
    expect(codeOf(await s.gql(DELETE_USER, { id: victim.id }, { token: other.accessToken }))).toBe("FORBIDDEN");
    expect((await s.gql(ME, {}, { token: victim.accessToken })).data?.me.id).toBe(victim.id);
    // unknown, malformed and hostile ids: USER_DOES_NOT_EXIST, nothing deleted
    for (const id of ["0123456789abcdef01234567", "not-an-id", '{"$ne":null}', ""]) expect(codeOf(await s.gql(DELETE_USER, { id }, { token: admin.accessToken })), id).toBe("USER_DOES_NOT_EXIST");
    expect(codeOf(await s.gql(DELETE_USER, { id: { $ne: null } }, { token: admin.accessToken }))).toBe("BAD_USER_INPUT");

    const seq = smtp.received.length;
    const r = await s.gql(DELETE_USER, { id: victim.id }, { token: admin.accessToken });
    expect(r.errors).toBeUndefined();
    expect(r.data?.deleteUser.deleted).toBe(true);
    expect(codeOf(await s.gql(ME, {}, { token: victim.accessToken }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await s.gql(LOGIN, { input: { identity: victim.email, password: TEST_PASSWORD, delivery: "TOKENS" } }))).toBeDefined();
    expect(await s.running.app.models.User.exists({ _id: victim.id })).toBeNull();
    expect((await mailOf(smtp, "account-deleted", victim.email, seq)).text).toContain("by an administrator");
    expect(seen.filter((e) => e.userId === victim.id)).toEqual([{ userId: victim.id, by: admin.id }]);
    // the administrator and everyone else are untouched
    expect((await s.gql(ME, {}, { token: admin.accessToken })).data?.me.id).toBe(admin.id);
    expect((await s.gql(ME, {}, { token: other.accessToken })).data?.me.id).toBe(other.id);
    expect(codeOf(await s.gql(DELETE_USER, { id: victim.id }, { token: admin.accessToken }))).toBe("USER_DOES_NOT_EXIST");
  });

  it("emits user.deleted once", async () => {
    const u = await newUser(s);
    const seen: Array<{ userId: string; by: string }> = [];
    s.running.app.events.on("user.deleted", (e) => void seen.push(e));
    await s.gql(DELETE, { input: { password: TEST_PASSWORD } }, { token: u.accessToken });
    await new Promise((res) => setTimeout(res, 50));
    expect(seen.filter((e) => e.userId === u.id)).toEqual([{ userId: u.id, by: u.id }]);
  });

  it("a wrong or missing password deletes nothing", async () => {
    const u = await newUser(s);
    const wrong = await s.gql(DELETE, { input: { password: "not my password" } }, { token: u.accessToken });
    expect(codeOf(wrong)).toBe("INVALID_PASSWORD");
    const missing = await s.gql(DELETE, { input: {} }, { token: u.accessToken });
    expect(codeOf(missing)).toBe("BAD_USER_INPUT");
    expect(missing.errors?.[0]?.extensions?.fieldErrors).toEqual([expect.objectContaining({ field: "password", code: "REQUIRED" })]);
    const empty = await s.gql(DELETE, { input: { password: "" } }, { token: u.accessToken });
    expect(codeOf(empty)).toBe("BAD_USER_INPUT");
    expect((await s.gql(ME, {}, { token: u.accessToken })).data?.me.id).toBe(u.id);
    expect(await s.running.app.models.User.countDocuments({ _id: u.id })).toBe(1);
  });

  it("anonymous callers cannot call it; a deactivated user cannot either (their sessions are dead)", async () => {
    expect(codeOf(await s.gql(DELETE, { input: { password: TEST_PASSWORD } }))).toBe("UNAUTHENTICATED");
    const u = await newUser(s);
    await s.running.app.users.setActive(u.id, false);
    const r = await s.gql(DELETE, { input: { password: TEST_PASSWORD } }, { token: u.accessToken });
    expect(codeOf(r)).toBe("UNAUTHENTICATED");
    expect(await s.running.app.models.User.countDocuments({ _id: u.id })).toBe(1);
    // nor can they sign in to get a new session
    expect(codeOf(await s.gql(LOGIN, { input: { identity: u.email, password: TEST_PASSWORD } }))).toBe("DISABLED_ACCOUNT");
  });
});

describe("delete account with a short freshness window", () => {
  let smtp: TestSmtpServer;
  let s: TestServer;
  beforeAll(async () => {
    smtp = await startSmtpServer();
    s = await startTestServer({ mail: { smtpUrl: smtp.url }, freshness: { maxAgeSeconds: 1, graceSeconds: 0 } });
  });
  afterAll(async () => {
    await s?.close();
    await smtp?.close();
  });

  it("a stale session gets REAUTH_REQUIRED and nothing happens; after verifyPassword it works", async () => {
    const u = await newUser(s);
    await new Promise((r) => setTimeout(r, 2_100));
    const seq = smtp.received.length;
    const r = await s.gql(DELETE, { input: { password: TEST_PASSWORD } }, { token: u.accessToken });
    expect(codeOf(r)).toBe("REAUTH_REQUIRED");
    expect(r.errors?.[0]?.extensions?.maxAgeSeconds).toBe(1);
    expect((await s.gql(ME, {}, { token: u.accessToken })).data?.me.id).toBe(u.id);
    await new Promise((res) => setTimeout(res, 300));
    expect(smtp.received.filter((m) => m.seq > seq && m.purpose === "account-deleted")).toEqual([]);

    expect((await s.gql(VERIFY, { password: TEST_PASSWORD }, { token: u.accessToken })).errors).toBeUndefined();
    expect((await s.gql(DELETE, { input: { password: TEST_PASSWORD } }, { token: u.accessToken })).data?.deleteAccount.deleted).toBe(true);
    await mailOf(smtp, "account-deleted", u.email, seq);
  });

  it("a refreshed token is not fresher than its session (refreshing does not pass the freshness policy)", async () => {
    const u = await newUser(s);
    await new Promise((r) => setTimeout(r, 2_100));
    const t = await s.gql(REFRESH, { t: u.refreshToken });
    const r = await s.gql(DELETE, { input: { password: TEST_PASSWORD } }, { token: t.data?.refreshToken.accessToken });
    expect(codeOf(r)).toBe("REAUTH_REQUIRED");
    expect(await s.running.app.models.User.countDocuments({ _id: u.id })).toBe(1);
  });
});

describe("delete account options", () => {
  let noPassword: TestServer;
  let off: TestServer;
  beforeAll(async () => {
    noPassword = await startTestServer({ deleteAccount: { requirePassword: false } });
    off = await startTestServer({ deleteAccount: { enabled: false } });
  });
  afterAll(async () => {
    await noPassword?.close();
    await off?.close();
  });

  it("deleteAccount.requirePassword=false: a fresh session is enough", async () => {
    const u = await newUser(noPassword);
    expect((await noPassword.gql(DELETE, { input: {} }, { token: u.accessToken })).data?.deleteAccount.deleted).toBe(true);
    expect(codeOf(await noPassword.gql(ME, {}, { token: u.accessToken }))).toBe("UNAUTHENTICATED");
  });

  it("deleteAccount.enabled=false: the mutation does not exist", async () => {
    const u = await newUser(off);
    expect(codeOf(await off.gql(DELETE, { input: { password: TEST_PASSWORD } }, { token: u.accessToken }))).toBe("GRAPHQL_VALIDATION_FAILED");
  });
});

// ---- the CLI as a real subprocess on the same database ------------------------------------------

describe("gql-auth users create / delete", () => {
  let smtp: TestSmtpServer;
  let s: TestServer;
  let cli: RunCli;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    const dbName = `t_delcli_${randomBytes(6).toString("hex")}`;
    s = await startTestServer({ mail: { smtpUrl: smtp.url } }, undefined, { dbName });
    cli = cliFor(s, dbName, { SMTP_URL: smtp.url });
  });
  afterAll(async () => {
    await s?.close();
    await smtp?.close();
  });

  it("a user created by the CLI has an empty profile; `users delete --yes` removes them, the server refuses their token within the feed's poll, the notice arrives", async () => {
    const email = uniqueEmail("clidel");
    const created = await cli(["users", "create", email, "--password-stdin", "--confirmed"], `${TEST_PASSWORD}\n`);
    expect(created.code, created.stderr).toBe(0);
    const u = await loginTokens(s, email);
    expect((await s.gql(PROFILE, {}, { token: u.accessToken })).data?.me.profile).toEqual(EMPTY_PROFILE);
    await s.gql(UPDATE_PROFILE, { input: { city: "Gone" } }, { token: u.accessToken });

    const refused = await cli(["users", "delete", email]);
    expect(refused.code).toBe(2); // --yes is required
    expect(refused.stderr).toContain("--yes");
    expect(await s.running.app.models.User.countDocuments({ _id: u.id })).toBe(1);

    const seq = smtp.received.length;
    const deleted = await cli(["users", "delete", email, "--yes", "--json"]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(JSON.parse(deleted.stdout).deleted).toMatchObject({ id: u.id, email });
    const notice = await mailOf(smtp, "account-deleted", email, seq);
    expect(notice.text).toContain("administrator");

    const start = Date.now();
    while (codeOf(await s.gql(ME, {}, { token: u.accessToken })) !== "UNAUTHENTICATED") {
      if (Date.now() - start > 2_000) throw new Error("the token still works 2 s after the CLI deleted the user");
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await leftovers(s, [u.id, email])).found).toEqual([]);
    const again = await cli(["users", "delete", email, "--yes"]);
    expect(again.code).toBe(1);
  });
});
