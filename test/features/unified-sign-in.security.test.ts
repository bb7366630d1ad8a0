// The attacker's view of unified sign-in: unknown identities cost the same time as known ones and
// get the same answer; a code works once (also in parallel); sending is throttled per identity.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestSmtpServer } from "../support/smtp.js";
import { closeMailTestServer, mailOf, startMailTestServer } from "../support/mail-flow.js";
import { codeOf, registerConfirmedUser, registerUser, uniqueEmail, type TestServer } from "../support/server.js";
import { interleaved, median, pairedMedianDifference } from "../support/timing.js";
import { mailCode } from "../support/two-factor.js";

const SEND = /* GraphQL */ `mutation($i: String!, $m: UsCodeMethod!) { usSendCode(input: { identity: $i, method: $m }) { accepted message } }`;
const SIGN_IN = /* GraphQL */ `mutation($i: String!, $p: String!) { usSignIn(input: { identity: $i, passcode: $p, delivery: TOKENS }) { __typename } }`;

describe("unified sign-in: timing of unknown and known identities", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await (await import("../support/server.js")).startTestServer({ passwords: { bcryptCost: 10 }, rateLimit: { loginPerIdentity: 1_000_000 } });
  });
  afterAll(() => t.close());

  it("a wrong passcode for a known identity and any passcode for an unknown one fail alike, in the same time", async () => {
    const username = `ust${Date.now().toString(36)}`;
    const { email } = await registerConfirmedUser(t, { username });
    const kinds = {
      unknownEmail: () => t.gql(SIGN_IN, { i: uniqueEmail("ghost"), p: "123456" }),
      knownEmail: () => t.gql(SIGN_IN, { i: email, p: "123456" }),
      unknownUsername: () => t.gql(SIGN_IN, { i: `ghost${Math.random().toString(36).slice(2, 10)}`, p: "wrong passcode" }),
      knownUsername: () => t.gql(SIGN_IN, { i: username, p: "wrong passcode" }),
      unknownPhone: () => t.gql(SIGN_IN, { i: "+14155550142", p: "123456" }),
    };
    await interleaved(kinds, 2);
    const samples = await interleaved(kinds, 25);
    for (const [name, smp] of Object.entries(samples)) {
      for (const r of smp.responses) expect({ name, code: codeOf(r) }).toEqual({ name, code: "GENERIC_AUTHN_FAILED" });
      expect(new Set(smp.responses.map((r) => r.raw)).size, name).toBe(1);
    }
    expect(samples.unknownEmail!.responses[0]!.raw).toBe(samples.knownEmail!.responses[0]!.raw);
    const medians = Object.fromEntries(Object.entries(samples).map(([n, smp]) => [n, Math.round(median(smp.times))]));
    const reference = median(Object.values(samples).flatMap((smp) => smp.times));
    // The same 25% margin as password sign-in (test/features/auth.security.test.ts explains it):
    // one bcrypt at cost 10 is most of each request, so a path that skipped it would be off by more
    // than half.
    for (const [a, b] of [["unknownEmail", "knownEmail"], ["unknownUsername", "knownUsername"], ["unknownPhone", "knownEmail"]] as const) {
      const diff = pairedMedianDifference(samples[a]!.times, samples[b]!.times);
      expect(Math.abs(diff), `${a} vs ${b}: ${diff.toFixed(1)} ms; medians ${JSON.stringify(medians)}`).toBeLessThan(0.25 * reference);
    }
    expect(medians.knownEmail, JSON.stringify(medians)).toBeGreaterThan(20);
  }, 180_000);
});

describe("unified sign-in: codes and sending", () => {
  let smtp: TestSmtpServer;
  let s: TestServer;
  beforeAll(async () => {
    ({ s, smtp } = await startMailTestServer({ unifiedSignIn: { sendPerIdentity: 3 } }));
  });
  afterAll(() => closeMailTestServer(s, smtp));

  it("an unconfirmed account gets no mailed code (someone else may have registered the address), with the same answer", async () => {
    const { email: unconfirmed } = await registerUser(s);
    const { email: confirmed } = await registerConfirmedUser(s);
    const seq = smtp.received.length;
    const [a, b] = [await s.gql(SEND, { i: unconfirmed, m: "EMAIL" }), await s.gql(SEND, { i: confirmed, m: "EMAIL" })];
    expect(a.raw).toBe(b.raw);
    await mailOf(smtp, "us-code", confirmed, seq);
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.received.filter((m) => m.seq > seq && m.purpose === "us-code" && m.envelope.to.includes(unconfirmed))).toEqual([]);
  });

  it("a mailed code signs in exactly once when tried in parallel", async () => {
    const { email } = await registerConfirmedUser(s);
    const seq = smtp.received.length;
    await s.gql(SEND, { i: email, m: "EMAIL" });
    const code = mailCode(await mailOf(smtp, "us-code", email, seq));
    const results = await Promise.all(Array.from({ length: 6 }, () => s.gql(SIGN_IN, { i: email, p: code })));
    expect(results.filter((r) => r.data?.usSignIn?.__typename === "SignedIn")).toHaveLength(1);
  });

  it("a newer code replaces the older one", async () => {
    const { email } = await registerConfirmedUser(s);
    let seq = smtp.received.length;
    await s.gql(SEND, { i: email, m: "EMAIL" });
    const first = mailCode(await mailOf(smtp, "us-code", email, seq));
    seq = smtp.received.length;
    await s.gql(SEND, { i: email, m: "EMAIL" });
    const second = mailCode(await mailOf(smtp, "us-code", email, seq));
    if (first !== second) expect(codeOf(await s.gql(SIGN_IN, { i: email, p: first }))).toBe("GENERIC_AUTHN_FAILED");
    expect((await s.gql(SIGN_IN, { i: email, p: second })).data?.usSignIn.__typename).toBe("SignedIn");
  });

  it("sending is throttled per identity, known or not, also through aliases", async () => {
    for (const identity of [(await registerConfirmedUser(s)).email, uniqueEmail("ghost")]) {
      const aliased = `mutation($i: String!) { ${[1, 2, 3, 4].map((n) => `a${n}: usSendCode(input: { identity: $i, method: EMAIL }) { accepted }`).join(" ")} }`;
      expect(codeOf(await s.gql(aliased, { i: identity }))).toBe("RATE_LIMITED");
      expect(codeOf(await s.gql(SEND, { i: identity, m: "EMAIL" }))).toBe("RATE_LIMITED");
    }
  });

  it("codes are not stored in clear", async () => {
    const { email } = await registerConfirmedUser(s);
    const seq = smtp.received.length;
    await s.gql(SEND, { i: email.toUpperCase(), m: "EMAIL" });
    const code = mailCode(await mailOf(smtp, "us-code", email, seq));
    const user = await s.running.app.users.findByEmailKey(email);
    expect(JSON.stringify(await s.running.app.models.OneTimeCode.find({ userId: user!._id }).lean())).not.toContain(code);
  });
});
