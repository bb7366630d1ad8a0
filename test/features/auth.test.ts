import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, newUser, registerUser, loginTokens, loginCookie, LOGIN, ME, codeOf, uniqueEmail, TEST_PASSWORD, type TestServer } from "../support/server.js";

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

describe("login", () => {
  it("signs in with email and returns tokens, session and tracking", async () => {
    const { email } = await registerUser(s);
    const r = await s.gql(LOGIN, { input: { identity: email.toUpperCase(), password: TEST_PASSWORD, delivery: "TOKENS" } });
    expect(r.errors).toBeUndefined();
    const l = r.data!.login;
    expect(l.__typename).toBe("SignedIn");
    expect(l.user.email).toBe(email);
    expect(l.user.roles.map((x: { name: string }) => x.name)).toEqual(["user"]);
    expect(l.user.permissions).toEqual(["user-read", "user-write"]);
    expect(l.user.loginTracking.loginCount).toBe(1);
    expect(l.user.loginTracking.currentLoginIp).toMatch(/127\.0\.0\.1/);
    expect(l.session).toMatchObject({ current: true, methods: ["pwd"], delivery: "TOKENS" });
    expect(l.tokens.tokenType).toBe("Bearer");
    expect(l.tokens.accessToken.split(".")).toHaveLength(3);
    expect(r.cookies[s.config.sessions.cookieName]).toBeUndefined();
  });

  it("signs in with a username, case-insensitively", async () => {
    const username = `Alice${Date.now().toString(36)}`;
    const { email } = await registerUser(s, { username });
    const u = await loginTokens(s, username.toLowerCase());
    expect(u.email).toBe(email);
  });

  it("sets an httpOnly Secure SameSite cookie for COOKIE delivery and serves me with it", async () => {
    const { email } = await registerUser(s);
    const r = await s.gql(LOGIN, { input: { identity: email, password: TEST_PASSWORD } });
    const setCookie = r.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/Secure/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(r.data!.login.tokens).toBeNull();
    const me = await s.gql(ME, {}, { cookie: r.cookies[s.config.sessions.cookieName] });
    expect(me.data!.me.email).toBe(email);
  });

  it("counts logins in the tracking fields", async () => {
    const { email } = await registerUser(s);
    await loginTokens(s, email);
    const u = await loginTokens(s, email);
    const me = await s.gql(ME, {}, { token: u.accessToken });
    expect(me.data!.me.loginTracking.loginCount).toBe(2);
  });

  it("refuses a wrong password with GENERIC_AUTHN_FAILED", async () => {
    const { email } = await registerUser(s);
    const r = await s.gql(LOGIN, { input: { identity: email, password: "wrong password!" } });
    expect(codeOf(r)).toBe("GENERIC_AUTHN_FAILED");
    expect(r.data).toBeNull();
  });
});

