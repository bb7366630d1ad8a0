// Security properties of email confirmation and of the link-token core: hashes at rest, one winner
// under parallel use, expiry, generic and throttled sendConfirmation, links from config only, and
// no lost state when the SMTP server refuses.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.js";
import { sha256 } from "../../src/core/crypto.js";
import type { TestSmtpServer } from "../support/smtp.js";
import { closeMailTestServer, mailDespiteForgedHost, mailOf, mailedToken, startMailTestServer, tokenOf } from "../support/mail-flow.js";
import { codeOf, REGISTER, TEST_PASSWORD, loginTokens, startTestServer, uniqueEmail, type TestServer } from "../support/server.js";

const CONFIRM = /* GraphQL */ `mutation Confirm($token: String!) { confirmEmail(input: { token: $token }) { confirmed email } }`;
const SEND = /* GraphQL */ `mutation Send($email: String!) { sendConfirmation(input: { email: $email }) { accepted message } }`;
const PURPOSE = "confirm-email";

const waitUntil = async (cond: () => boolean, timeoutMs = 5_000): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("confirmation security", () => {
  let smtp: TestSmtpServer;
  let s: TestServer;
  const clock = new ManualClock();
  beforeAll(async () => {
    ({ s, smtp } = await startMailTestServer({ confirmation: { requiredForLogin: true, sendPerAddress: 3, sendPerClient: 1000 } }, clock));
  });
  afterAll(() => closeMailTestServer(s, smtp));

  const register = async (email = uniqueEmail("sec")) => {
    const seq = smtp.received.length;
    const r = await s.gql(REGISTER, { input: { email, password: TEST_PASSWORD } });
    expect(r.errors).toBeUndefined();
    return { email, token: await mailedToken(smtp, PURPOSE, email, seq) };
  };

  it("the database holds only the token's hash", async () => {
    const { token } = await register();
    const docs = await s.running.app.models.LinkToken.collection.find({}).toArray();
    const dump = JSON.stringify(docs);
    expect(dump).not.toContain(token);
    expect(docs.map((d) => d._id)).toContain(sha256(token));
    // nor anywhere else in the database
    for (const c of await s.running.db.conn.db!.listCollections().toArray()) {
      const all = JSON.stringify(await s.running.db.conn.db!.collection(c.name).find({}).toArray());
      expect(all, c.name).not.toContain(token);
    }
  });

  it("parallel use of one link: exactly one success", async () => {
    const { email, token } = await register();
    const results = await Promise.all(Array.from({ length: 12 }, () => s.gql(CONFIRM, { token })));
    const wins = results.filter((r) => r.data?.confirmEmail?.confirmed === true);
    expect(wins).toHaveLength(1);
    expect(wins[0]!.data?.confirmEmail.email).toBe(email);
    for (const r of results.filter((x) => !x.data?.confirmEmail)) expect(codeOf(r)).toBe("INVALID_CONFIRMATION_TOKEN");
  });

  it("an expired link is refused with CONFIRMATION_EXPIRED; a new one works", async () => {
    const { email, token } = await register();
    clock.advance((s.config.confirmation.tokenTtlSeconds + 1) * 1000);
    expect(codeOf(await s.gql(CONFIRM, { token }))).toBe("CONFIRMATION_EXPIRED");
    const seq = smtp.received.length;
    await s.gql(SEND, { email });
    const fresh = await mailedToken(smtp, PURPOSE, email, seq);
    expect((await s.gql(CONFIRM, { token: fresh })).data?.confirmEmail.email).toBe(email);
  });

  it("a link just inside its lifetime still works", async () => {
    const { email, token } = await register();
    clock.advance((s.config.confirmation.tokenTtlSeconds - 5) * 1000);
    expect((await s.gql(CONFIRM, { token })).data?.confirmEmail.email).toBe(email);
  });

  it("sendConfirmation answers identically for unknown, unconfirmed and confirmed addresses; mails only the unconfirmed one", async () => {
    const unconfirmed = (await register()).email;
    const confirmed = await register();
    await s.gql(CONFIRM, { token: confirmed.token });
    const unknown = uniqueEmail("nobody");
    const seq = smtp.received.length;
    const answers = [];
    for (const email of [unknown, unconfirmed, confirmed.email]) answers.push(await s.gql(SEND, { email }));
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.errors).toBeUndefined();
      expect(a.raw).toBe(answers[0]!.raw);
    }
    await mailOf(smtp, PURPOSE, unconfirmed, seq);
    await new Promise((r) => setTimeout(r, 300)); // room for a (wrong) mail to the other two
    const after = smtp.received.filter((m) => m.seq > seq);
    expect(after.map((m) => m.envelope.to[0])).toEqual([unconfirmed]);
  });

  it("sendConfirmation is throttled per address (known or not), other addresses unaffected", async () => {
    for (const email of [(await register()).email, uniqueEmail("flood")]) {
      const codes = [];
      for (let i = 0; i < 5; i++) codes.push(codeOf(await s.gql(SEND, { email })) ?? "ok");
      expect(codes).toEqual(["ok", "ok", "ok", "RATE_LIMITED", "RATE_LIMITED"]);
    }
    expect(codeOf(await s.gql(SEND, { email: uniqueEmail("calm") }))).toBeUndefined();
  });

  it("a Host header set by the client never appears in the link", async () => {
    const email = uniqueEmail("host");
    const mail = await mailDespiteForgedHost(s, smtp, { query: REGISTER, variables: { input: { email, password: TEST_PASSWORD } } }, { purpose: PURPOSE, to: email });
    tokenOf(mail, PURPOSE); // starts with the configured public URL
    await mailDespiteForgedHost(s, smtp, { query: SEND, variables: { email } }, { purpose: PURPOSE, to: email });
  });

  it("a refusing SMTP server: registration answers the same, the account exists, and a later sendConfirmation works", async () => {
    const reference = await s.gql(REGISTER, { input: { email: uniqueEmail("ref"), password: TEST_PASSWORD } });
    const email = uniqueEmail("refused");
    const before = smtp.connections;
    smtp.refuse(550, "data");
    try {
      const r = await s.gql(REGISTER, { input: { email, password: TEST_PASSWORD } });
      expect(r.raw).toBe(reference.raw);
      await waitUntil(() => smtp.connections > before); // the delivery was tried (and refused)
      const resend = await s.gql(SEND, { email });
      expect(resend.errors).toBeUndefined();
      await waitUntil(() => smtp.connections > before + 1);
      // Let the refusals complete before accepting again (a delivery still in flight would
      // otherwise be accepted and bring a link that the next one supersedes).
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      smtp.accept();
    }
    expect(smtp.received.some((m) => m.envelope.to.includes(email))).toBe(false);
    expect(await s.running.app.models.User.countDocuments({ emailKey: email })).toBe(1);
    const seq = smtp.received.length;
    await s.gql(SEND, { email });
    const token = await mailedToken(smtp, PURPOSE, email, seq);
    expect((await s.gql(CONFIRM, { token })).data?.confirmEmail.email).toBe(email);
    await loginTokens(s, email);
  });
});

describe("sendConfirmation per client", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ confirmation: { sendPerClient: 2, sendPerAddress: 100 } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("is throttled per client address across different addresses", async () => {
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push(codeOf(await s.gql(SEND, { email: uniqueEmail("client") })) ?? "ok");
    expect(codes).toEqual(["ok", "ok", "RATE_LIMITED", "RATE_LIMITED"]);
  });
});
