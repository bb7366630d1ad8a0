// The attacker's view of passkeys: phishing origins and foreign rpIDs, replays and reused or
// expired challenges (a manual clock), cloned authenticators, other users' credentials and
// challenges, unknown credentials and identities, forged user handles and signatures, and hostile
// inputs (oversized, malformed, operator injection, aliases).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.js";
import { codeOf, newUser, startTestServer, type TestServer, fieldErrors } from "../support/server.js";
import { interleaved, median, pairedMedianDifference } from "../support/timing.js";
import { SoftAuthenticator } from "../support/webauthn-authenticator.js";
import { WAN, listPasskeys, passkeySignIn, registerOptions, registerPasskey, signInOptions, verifyOptions } from "../support/webauthn-flow.js";

const PUBLIC_URL = "https://auth.example.test";
const ORIGIN = PUBLIC_URL;

describe("passkeys under attack", () => {
  const clock = new ManualClock();
  let s: TestServer;
  const events: Array<{ name: string; payload: Record<string, unknown> }> = [];
  beforeAll(async () => {
    s = await startTestServer({ publicUrl: PUBLIC_URL, webauthn: { allowIdentityHints: true } }, clock);
    for (const name of ["webauthn.failed", "webauthn.counterRegression"] as const) {
      s.running.app.events.on(name, (payload) => void events.push({ name, payload: payload as unknown as Record<string, unknown> }));
    }
  });
  afterAll(async () => {
    await s?.close();
  });

  /** A signed-in user with one FIRST passkey on a fresh authenticator. */
  async function userWithPasskey() {
    const u = await newUser(s);
    const auth = new SoftAuthenticator(ORIGIN);
    const key = await registerPasskey(s, u.accessToken, auth);
    return { u, auth, key };
  }

  it("a phishing origin is refused at registration and sign-in, and the challenge is spent", async () => {
    const u = await newUser(s);
    const auth = new SoftAuthenticator(ORIGIN);
    const options = await registerOptions(s, u.accessToken);
    const r = await s.gql(WAN.REGISTER, { credential: auth.create(options, { origin: "https://auth.example.test.evil.example" }) }, { token: u.accessToken });
    expect(codeOf(r)).toBe("WEBAUTHN_ORIGIN_MISMATCH");
    expect(r.errors?.[0]?.extensions?.allowedOrigins).toEqual([ORIGIN]);
    const retry = await s.gql(WAN.REGISTER, { credential: auth.create(options, { ignoreExclude: true }) }, { token: u.accessToken });
    expect(codeOf(retry)).toBe("WEBAUTHN_EXPIRED");
    expect(await listPasskeys(s, u.accessToken)).toEqual([]);

    const { auth: a2 } = await userWithPasskey();
    for (const origin of ["https://evil.example", "http://auth.example.test", "https://auth.example.test:8443"]) {
      expect(codeOf(await passkeySignIn(s, a2, { overrides: { origin } })), origin).toBe("WEBAUTHN_ORIGIN_MISMATCH");
    }
    expect(events.some((e) => e.name === "webauthn.failed" && e.payload.reason === "WEBAUTHN_ORIGIN_MISMATCH")).toBe(true);
  });

  it("a credential made for another rpID is refused (registration and assertion)", async () => {
    const u = await newUser(s);
    const auth = new SoftAuthenticator(ORIGIN);
    const r = await s.gql(WAN.REGISTER, { credential: auth.create(await registerOptions(s, u.accessToken), { rpId: "example.test" }) }, { token: u.accessToken });
    expect(codeOf(r)).toBe("WEBAUTHN_RPID_MISMATCH");
    const { auth: a2 } = await userWithPasskey();
    expect(codeOf(await passkeySignIn(s, a2, { overrides: { rpId: "evil.example", credential: a2.credentials[0] } }))).toBe("WEBAUTHN_RPID_MISMATCH");
  });

  it("a ceremony of the wrong type (a get response to a create) fails", async () => {
    const { auth } = await userWithPasskey();
    expect(codeOf(await passkeySignIn(s, auth, { overrides: { type: "webauthn.create" } }))).toBe("WEBAUTHN_VERIFICATION_FAILED");
  });

  it("a replayed assertion is refused, also when sent twice in one request", async () => {
    const { auth, u } = await userWithPasskey();
    const credential = auth.get(await signInOptions(s));
    expect((await s.gql(WAN.SIGN_IN, { credential })).data?.wanSignIn.user.id).toBe(u.id);
    expect(codeOf(await s.gql(WAN.SIGN_IN, { credential }))).toBe("WEBAUTHN_EXPIRED");

    const twice = auth.get(await signInOptions(s));
    const r = await s.gql(
      `mutation($c: String!) { a: wanSignIn(input: { credential: $c }) { __typename } b: wanSignIn(input: { credential: $c }) { __typename } }`,
      { c: twice },
    );
    // mutations run in order: a signs in, b is the replay (and, the fields being non-null, nulls data)
    expect(r.errors?.map((e) => [e.path?.[0], e.extensions?.code])).toEqual([["b", "WEBAUTHN_EXPIRED"]]);
  });

  it("a challenge answered twice (two fresh assertions) works once", async () => {
    const { auth } = await userWithPasskey();
    const options = await signInOptions(s);
    const first = auth.get(options);
    const second = auth.get(options); // a higher counter and a new signature, same challenge
    expect((await s.gql(WAN.SIGN_IN, { credential: first })).errors).toBeUndefined();
    expect(codeOf(await s.gql(WAN.SIGN_IN, { credential: second }))).toBe("WEBAUTHN_EXPIRED");
  });

  it("challenges expire: sign-in after 60 s, registration after 30 min", async () => {
    const { auth, u } = await userWithPasskey();
    const signIn = await signInOptions(s);
    clock.advance(61_000);
    expect(codeOf(await s.gql(WAN.SIGN_IN, { credential: auth.get(signIn) }))).toBe("WEBAUTHN_EXPIRED");
    const fresh = await signInOptions(s);
    clock.advance(55_000);
    expect((await s.gql(WAN.SIGN_IN, { credential: auth.get(fresh) })).errors).toBeUndefined();

    const reg = await registerOptions(s, u.accessToken, "late");
    clock.advance(1_801_000);
    expect(codeOf(await s.gql(WAN.REGISTER, { credential: new SoftAuthenticator(ORIGIN).create(reg) }, { token: u.accessToken }))).toBe("WEBAUTHN_EXPIRED");
    const inTime = await registerOptions(s, u.accessToken, "in time");
    clock.advance(1_790_000);
    expect((await s.gql(WAN.REGISTER, { credential: new SoftAuthenticator(ORIGIN).create(inTime) }, { token: u.accessToken })).errors).toBeUndefined();

    const verify = await verifyOptions(s, { token: u.accessToken });
    clock.advance(61_000);
    expect(codeOf(await s.gql(WAN.VERIFY, { credential: auth.get(verify) }, { token: u.accessToken }))).toBe("WEBAUTHN_EXPIRED");
  });

  it("a cloned authenticator (counter going backwards) is refused and logged; the original keeps working", async () => {
    const { auth, key } = await userWithPasskey();
    const clone = auth.clone();
    expect((await passkeySignIn(s, auth)).errors).toBeUndefined(); // counter 1
    expect((await passkeySignIn(s, auth)).errors).toBeUndefined(); // counter 2
    const r = await passkeySignIn(s, clone); // the clone still counts from 0: reports 1
    expect(codeOf(r)).toBe("WEBAUTHN_COUNTER_REGRESSION");
    expect(events).toContainEqual({ name: "webauthn.counterRegression", payload: expect.objectContaining({ credentialId: key.id, storedCounter: 2, receivedCounter: 1 }) });
    // an equal counter is a regression too
    expect(codeOf(await passkeySignIn(s, auth, { overrides: { counter: 2 } }))).toBe("WEBAUTHN_COUNTER_REGRESSION");
    expect((await passkeySignIn(s, auth, { overrides: { counter: 10 } })).errors).toBeUndefined();
  });

  it("an authenticator without a counter (always 0) is accepted", async () => {
    const { auth } = await userWithPasskey();
    auth.counterStep = 0;
    expect((await passkeySignIn(s, auth)).errors).toBeUndefined();
    expect((await passkeySignIn(s, auth)).errors).toBeUndefined();
  });

  it("verify accepts only the caller's own passkeys: another user's assertion is refused and changes nothing", async () => {
    const alice = await userWithPasskey();
    const bob = await userWithPasskey();
    const bobOptions = await verifyOptions(s, { token: bob.u.accessToken });
    const forged = alice.auth.get(bobOptions, { credential: alice.auth.credentials[0] });
    const before = (await s.gql(`{ sessions { current verifiedAt } }`, {}, { token: bob.u.accessToken })).data?.sessions.find((x: { current: boolean }) => x.current).verifiedAt;
    expect(codeOf(await s.gql(WAN.VERIFY, { credential: forged }, { token: bob.u.accessToken }))).toBe("WEBAUTHN_UNKNOWN_CREDENTIAL_ID");
    const after = (await s.gql(`{ sessions { current verifiedAt } }`, {}, { token: bob.u.accessToken })).data?.sessions.find((x: { current: boolean }) => x.current).verifiedAt;
    expect(after).toBe(before);
  });

  it("challenges are bound to the session that asked: another user's (or another session's) challenge is refused", async () => {
    const alice = await userWithPasskey();
    const bob = await userWithPasskey();
    // Alice's verify challenge answered with Alice's passkey but sent by Bob
    const aliceVerify = await verifyOptions(s, { token: alice.u.accessToken });
    expect(codeOf(await s.gql(WAN.VERIFY, { credential: alice.auth.get(aliceVerify) }, { token: bob.u.accessToken }))).toBe("WEBAUTHN_EXPIRED");
    // Alice's registration challenge used by Bob to register onto his account
    const aliceReg = await registerOptions(s, alice.u.accessToken, "stolen");
    const r = await s.gql(WAN.REGISTER, { credential: new SoftAuthenticator(ORIGIN).create(aliceReg) }, { token: bob.u.accessToken });
    expect(codeOf(r)).toBe("WEBAUTHN_EXPIRED");
    // a sign-in challenge is not a verify challenge
    const signIn = await signInOptions(s);
    expect(codeOf(await s.gql(WAN.VERIFY, { credential: bob.auth.get(signIn) }, { token: bob.u.accessToken }))).toBe("WEBAUTHN_EXPIRED");
  });

  it("one credential id cannot be registered to two accounts", async () => {
    const alice = await userWithPasskey();
    const mallory = await newUser(s);
    const options = await registerOptions(s, mallory.accessToken);
    const r = await s.gql(WAN.REGISTER, { credential: alice.auth.create(options, { reuse: alice.auth.credentials[0] }) }, { token: mallory.accessToken });
    expect(codeOf(r)).toBe("WEBAUTHN_CREDENTIAL_ID_INUSE");
    expect(await listPasskeys(s, mallory.accessToken)).toEqual([]);
    // and Alice's passkey is still hers
    expect((await passkeySignIn(s, alice.auth)).data?.wanSignIn.user.id).toBe(alice.u.id);
  });

  it("an unknown credential, a forged signature, a foreign user handle are refused", async () => {
    const stranger = new SoftAuthenticator(ORIGIN);
    const strangerUser = await newUser(s);
    // a credential registered on no server of ours: made from options, never sent to wanRegister
    stranger.create(await registerOptions(s, strangerUser.accessToken));
    // with identity hints on (this server) an unknown id answers like a bad signature (see below);
    // without hints it is WEBAUTHN_UNKNOWN_CREDENTIAL_ID (webauthn.test.ts)
    expect(codeOf(await passkeySignIn(s, stranger))).toBe("WEBAUTHN_VERIFICATION_FAILED");

    const { auth } = await userWithPasskey();
    expect(codeOf(await passkeySignIn(s, auth, { overrides: { badSignature: true } }))).toBe("WEBAUTHN_VERIFICATION_FAILED");
    expect(codeOf(await passkeySignIn(s, auth, { overrides: { userHandle: Buffer.alloc(32, 7) } }))).toBe("WEBAUTHN_MISMATCH_USER_HANDLE");
    // user presence is required
    expect(codeOf(await passkeySignIn(s, auth, { overrides: { flags: { up: false, uv: false } } }))).toBe("WEBAUTHN_VERIFICATION_FAILED");
  });

  it("an identity hint does not tell who exists: unknown, passkey-less and known identities get the same shape", async () => {
    const { u, auth } = await userWithPasskey();
    const noKeys = await newUser(s);
    const unknown = `nobody.${Date.now()}@example.com`;
    const shape = (o: Record<string, unknown>) => ({
      keys: Object.keys(o).sort(),
      allow: (o.allowCredentials as Array<{ id: string; type: string }>).map((c) => ({ keys: Object.keys(c).sort(), type: c.type, idLength: c.id.length })),
    });
    const known = JSON.parse(await signInOptions(s, u.email));
    const none = JSON.parse(await signInOptions(s, noKeys.email));
    const ghost = JSON.parse(await signInOptions(s, unknown));
    expect(shape(none)).toEqual(shape(known));
    expect(shape(ghost)).toEqual(shape(known));
    // made-up ids are stable per identity (asking twice does not tell them apart) and differ between identities
    expect(JSON.parse(await signInOptions(s, unknown)).allowCredentials).toEqual(ghost.allowCredentials);
    expect(JSON.parse(await signInOptions(s, unknown.toUpperCase())).allowCredentials).toEqual(ghost.allowCredentials);
    // an assertion naming a made-up id answers exactly like a real id with a bad signature
    const forger = new SoftAuthenticator(ORIGIN);
    forger.create(await registerOptions(s, noKeys.accessToken));
    const madeUp = { ...forger.credentials[0]!, id: Buffer.from(ghost.allowCredentials[0].id, "base64url") };
    const fake = await s.gql(WAN.SIGN_IN, { credential: forger.get(await signInOptions(s, unknown), { credential: madeUp }) });
    const realBad = await passkeySignIn(s, auth, { identity: u.email, overrides: { badSignature: true } });
    expect(codeOf(fake)).toBe("WEBAUTHN_VERIFICATION_FAILED");
    expect(fake.raw).toBe(realBad.raw);
    expect(none.allowCredentials).not.toEqual(ghost.allowCredentials);
  });

  it("identity hints are refused when config does not allow them", async () => {
    const plain = await startTestServer({ publicUrl: PUBLIC_URL });
    try {
      const r = await plain.gql(WAN.SIGN_IN_OPTIONS, { input: { identity: "someone@example.com" } });
      expect(codeOf(r)).toBe("BAD_USER_INPUT");
      expect(fieldErrors(r)).toEqual([expect.objectContaining({ field: "identity", code: "NOT_ALLOWED" })]);
      expect((await plain.gql(WAN.SIGN_IN_OPTIONS, { input: { identity: "" } })).errors).toBeUndefined();
    } finally {
      await plain.close();
    }
  });

  it("oversized, malformed and hostile credential JSON is a field error, never a crash", async () => {
    const { u, auth } = await userWithPasskey();
    const good = JSON.parse(auth.get(await signInOptions(s)));
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const cases: Array<[string, string, string]> = [
      ["empty", "", "REQUIRED"],
      ["oversized", JSON.stringify({ ...good, pad: "x".repeat(40_000) }), "TOO_LONG"],
      ["not JSON", "{", "WEBAUTHN_MALFORMED_RESPONSE"],
      ["a number", "42", "WEBAUTHN_MALFORMED_RESPONSE"],
      ["null", "null", "WEBAUTHN_MALFORMED_RESPONSE"],
      ["an array", "[]", "WEBAUTHN_MALFORMED_RESPONSE"],
      ["operator as id", JSON.stringify({ ...good, id: { $ne: null }, rawId: { $ne: null } }), "WEBAUTHN_MALFORMED_RESPONSE"],
      ["regex as id", JSON.stringify({ ...good, id: ".*", rawId: ".*" }), "WEBAUTHN_MALFORMED_RESPONSE"],
      ["missing response", JSON.stringify({ ...good, response: undefined }), "WEBAUTHN_MALFORMED_RESPONSE"],
      ["wrong type", JSON.stringify({ ...good, type: "password" }), "WEBAUTHN_MALFORMED_RESPONSE"],
      ["clientData not JSON", JSON.stringify({ ...good, response: { ...good.response, clientDataJSON: Buffer.from("nope").toString("base64url") } }), "WEBAUTHN_MALFORMED_RESPONSE"],
      ["operator as challenge", JSON.stringify({ ...good, response: { ...good.response, clientDataJSON: b64({ type: "webauthn.get", challenge: { $gt: "" }, origin: ORIGIN }) } }), "WEBAUTHN_MALFORMED_RESPONSE"],
      ["huge challenge", JSON.stringify({ ...good, response: { ...good.response, clientDataJSON: b64({ type: "webauthn.get", challenge: "A".repeat(500), origin: ORIGIN }) } }), "WEBAUTHN_MALFORMED_RESPONSE"],
      ["not base64url", JSON.stringify({ ...good, response: { ...good.response, signature: "+/==" } }), "WEBAUTHN_MALFORMED_RESPONSE"],
    ];
    for (const [label, credential, code] of cases) {
      for (const [op, token] of [[WAN.SIGN_IN, undefined], [WAN.VERIFY, u.accessToken], [WAN.REGISTER, u.accessToken]] as const) {
        const r = await s.gql(op, { credential }, token ? { token } : {});
        expect(codeOf(r), `${label} ${op.slice(0, 40)}`).toBe("BAD_USER_INPUT");
        expect(fieldErrors(r), label).toEqual([expect.objectContaining({ field: "credential", code })]);
      }
    }
    // a truncated authenticatorData is caught before the library
    const short = JSON.stringify({ ...good, response: { ...good.response, authenticatorData: "AAAA" } });
    expect(codeOf(await s.gql(WAN.SIGN_IN, { credential: short }))).toMatch(/^WEBAUTHN_(EXPIRED|MALFORMED_RESPONSE)$/);
    // an object where a String is declared never reaches a resolver
    const r = await s.gql(WAN.SIGN_IN, { credential: { $ne: null } });
    expect(r.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });

  it("names and ids: empty, oversized, control characters, operators", async () => {
    const { u, key } = await userWithPasskey();
    for (const [name, code] of [["", "REQUIRED"], ["   ", "REQUIRED"], ["x".repeat(65), "WEBAUTHN_INVALID_NAME"], ["x".repeat(1000), "TOO_LONG"], ["bad\u0000name", "WEBAUTHN_INVALID_NAME"], ["rtl\u202Ename", "WEBAUTHN_INVALID_NAME"]] as const) {
      const r = await s.gql(WAN.REGISTER_OPTIONS, { input: { name } }, { token: u.accessToken });
      expect(fieldErrors(r), JSON.stringify(name)).toEqual([expect.objectContaining({ field: "name", code })]);
      expect(fieldErrors(await s.gql(WAN.RENAME, { id: key.id, name }, { token: u.accessToken })), JSON.stringify(name)).toEqual([expect.objectContaining({ field: "name", code })]);
    }
    expect((await s.gql(WAN.REGISTER_OPTIONS, { input: { name: "x".repeat(64) } }, { token: u.accessToken })).errors).toBeUndefined();
    // an operator where an ID is declared is refused by GraphQL; nothing is deleted
    expect(codeOf(await s.gql(WAN.DELETE, { id: { $ne: null } }, { token: u.accessToken }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await s.gql(WAN.DELETE, { id: "x".repeat(5000) }, { token: u.accessToken }))).toBe("BAD_USER_INPUT");
    expect(await listPasskeys(s, u.accessToken)).toHaveLength(1);
  });

  it("another user's passkey cannot be renamed or deleted (it looks unknown)", async () => {
    const alice = await userWithPasskey();
    const bob = await newUser(s);
    expect(codeOf(await s.gql(WAN.RENAME, { id: alice.key.id, name: "mine now" }, { token: bob.accessToken }))).toBe("WEBAUTHN_UNKNOWN_CREDENTIAL_ID");
    expect(codeOf(await s.gql(WAN.DELETE, { id: alice.key.id }, { token: bob.accessToken }))).toBe("WEBAUTHN_UNKNOWN_CREDENTIAL_ID");
    expect((await listPasskeys(s, alice.u.accessToken)).map((k) => k.name)).toEqual([alice.key.name]);
  });

  it("an orphaned credential (its user deleted) does not sign in", async () => {
    const { u, auth } = await userWithPasskey();
    await s.running.app.models.User.deleteOne({ _id: u.id });
    expect(codeOf(await passkeySignIn(s, auth))).toBe("WEBAUTHN_ORPHAN_CREDENTIAL_ID");
  });

  it("only hashes of challenges are stored", async () => {
    const options = JSON.parse(await signInOptions(s));
    expect(await s.running.app.models.WebAuthnChallenge.exists({ _id: options.challenge })).toBeNull();
  });
});

describe("identity hints: timing", () => {
  // wanSignInOptions with a hint does the same two queries for every identity (the user, then that
  // user's passkeys, or an unused id's). Timed side by side, interleaved, 60 rounds; the same margin
  // rule as the generic mail answers (test/features/generic-responses.security.test.ts): 15% of the
  // median request plus 1.5 ms, above the paired-median noise on this machine (measured -0.4 to
  // 0.9 ms at a ~20 ms median). That catches extra work of a few ms (a hash, more round trips); one
  // skipped find measured 2.3 ms, under the margin, and is caught by the operations test instead.
  const ROUNDS = 60;
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ publicUrl: PUBLIC_URL, webauthn: { allowIdentityHints: true } });
  });
  afterAll(() => s?.close());

  const options = (identity: string) => () => s.gql(WAN.SIGN_IN_OPTIONS, { input: { identity } });

  it("a known identity with passkeys, one without, and an unknown one cost the same database operations", async () => {
    // Deterministic where timing is not: a skipped query for unknown identities measured only
    // ~2.3 ms (one FerretDB find), inside the timing margin below.
    const withKeys = await newUser(s);
    await registerPasskey(s, withKeys.accessToken, new SoftAuthenticator(ORIGIN));
    const without = await newUser(s);
    const conn = s.running.db.conn;
    const opsOf = async (identity: string): Promise<string[]> => {
      const ops: string[] = [];
      conn.set("debug", (collection: string, method: string) => void ops.push(`${collection}.${method}`));
      try {
        expect((await options(identity)()).errors).toBeUndefined();
      } finally {
        conn.set("debug", false);
      }
      return ops.filter((op) => !op.startsWith("revocations.")); // the feed's poll, in the background
    };
    const known = await opsOf(withKeys.email);
    expect(known).toEqual(expect.arrayContaining(["users.findOne", "webauthn_credentials.find"]));
    expect(await opsOf(without.email)).toEqual(known);
    expect(await opsOf(`nobody.${Date.now()}@example.com`)).toEqual(known);
  });

  // Up to three runs, as the timed generic answers: noise under the whole suite passes on a retry,
  // a real difference fails every run.
  it("a known identity with passkeys, one without, and an unknown one take the same time", { timeout: 120_000, retry: 2 }, async () => {
    const withKeys = await newUser(s);
    await registerPasskey(s, withKeys.accessToken, new SoftAuthenticator(ORIGIN));
    const without = await newUser(s);
    const unknown = `nobody.${Date.now()}@example.com`;
    const kinds = { known: options(withKeys.email), noPasskey: options(without.email), unknown: options(unknown) };
    await interleaved(kinds, 5); // warm-up
    const samples = await interleaved(kinds, ROUNDS);
    for (const smp of Object.values(samples)) for (const r of smp.responses) expect(r.errors, r.raw).toBeUndefined();
    const ref = median(Object.values(samples).flatMap((x) => x.times));
    const margin = 0.15 * ref + 1.5;
    for (const name of ["known", "noPasskey"] as const) {
      const diff = pairedMedianDifference(samples[name]!.times, samples.unknown!.times);
      expect(Math.abs(diff), `${name} − unknown: paired median ${diff.toFixed(2)} ms, margin ${margin.toFixed(2)} ms, median request ${ref.toFixed(2)} ms`).toBeLessThan(margin);
    }
  });
});