describe("me and sessions", () => {
  it("refuses me without credentials", async () => {
    const r = await s.gql(ME);
    expect(codeOf(r)).toBe("UNAUTHENTICATED");
  });

  it("lists own sessions and revokes one", async () => {
    const a = await newUser(s);
    const b = await loginTokens(s, a.email);
    const list = await s.gql(`{ sessions { id current } }`, {}, { token: b.accessToken });
    expect(list.data!.sessions).toHaveLength(2);
    expect(list.data!.sessions.find((x: { current: boolean }) => x.current).id).toBe(b.sessionId);
    const rev = await s.gql(`mutation($id: ID!) { revokeSession(input: { id: $id }) }`, { id: a.sessionId }, { token: b.accessToken });
    expect(rev.data!.revokeSession).toBe(true);
    expect(codeOf(await s.gql(ME, {}, { token: a.accessToken }))).toBe("UNAUTHENTICATED");
    expect((await s.gql(ME, {}, { token: b.accessToken })).data!.me.id).toBe(a.id);
  });

  it("cannot revoke another user's session (looks unknown)", async () => {
    const a = await newUser(s);
    const b = await newUser(s);
    const r = await s.gql(`mutation($id: ID!) { revokeSession(input: { id: $id }) }`, { id: a.sessionId }, { token: b.accessToken });
    expect(codeOf(r)).toBe("NOT_FOUND");
    expect((await s.gql(ME, {}, { token: a.accessToken })).data!.me.id).toBe(a.id);
  });

  it("revokes every other session", async () => {
    const a = await newUser(s);
    const b = await loginTokens(s, a.email);
    const c = await loginCookie(s, a.email);
    const r = await s.gql(`mutation { revokeOtherSessions }`, {}, { token: b.accessToken });
    expect(r.data!.revokeOtherSessions).toBe(2);
    expect(codeOf(await s.gql(ME, {}, { token: a.accessToken }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await s.gql(ME, {}, { cookie: c.cookie }))).toBe("UNAUTHENTICATED");
    expect((await s.gql(ME, {}, { token: b.accessToken })).data!.me.id).toBe(a.id);
  });
});

describe("logout", () => {
  it("ends a token session at once", async () => {
    const u = await newUser(s);
    const r = await s.gql(`mutation { logout }`, {}, { token: u.accessToken });
    expect(r.data!.logout).toBe(true);
    const me = await s.gql(ME, {}, { token: u.accessToken });
    expect(codeOf(me)).toBe("UNAUTHENTICATED");
    expect(me.errors![0]!.extensions!.reason).toBe("revoked");
  });

  it("ends a cookie session and clears the cookie", async () => {
    const { email } = await registerUser(s);
    const c = await loginCookie(s, email);
    const r = await s.gql(`mutation { logout }`, {}, { cookie: c.cookie });
    expect(r.headers.get("set-cookie")).toMatch(/Max-Age=0/);
    expect(codeOf(await s.gql(ME, {}, { cookie: c.cookie }))).toBe("UNAUTHENTICATED");
  });
});

describe("refresh tokens", () => {
  const REFRESH = `mutation($t: String!) { refreshToken(input: { refreshToken: $t }) { accessToken refreshToken accessTokenExpiresAt } }`;

  it("rotates: the new pair works, and reusing the old refresh token kills the session", async () => {
    const u = await newUser(s);
    const r1 = await s.gql(REFRESH, { t: u.refreshToken });
    expect(r1.errors).toBeUndefined();
    const next = r1.data!.refreshToken;
    expect(next.refreshToken).not.toBe(u.refreshToken);
    expect((await s.gql(ME, {}, { token: next.accessToken })).data!.me.id).toBe(u.id);
    const reuse = await s.gql(REFRESH, { t: u.refreshToken });
    expect(codeOf(reuse)).toBe("REFRESH_TOKEN_INVALID");
    expect(codeOf(await s.gql(ME, {}, { token: next.accessToken }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await s.gql(REFRESH, { t: next.refreshToken }))).toBe("REFRESH_TOKEN_INVALID");
  });

  it("lets exactly one of many parallel uses of one refresh token win, then kills the session", async () => {
    const u = await newUser(s);
    const results = await Promise.all(Array.from({ length: 8 }, () => s.gql(REFRESH, { t: u.refreshToken })));
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    const winner = results.find((r) => !r.errors)!.data!.refreshToken;
    expect(codeOf(await s.gql(ME, {}, { token: winner.accessToken }))).toBe("UNAUTHENTICATED");
  });

  it("refuses tampered and malformed refresh tokens", async () => {
    const u = await newUser(s);
    const parts = u.refreshToken.split(".");
    const tampered = [parts[0], parts[1], "1", parts[3]].join(".");
    expect(codeOf(await s.gql(REFRESH, { t: tampered }))).toBe("REFRESH_TOKEN_INVALID");
    expect(codeOf(await s.gql(REFRESH, { t: "garbage" }))).toBe("REFRESH_TOKEN_INVALID");
    expect((await s.gql(ME, {}, { token: u.accessToken })).data!.me.id).toBe(u.id);
  });

  it("does not make a session fresher", async () => {
    const u = await newUser(s);
    const before = await s.gql(`{ sessions { verifiedAt } }`, {}, { token: u.accessToken });
    await new Promise((r) => setTimeout(r, 1100));
    const next = (await s.gql(REFRESH, { t: u.refreshToken })).data!.refreshToken;
    const after = await s.gql(`{ sessions { verifiedAt } }`, {}, { token: next.accessToken });
    expect(after.data!.sessions[0].verifiedAt).toBe(before.data!.sessions[0].verifiedAt);
  });
});

describe("freshness", () => {
  it("verifyPassword refreshes verifiedAt; a wrong password is refused", async () => {
    const u = await newUser(s);
    const bad = await s.gql(`mutation { verifyPassword(input: { password: "not it at all" }) { verifiedAt } }`, {}, { token: u.accessToken });
    expect(codeOf(bad)).toBe("INVALID_PASSWORD");
    const ok = await s.gql(`mutation($p: String!) { verifyPassword(input: { password: $p }) { verifiedAt } }`, { p: TEST_PASSWORD }, { token: u.accessToken });
    expect(ok.errors).toBeUndefined();
    expect(new Date(ok.data!.verifyPassword.verifiedAt).getTime()).toBeGreaterThan(Date.now() - 10_000);
  });
});

describe("registration", () => {
  it("gives new users the default role and refuses invalid input with field errors", async () => {
    const r = await s.gql(`mutation { register(input: { email: "not-an-email", password: "short" }) { __typename } }`);
    expect(codeOf(r)).toBe("BAD_USER_INPUT");
    const fields = r.errors![0]!.extensions!.fieldErrors.map((f: { field: string }) => f.field).sort();
    expect(fields).toEqual(["email", "password"]);
  });

  it("accepts passwords longer than 72 bytes without truncating them", async () => {
    const email = uniqueEmail();
    const long = "é".repeat(60) + "tail-A";
    await registerUser(s, { email, password: long });
    await expect(loginTokens(s, email, "é".repeat(60) + "tail-B")).rejects.toThrow(/GENERIC_AUTHN_FAILED/);
    expect((await loginTokens(s, email, long)).email).toBe(email);
  });

  it("normalises passwords with NFKD", async () => {
    const email = uniqueEmail();
    await registerUser(s, { email, password: "caf\u00e9 au lait" });
    expect((await loginTokens(s, email, "cafe\u0301 au lait")).email).toBe(email);
  });

  it("refuses a taken username", async () => {
    const username = `bob${Date.now().toString(36)}`;
    await registerUser(s, { username });
    const r = await s.gql(`mutation($i: RegisterInput!) { register(input: $i) { __typename } }`, { i: { email: uniqueEmail(), password: TEST_PASSWORD, username: username.toUpperCase() } });
    expect(codeOf(r)).toBe("USERNAME_ALREADY_ASSOCIATED");
  });
});
