// Passkeys end to end: real HTTP, real database, a software authenticator (node:crypto, ES256,
// attestation "none") playing browser and device. Register, usernameless and hinted sign-in,
// verify, list, rename, delete, usages, counters and backup state; the served /passkeys page.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, loginTokens, newUser, startTestServer, type TestServer } from "../support/server.js";
import { SoftAuthenticator } from "../support/webauthn-authenticator.js";
import { WAN, listPasskeys, passkeySignIn, registerOptions, registerPasskey, signInOptions, verifyOptions } from "../support/webauthn-flow.js";

const PUBLIC_URL = "https://auth.example.test";
const ORIGIN = PUBLIC_URL;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("passkeys", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ publicUrl: PUBLIC_URL });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("registration options: rp from config, a user handle that is not the email, discoverable for FIRST, the user's passkeys excluded", async () => {
    const u = await newUser(s);
    const auth = new SoftAuthenticator(ORIGIN);
    const first = JSON.parse(await registerOptions(s, u.accessToken, "Phone"));
    expect(first.rp).toEqual({ id: "auth.example.test", name: s.config.productName });
    expect(first.user.name).toBe(u.email);
    expect(Buffer.from(first.user.id, "base64url").toString("utf8")).not.toContain(u.id);
    expect(first.authenticatorSelection).toMatchObject({ residentKey: "required", userVerification: "preferred" });
    expect(first.attestation).toBe("none");
    expect(first.timeout).toBe(1_800_000);
    expect(first.excludeCredentials).toEqual([]);
    const r = await s.gql(WAN.REGISTER, { credential: auth.create(JSON.stringify(first)) }, { token: u.accessToken });
    expect(r.errors).toBeUndefined();
    const phone = r.data?.wanRegister.credential;
    expect(phone).toMatchObject({ name: "Phone", usage: "FIRST", lastUsedAt: null, signCount: 0, transports: ["internal", "hybrid"] });

    const second = JSON.parse(await registerOptions(s, u.accessToken, "Security key", "SECONDARY"));
    expect(second.excludeCredentials.map((c: { id: string }) => c.id)).toEqual([phone.id]);
    expect(second.authenticatorSelection.residentKey).toBe("discouraged");
    // the same user handle for every registration of a user, so authenticators replace rather than pile up
    expect(second.user.id).toBe(first.user.id);
    // a browser refuses to create a second credential on the authenticator that holds an excluded one
    expect(() => auth.create(JSON.stringify(second))).toThrow(/InvalidStateError/);
  });

  it("usernameless sign-in with a FIRST passkey: the same LoginResult as login, amr hwk, counter and last use recorded", async () => {
    const u = await newUser(s);
    const auth = new SoftAuthenticator(ORIGIN);
    const key = await registerPasskey(s, u.accessToken, auth, { name: "Laptop" });

    const options = JSON.parse(await signInOptions(s));
    expect(options.rpId).toBe("auth.example.test");
    expect(options.allowCredentials ?? []).toEqual([]);
    expect(options.userVerification).toBe("preferred");
    expect(options.timeout).toBe(60_000);

    const r = await passkeySignIn(s, auth);
    expect(r.errors).toBeUndefined();
    expect(r.data?.wanSignIn.__typename).toBe("SignedIn");
    expect(r.data?.wanSignIn.user.id).toBe(u.id);
    // user-verifying authenticator + passkeySatisfiesBothFactors: both factors in one
    expect(r.data?.wanSignIn.session.methods).toEqual(["hwk", "mfa"]);
    const token = r.data?.wanSignIn.tokens.accessToken as string;
    expect((await s.gql(`{ me { id } }`, {}, { token })).data?.me.id).toBe(u.id);

    const [after] = await listPasskeys(s, token);
    expect(after?.id).toBe(key.id);
    expect(after?.signCount).toBe(1);
    expect(after?.lastUsedAt).not.toBeNull();
  });

  it("cookie delivery sets the session cookie", async () => {
    const u = await newUser(s);
    const auth = new SoftAuthenticator(ORIGIN);
    await registerPasskey(s, u.accessToken, auth);
    const r = await passkeySignIn(s, auth, { delivery: "COOKIE" });
    expect(r.data?.wanSignIn.__typename).toBe("SignedIn");
    const cookie = r.cookies[s.config.sessions.cookieName];
    expect(cookie).toBeTruthy();
    expect((await s.gql(`{ me { id } }`, {}, { cookie })).data?.me.id).toBe(u.id);
  });

  it("an authenticator that does not verify the user signs in with hwk only (the second-step gate decides)", async () => {
    const u = await newUser(s);
    const auth = new SoftAuthenticator(ORIGIN);
    await registerPasskey(s, u.accessToken, auth);
    auth.flags = { up: true, uv: false };
    const r = await passkeySignIn(s, auth);
    expect(r.errors).toBeUndefined();
    expect(r.data?.wanSignIn.session.methods).toEqual(["hwk"]);
  });

  it("backup state is updated from each assertion", async () => {
    const u = await newUser(s);
    const auth = new SoftAuthenticator(ORIGIN);
    auth.flags = { up: true, uv: true, be: true, bs: false };
    const key = await registerPasskey(s, u.accessToken, auth);
    expect(key).toMatchObject({ backupEligible: true, backedUp: false });
    auth.flags = { up: true, uv: true, be: true, bs: true };
    expect((await passkeySignIn(s, auth)).errors).toBeUndefined();
    expect((await listPasskeys(s, u.accessToken))[0]).toMatchObject({ backupEligible: true, backedUp: true, signCount: 1 });
  });

  it("a SECONDARY passkey cannot sign in on its own but verifies", async () => {
    const u = await newUser(s);
    const auth = new SoftAuthenticator(ORIGIN);
    const key = await registerPasskey(s, u.accessToken, auth, { usage: "SECONDARY" });
    expect(key.usage).toBe("SECONDARY");
    const options = await signInOptions(s);
    const r = await s.gql(WAN.SIGN_IN, { credential: auth.get(options, { credential: auth.credentials[0] }) });
    expect(codeOf(r)).toBe("WEBAUTHN_CREDENTIAL_WRONG_USAGE");
    const v = await s.gql(WAN.VERIFY, { credential: auth.get(await verifyOptions(s, { token: u.accessToken })) }, { token: u.accessToken });
    expect(v.errors).toBeUndefined();
  });

  it("verify: options list the user's passkeys; the session is fresh again and records hwk", async () => {
    const u = await newUser(s);
    const auth = new SoftAuthenticator(ORIGIN);
    const a = await registerPasskey(s, u.accessToken, auth, { name: "A" });
    const b = await registerPasskey(s, u.accessToken, new SoftAuthenticator(ORIGIN), { name: "B", usage: "SECONDARY" });
    const options = JSON.parse(await verifyOptions(s, { token: u.accessToken }));
    expect(options.allowCredentials.map((c: { id: string }) => c.id).sort()).toEqual([a.id, b.id].sort());
    const r = await s.gql(WAN.VERIFY, { credential: auth.get(JSON.stringify(options)) }, { token: u.accessToken });
    expect(r.errors).toBeUndefined();
    expect(Date.parse(r.data?.wanVerify.verifiedAt)).toBeGreaterThan(Date.now() - 10_000);
    const sessions = await s.gql(`{ sessions { current methods } }`, {}, { token: u.accessToken });
    expect(sessions.data?.sessions.find((x: { current: boolean }) => x.current).methods).toEqual(["pwd", "hwk"]);
  });

  it("verify without a passkey: WEBAUTHN_NO_VERIFY; anonymous: UNAUTHENTICATED", async () => {
    const u = await newUser(s);
    expect(codeOf(await s.gql(WAN.VERIFY_OPTIONS, {}, { token: u.accessToken }))).toBe("WEBAUTHN_NO_VERIFY");
    expect(codeOf(await s.gql(WAN.VERIFY_OPTIONS))).toBe("UNAUTHENTICATED");
    expect(codeOf(await s.gql(WAN.LIST))).toBe("UNAUTHENTICATED");
    expect(codeOf(await s.gql(WAN.REGISTER_OPTIONS, { input: { name: "x" } }))).toBe("UNAUTHENTICATED");
  });

  it("list, rename (unique per user, normalised, case-insensitive), delete", async () => {
    const u = await newUser(s);
    const auth = new SoftAuthenticator(ORIGIN);
    const a = await registerPasskey(s, u.accessToken, auth, { name: "  Work   laptop " });
    expect(a.name).toBe("Work laptop");
    const b = await registerPasskey(s, u.accessToken, new SoftAuthenticator(ORIGIN), { name: "Phone" });
    expect((await listPasskeys(s, u.accessToken)).map((k) => k.name)).toEqual(["Phone", "Work laptop"]);

    // the same name in another case or compatibility form is taken
    for (const name of ["work LAPTOP", "Ｗｏｒｋ laptop"]) {
      const r = await s.gql(WAN.REGISTER_OPTIONS, { input: { name } }, { token: u.accessToken });
      expect(codeOf(r), name).toBe("WEBAUTHN_NAME_INUSE");
      expect(codeOf(await s.gql(WAN.RENAME, { id: b.id, name }, { token: u.accessToken })), name).toBe("WEBAUTHN_NAME_INUSE");
    }
    // another user may use the same name
    const other = await newUser(s);
    await registerPasskey(s, other.accessToken, new SoftAuthenticator(ORIGIN), { name: "Work laptop" });

    const renamed = await s.gql(WAN.RENAME, { id: b.id, name: "Old phone" }, { token: u.accessToken });
    expect(renamed.data?.wanRename).toMatchObject({ id: b.id, name: "Old phone" });
    // a case-only rename of the same passkey is allowed
    expect((await s.gql(WAN.RENAME, { id: b.id, name: "old PHONE" }, { token: u.accessToken })).data?.wanRename.name).toBe("old PHONE");

    expect((await s.gql(WAN.DELETE, { id: a.id }, { token: u.accessToken })).data?.wanDelete).toBe(true);
    expect((await listPasskeys(s, u.accessToken)).map((k) => k.id)).toEqual([b.id]);
    expect(codeOf(await s.gql(WAN.DELETE, { id: a.id }, { token: u.accessToken }))).toBe("WEBAUTHN_UNKNOWN_CREDENTIAL_ID");
    // the deleted passkey no longer signs in
    const r = await s.gql(WAN.SIGN_IN, { credential: auth.get(await signInOptions(s), { credential: auth.credentials[0] }) });
    expect(codeOf(r)).toBe("WEBAUTHN_UNKNOWN_CREDENTIAL_ID");
    // and the name is free again
    await registerPasskey(s, u.accessToken, auth, { name: "work laptop" });
  });

  it("passkeys per user are capped", async () => {
    const capped = await startTestServer({ publicUrl: PUBLIC_URL, webauthn: { maxPerUser: 2 } });
    try {
      const u = await newUser(capped);
      const auth = new SoftAuthenticator(ORIGIN);
      await registerPasskey(capped, u.accessToken, auth);
      await registerPasskey(capped, u.accessToken, new SoftAuthenticator(ORIGIN));
      expect(codeOf(await capped.gql(WAN.REGISTER_OPTIONS, { input: { name: "third" } }, { token: u.accessToken }))).toBe("WEBAUTHN_TOO_MANY");
    } finally {
      await capped.close();
    }
  });

  it("sign-in with an identity hint (when allowed) lists that user's FIRST passkeys", async () => {
    const hinted = await startTestServer({ publicUrl: PUBLIC_URL, webauthn: { allowIdentityHints: true } });
    try {
      const u = await newUser(hinted, { username: `hint${Date.now().toString(36).replace(/\d/g, "x")}` });
      const auth = new SoftAuthenticator(ORIGIN);
      const first = await registerPasskey(hinted, u.accessToken, auth, { name: "First" });
      await registerPasskey(hinted, u.accessToken, new SoftAuthenticator(ORIGIN), { name: "Second", usage: "SECONDARY" });
      const options = JSON.parse(await signInOptions(hinted, u.email.toUpperCase()));
      expect(options.allowCredentials).toEqual([{ id: first.id, type: "public-key" }]);
      const r = await passkeySignIn(hinted, auth, { identity: u.email });
      expect(r.errors).toBeUndefined();
      expect(r.data?.wanSignIn.user.id).toBe(u.id);
    } finally {
      await hinted.close();
    }
  });

  it("register, rename and delete need a fresh session; verifying with a passkey makes it fresh", async () => {
    const strict = await startTestServer({ publicUrl: PUBLIC_URL, freshness: { maxAgeSeconds: 1, graceSeconds: 0 } });
    try {
      const u = await newUser(strict);
      const auth = new SoftAuthenticator(ORIGIN);
      const key = await registerPasskey(strict, u.accessToken, auth, { name: "Mine" });
      await sleep(1_300);
      const stale = await strict.gql(WAN.RENAME, { id: key.id, name: "Renamed" }, { token: u.accessToken });
      expect(codeOf(stale)).toBe("REAUTH_REQUIRED");
      expect(codeOf(await strict.gql(WAN.DELETE, { id: key.id }, { token: u.accessToken }))).toBe("REAUTH_REQUIRED");
      expect(codeOf(await strict.gql(WAN.REGISTER_OPTIONS, { input: { name: "x" } }, { token: u.accessToken }))).toBe("REAUTH_REQUIRED");
      // verify itself does not need freshness
      const v = await strict.gql(WAN.VERIFY, { credential: auth.get(await verifyOptions(strict, { token: u.accessToken })) }, { token: u.accessToken });
      expect(v.errors).toBeUndefined();
      expect((await strict.gql(WAN.RENAME, { id: key.id, name: "Renamed" }, { token: u.accessToken })).data?.wanRename.name).toBe("Renamed");
    } finally {
      await strict.close();
    }
  });

  it("a deactivated user's passkey does not sign in", async () => {
    const u = await newUser(s);
    const auth = new SoftAuthenticator(ORIGIN);
    await registerPasskey(s, u.accessToken, auth);
    await s.running.app.models.User.updateOne({ _id: u.id }, { $set: { active: false } });
    await s.running.app.authState.publish("user", u.id);
    expect(codeOf(await passkeySignIn(s, auth))).toBe("DISABLED_ACCOUNT");
    await s.running.app.models.User.updateOne({ _id: u.id }, { $set: { active: true } });
    expect((await passkeySignIn(s, auth)).errors).toBeUndefined();
    expect((await loginTokens(s, u.email)).id).toBe(u.id);
  });

  it("events: registered, used, reauthenticated, loggedIn with method hwk", async () => {
    const seen: string[] = [];
    const app = s.running.app;
    app.events.on("webauthn.registered", () => void seen.push("registered"));
    app.events.on("webauthn.used", (e) => void seen.push(`used:${e.purpose}`));
    app.events.on("user.loggedIn", (e) => void (e.method === "hwk" && seen.push("loggedIn:hwk")));
    const u = await newUser(s);
    const auth = new SoftAuthenticator(ORIGIN);
    await registerPasskey(s, u.accessToken, auth);
    await passkeySignIn(s, auth);
    await sleep(50);
    expect(seen).toEqual(expect.arrayContaining(["registered", "used:signin", "loggedIn:hwk"]));
  });

  it("serves the passkey page with a strict CSP, and its script", async () => {
    const page = await fetch(`${s.url}/passkeys`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    const html = await page.text();
    expect(html).toContain('<script src="/passkeys.js"');
    const js = await fetch(`${s.url}/passkeys.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(await js.text()).toContain("navigator.credentials");
  });
});
