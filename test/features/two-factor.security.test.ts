// The attacker's tests for second factors: replayed codes (in sequence, as aliases in one document,
// in parallel), wrong-code floods, flows of other users and expired flows, nothing secret readable
// through the API or stored in clear, and key rotation of sealed secrets.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.js";
import type { TestSmtpServer } from "../support/smtp.js";
import { closeMailTestServer, mailOf, startMailTestServer } from "../support/mail-flow.js";
import { codeOf, ME, TEST_PASSWORD, loginTokens, registerUser, startTestServer, type TestServer } from "../support/server.js";
import { totpFor } from "../support/totp.js";
import { TF, mailCode } from "../support/two-factor.js";

describe("two-factor security", () => {
  let smtp: TestSmtpServer;
  let s: TestServer;
  const clock = new ManualClock();
  beforeAll(async () => {
    ({ s, smtp } = await startMailTestServer({ twoFactor: { attemptsPerFlow: 5, attemptsPerUser: 8, sendPerUser: 100 } }, clock));
  });
  afterAll(() => closeMailTestServer(s, smtp));

  const nextStep = () => clock.advance(30_000 - (clock.now().getTime() % 30_000) + 1_000);
  const flow = async (email: string): Promise<string> => {
    const r = await s.gql(TF.LOGIN, { input: { identity: email, password: TEST_PASSWORD, delivery: "TOKENS" } });
    expect(r.data?.login.__typename).toBe("SecondFactorRequired");
    return r.data?.login.flowId;
  };
  const verify = (flowId: string, code: string, method = "AUTHENTICATOR") => s.gql(TF.VERIFY, { input: { flowId, method, code } });

  async function withAuthenticator(): Promise<{ email: string; id: string; secret: string; token: string }> {
    const { email } = await registerUser(s);
    const me = await loginTokens(s, email);
    const secret: string = (await s.gql(TF.SETUP, { input: { method: "AUTHENTICATOR" } }, { token: me.accessToken })).data?.setupTwoFactor.secret;
    nextStep();
    expect((await s.gql(TF.CONFIRM, { code: totpFor(secret, clock.now()) }, { token: me.accessToken })).errors).toBeUndefined();
    return { email, id: me.id, secret, token: me.accessToken };
  }

  it("an authenticator code is accepted once: a second flow cannot reuse it, nor an older step afterwards", async () => {
    const u = await withAuthenticator();
    nextStep();
    const code = totpFor(u.secret, clock.now());
    expect((await verify(await flow(u.email), code)).errors).toBeUndefined();
    expect(codeOf(await verify(await flow(u.email), code))).toBe("INVALID_CODE");
    // the previous step's code is still inside the drift window, but older than the one used
    const previous = totpFor(u.secret, new Date(clock.now().getTime() - 30_000));
    expect(codeOf(await verify(await flow(u.email), previous))).toBe("INVALID_CODE");
    // the setup code itself could not be replayed at sign-in either (same mechanism): next step works
    nextStep();
    expect((await verify(await flow(u.email), totpFor(u.secret, clock.now()))).errors).toBeUndefined();
  });

  it("one code in several aliases of one document: exactly one sign-in", async () => {
    const u = await withAuthenticator();
    nextStep();
    const code = totpFor(u.secret, clock.now());
    const flows = [await flow(u.email), await flow(u.email), await flow(u.email)];
    const before = await s.running.app.models.Session.countDocuments({ userId: u.id });
    const doc = `mutation { ${flows.map((f, i) => `v${i}: verifyTwoFactor(input: { flowId: "${f}", method: AUTHENTICATOR, code: "${code}" }) { session { id } }`).join(" ")} }`;
    const r = await s.gql(doc);
    // (mutations run in order and stop at the first failed non-null field: the first alias signs in, the second is refused)
    expect(r.errors?.map((e) => e.extensions?.code)).toEqual(["INVALID_CODE"]);
    expect(r.errors?.[0]?.path).toEqual(["v1"]);
    expect(await s.running.app.models.Session.countDocuments({ userId: u.id })).toBe(before + 1);
  });

  it("one code in parallel requests: exactly one sign-in", async () => {
    const u = await withAuthenticator();
    nextStep();
    const code = totpFor(u.secret, clock.now());
    const flows = await Promise.all(Array.from({ length: 6 }, () => flow(u.email)));
    const results = await Promise.all(flows.map((f) => verify(f, code)));
    expect(results.filter((r) => r.errors === undefined)).toHaveLength(1);
    expect(results.filter((r) => codeOf(r) === "INVALID_CODE")).toHaveLength(5);
  });

  it("a mailed code works once, and only in the flow it was sent for", async () => {
    const { email } = await registerUser(s);
    const me = await loginTokens(s, email);
    let seq = smtp.received.length;
    await s.gql(TF.SETUP, { input: { method: "EMAIL" } }, { token: me.accessToken });
    await s.gql(TF.CONFIRM, { code: mailCode(await mailOf(smtp, "two-factor-code", email, seq)) }, { token: me.accessToken });
    const f1 = await flow(email);
    const f2 = await flow(email);
    seq = smtp.received.length;
    await s.gql(TF.SEND, { flowId: f1, method: "EMAIL" });
    const code = mailCode(await mailOf(smtp, "two-factor-code", email, seq));
    expect(codeOf(await verify(f2, code, "EMAIL"))).toBe("INVALID_CODE");
    expect((await verify(f1, code, "EMAIL")).errors).toBeUndefined();
    const f3 = await flow(email);
    expect(codeOf(await verify(f3, code, "EMAIL"))).toBe("INVALID_CODE");
  });

  it("wrong codes: after attemptsPerFlow the flow is discarded; across flows the per-user cap holds", async () => {
    const u = await withAuthenticator();
    const f = await flow(u.email);
    for (let i = 0; i < 5; i++) expect(codeOf(await verify(f, "000000"))).toBe("INVALID_CODE");
    expect(codeOf(await verify(f, "000000"))).toBe("RATE_LIMITED");
    nextStep();
    expect(codeOf(await verify(f, totpFor(u.secret, clock.now())))).toBe("SIGN_IN_FLOW_INVALID");
    // new flows do not reset the user's budget (attemptsPerUser = 8): it runs out within 8 attempts
    let limited = false;
    for (let i = 0; i < 8 && !limited; i++) limited = codeOf(await verify(await flow(u.email), "000000")) === "RATE_LIMITED";
    expect(limited).toBe(true);
    // ... and then even the right code is refused until the window has passed
    nextStep();
    expect(codeOf(await verify(await flow(u.email), totpFor(u.secret, clock.now())))).toBe("RATE_LIMITED");
    clock.advance(s.config.rateLimit.windowSeconds * 1000 + 1_000);
    expect((await verify(await flow(u.email), totpFor(u.secret, clock.now()))).errors).toBeUndefined();
  });

  it("wrong codes window after window: the daily tier (attemptsPerUserPerDay) locks the second factor for a day", async () => {
    const u = await withAuthenticator();
    const { attemptsPerUser, attemptsPerUserPerDay } = s.config.twoFactor;
    const windowMs = s.config.rateLimit.windowSeconds * 1000 + 1_000;
    let wrong = 0;
    let windows = 0;
    // Guess in fresh flows until the window's budget runs out, wait for the next window, again;
    // until a new window starts refused.
    for (; windows < 20; windows++) {
      let code: string | undefined;
      let checked = 0;
      while ((code = codeOf(await verify(await flow(u.email), "000000"))) === "INVALID_CODE") checked++;
      expect(code).toBe("RATE_LIMITED");
      wrong += checked;
      if (checked === 0) break;
      clock.advance(windowMs);
    }
    // Several windows' worth of guesses, never more than the daily budget (refused attempts count too).
    expect(windows).toBeGreaterThan(1);
    expect(wrong).toBeGreaterThan(attemptsPerUser);
    expect(wrong).toBeLessThanOrEqual(attemptsPerUserPerDay);
    // Another window later even the right code is refused ...
    clock.advance(windowMs);
    nextStep();
    expect(codeOf(await verify(await flow(u.email), totpFor(u.secret, clock.now())))).toBe("RATE_LIMITED");
    // ... until a day has passed; then the right code works and clears both tiers.
    clock.advance(86_400_000 + 1_000);
    nextStep();
    expect((await verify(await flow(u.email), totpFor(u.secret, clock.now()))).errors).toBeUndefined();
    expect(await s.running.app.models.RateHit.countDocuments({ key: { $in: [`2fa:user:${u.id}`, `2fa-day:user:${u.id}`] } })).toBe(0);
  });

  it("another user's flow id with my valid code is refused; so is an expired flow", async () => {
    const a = await withAuthenticator();
    const b = await withAuthenticator();
    const fa = await flow(a.email);
    nextStep();
    expect(codeOf(await verify(fa, totpFor(b.secret, clock.now())))).toBe("INVALID_CODE");
    const fb = await flow(b.email);
    clock.advance((s.config.twoFactor.flowTtlSeconds + 1) * 1000);
    expect(codeOf(await verify(fb, totpFor(b.secret, clock.now())))).toBe("SIGN_IN_FLOW_EXPIRED");
  });

  it("a flow dies with a password change; malformed flow ids are refused before any lookup", async () => {
    const u = await withAuthenticator();
    const f = await flow(u.email);
    await s.running.app.users.setPassword(u.id, "another long passphrase");
    nextStep();
    expect(codeOf(await verify(f, totpFor(u.secret, clock.now())))).toBe("SIGN_IN_FLOW_INVALID");
    for (const bad of ["", "x", f.slice(1), `${f}A`, "../../etc", '{"$ne":null}']) expect(codeOf(await verify(bad, "123456"))).toBe("SIGN_IN_FLOW_INVALID");
    expect(codeOf(await s.gql(TF.VERIFY, { input: { flowId: { $ne: null }, method: "AUTHENTICATOR", code: "1" } }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await verify(f, "1".repeat(65)))).toBe("BAD_USER_INPUT");
    expect(codeOf(await s.gql(TF.VERIFY, { input: { flowId: f, method: "NOPE", code: "1" } }))).toBe("BAD_USER_INPUT");
  });

  it("no query returns a secret or a code, and nothing is stored in clear", async () => {
    const u = await withAuthenticator();
    const codes: string[] = (await s.gql(TF.RECOVERY, {}, { token: u.token })).data?.generateRecoveryCodes.codes;
    const status = await s.gql(`{ twoFactor { enabled methods phone recoveryCodesLeft required } me { id email } }`, {}, { token: u.token });
    expect(status.raw).not.toContain(u.secret);
    for (const c of codes) expect(status.raw).not.toContain(c);
    const stored = JSON.stringify(await s.running.app.models.SecondFactor.findById(u.id).lean());
    expect(stored).not.toContain(u.secret);
    for (const c of codes) expect(stored).not.toContain(c.replace(/-/g, ""));
    for (const c of codes) expect(stored).not.toContain(c);
    // the sealed secret opens only for its owner (bound to the user id)
    const doc = await s.running.app.models.SecondFactor.findById(u.id).lean();
    expect(() => s.running.app.sealer.open(doc!.authenticator!.secretSealed, "000000000000000000000000")).toThrow();
    // mailed codes: only keyed hashes
    const { email } = await registerUser(s);
    const me = await loginTokens(s, email);
    const seq = smtp.received.length;
    await s.gql(TF.SETUP, { input: { method: "EMAIL" } }, { token: me.accessToken });
    const code = mailCode(await mailOf(smtp, "two-factor-code", email, seq));
    expect(JSON.stringify(await s.running.app.models.OneTimeCode.find({ userId: me.id }).lean())).not.toContain(code);
    // the schema has no field that could read a code back
    const types = await s.gql(`{ __type(name: "TwoFactorStatus") { fields { name } } }`);
    expect(types.data?.__type.fields.map((f: { name: string }) => f.name).sort()).toEqual(["enabled", "methods", "phone", "recoveryCodesLeft", "required"]);
  });

  it("no session exists and no cookie is set before the second factor passes", async () => {
    const u = await withAuthenticator();
    const before = await s.running.app.models.Session.countDocuments({ userId: u.id });
    const r = await s.gql(TF.LOGIN, { input: { identity: u.email, password: TEST_PASSWORD, delivery: "COOKIE" } });
    expect(r.data?.login.__typename).toBe("SecondFactorRequired");
    expect(r.headers.get("set-cookie")).toBeNull();
    expect(await s.running.app.models.Session.countDocuments({ userId: u.id })).toBe(before);
    expect(codeOf(await s.gql(ME, {}, { token: r.data?.login.flowId }))).toBe("UNAUTHENTICATED");
  });
});

describe("two-factor secrets across an encryption key rotation", () => {
  it("a secret sealed with the previous key still verifies and is re-sealed with the current one", async () => {
    const clock = new ManualClock();
    const oldKey = "old-key-".padEnd(40, "o");
    const newKey = "new-key-".padEnd(40, "n");
    const others = { pepper: "pepper-".padEnd(40, "p"), tokenKey: "token-key-".padEnd(40, "t") };
    const a = await startTestServer({ secrets: { ...others, encryptionKey: oldKey } }, clock);
    const dbName = a.running.app.models.User.db.name;
    let b: TestServer | undefined;
    try {
      const { email } = await registerUser(a);
      const me = await loginTokens(a, email);
      const secret: string = (await a.gql(TF.SETUP, { input: { method: "AUTHENTICATOR" } }, { token: me.accessToken })).data?.setupTwoFactor.secret;
      clock.advance(30_000);
      expect((await a.gql(TF.CONFIRM, { code: totpFor(secret, clock.now()) }, { token: me.accessToken })).errors).toBeUndefined();
      const sealedBefore = (await a.running.app.models.SecondFactor.findById(me.id).lean())!.authenticator!.secretSealed;
      await a.close();

      b = await startTestServer({ secrets: { ...others, encryptionKey: newKey, previousEncryptionKeys: [oldKey] } }, clock, { dbName });
      clock.advance(30_000);
      const step = (await b.gql(TF.LOGIN, { input: { identity: email, password: TEST_PASSWORD, delivery: "TOKENS" } })).data?.login;
      expect((await b.gql(TF.VERIFY, { input: { flowId: step.flowId, method: "AUTHENTICATOR", code: totpFor(secret, clock.now()) } })).errors).toBeUndefined();
      const sealedAfter = (await b.running.app.models.SecondFactor.findById(me.id).lean())!.authenticator!.secretSealed;
      expect(sealedAfter.split(".")[1]).not.toBe(sealedBefore.split(".")[1]);
      expect(b.running.app.sealer.open(sealedAfter, me.id)).toEqual({ plaintext: secret, stale: false });
    } finally {
      await b?.close();
      await a.close().catch(() => undefined);
    }
  });
});
