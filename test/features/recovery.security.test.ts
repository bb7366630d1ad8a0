// Security properties of password and username recovery: hashes at rest, one winner under parallel
// use, expiry, identical answers for known and unknown addresses, throttling per address and per
// client, and links built from config only.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.js";
import { sha256 } from "../../src/core/crypto.js";
import type { ReceivedMail, TestSmtpServer } from "../support/smtp.js";
import { closeMailTestServer, mailDespiteForgedHost, mailOf, mailedToken, startMailTestServer, tokenOf } from "../support/mail-flow.js";
import { codeOf, LOGIN, loginTokens, registerUser, startTestServer, uniqueEmail, type TestServer } from "../support/server.js";

const REQUEST = /* GraphQL */ `mutation Req($email: String!) { requestPasswordReset(input: { email: $email }) { accepted message } }`;
const RESET = /* GraphQL */ `mutation Reset($token: String!, $password: String!) { resetPassword(input: { token: $token, password: $password }) { reset message } }`;
const RECOVER = /* GraphQL */ `mutation Rec($email: String!) { recoverUsername(input: { email: $email }) { accepted message } }`;
const NEW_PASSWORD = "a brand new passphrase";
const PURPOSE = "reset-password";

/** Mails of this feature (registration's confirmation mails arrive meanwhile and are ignored). */
const OURS = new Set(["reset-password", "recover-username", "password-reset-notice"]);
const ours = (m: ReceivedMail): boolean => OURS.has(m.purpose ?? "");

describe("recovery security", () => {
  let smtp: TestSmtpServer;
  let s: TestServer;
  const clock = new ManualClock();
  beforeAll(async () => {
    ({ s, smtp } = await startMailTestServer({ recovery: { sendPerAddress: 3, sendPerClient: 1000 } }, clock));
  });
  afterAll(() => closeMailTestServer(s, smtp));

  const requestLink = async (email: string): Promise<string> => {
    const seq = smtp.received.length;
    const r = await s.gql(REQUEST, { email });
    expect(r.errors).toBeUndefined();
    return mailedToken(smtp, PURPOSE, email, seq);
  };

  it("the default lifetime is one hour", () => {
    expect(s.config.recovery.tokenTtlSeconds).toBe(3600);
  });

  it("the database holds only the token's hash", async () => {
    const { email } = await registerUser(s);
    const token = await requestLink(email);
    const docs = await s.running.app.models.LinkToken.collection.find({ purpose: "reset-password" }).toArray();
    expect(docs.map((d) => d._id)).toContain(sha256(token));
    for (const c of await s.running.db.conn.db!.listCollections().toArray()) {
      const all = JSON.stringify(await s.running.db.conn.db!.collection(c.name).find({}).toArray());
      expect(all, c.name).not.toContain(token);
    }
  });

  it("parallel use of one link: exactly one success", async () => {
    const { email } = await registerUser(s);
    const token = await requestLink(email);
    const passwords = Array.from({ length: 10 }, (_, i) => `parallel passphrase ${i}`);
    const results = await Promise.all(passwords.map((password) => s.gql(RESET, { token, password })));
    const wins = results.flatMap((r, i) => (r.data?.resetPassword?.reset === true ? [i] : []));
    expect(wins).toHaveLength(1);
    for (const r of results.filter((x) => !x.data?.resetPassword)) expect(codeOf(r)).toBe("INVALID_RESET_PASSWORD_TOKEN");
    // the winner's password is the one that works, and only it
    await loginTokens(s, email, passwords[wins[0]!]);
    for (const [i, p] of passwords.entries()) if (i !== wins[0]) expect(codeOf(await s.gql(LOGIN, { input: { identity: email, password: p } }))).toBe("GENERIC_AUTHN_FAILED");
  });

  it("an expired link is refused with PASSWORD_RESET_EXPIRED; a new one works", async () => {
    const { email } = await registerUser(s);
    const token = await requestLink(email);
    clock.advance((s.config.recovery.tokenTtlSeconds + 1) * 1000);
    expect(codeOf(await s.gql(RESET, { token, password: NEW_PASSWORD }))).toBe("PASSWORD_RESET_EXPIRED");
    // an expired link is gone, not merely late
    expect(codeOf(await s.gql(RESET, { token, password: NEW_PASSWORD }))).toBe("INVALID_RESET_PASSWORD_TOKEN");
    await loginTokens(s, email); // unchanged
    const fresh = await requestLink(email);
    expect((await s.gql(RESET, { token: fresh, password: NEW_PASSWORD })).data?.resetPassword.reset).toBe(true);
  });

  it("a link just inside its lifetime still works", async () => {
    const { email } = await registerUser(s);
    const token = await requestLink(email);
    clock.advance((s.config.recovery.tokenTtlSeconds - 5) * 1000);
    expect((await s.gql(RESET, { token, password: NEW_PASSWORD })).data?.resetPassword.reset).toBe(true);
    await loginTokens(s, email, NEW_PASSWORD);
  });

  it("requestPasswordReset answers identically for unknown, known, unconfirmed and deactivated addresses; mails only the active accounts", async () => {
    const known = (await registerUser(s)).email;
    await s.running.app.models.User.updateOne({ emailKey: known }, { $set: { confirmedAt: new Date() } });
    const unconfirmed = (await registerUser(s)).email;
    const inactive = (await registerUser(s)).email;
    await s.running.app.users.setActive((await s.running.app.users.findByEmailKey(inactive))!._id, false);
    const unknown = uniqueEmail("nobody");
    const seq = smtp.received.length;
    const linksBefore = await s.running.app.models.LinkToken.countDocuments({ purpose: "reset-password" });
    const answers = [];
    for (const email of [unknown, known, unconfirmed, inactive]) answers.push(await s.gql(REQUEST, { email }));
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.errors).toBeUndefined();
      expect(a.cookies).toEqual({});
      expect(a.raw).toBe(answers[0]!.raw);
    }
    expect(answers[0]!.data?.requestPasswordReset.accepted).toBe(true);
    await mailOf(smtp, PURPOSE, known, seq);
    await mailOf(smtp, PURPOSE, unconfirmed, seq);
    await new Promise((r) => setTimeout(r, 300)); // room for a (wrong) mail to the other two
    // Only this test's four addresses: mail of earlier tests is sent in the background and may land late.
    const mine = new Set([unknown, known, unconfirmed, inactive]);
    const after = smtp.received.filter((m) => m.seq > seq && ours(m) && mine.has(m.envelope.to[0] ?? "")).map((m) => m.envelope.to[0]);
    expect(after.sort()).toEqual([known, unconfirmed].sort());
    // links exist for the two active accounts only (the others got the decoy work, no link)
    expect(await s.running.app.models.LinkToken.countDocuments({ purpose: "reset-password" })).toBe(linksBefore + 2);
  });

  it("recoverUsername answers identically for unknown, username-less and username accounts; mails only the one with a username", async () => {
    const username = `Sec${Date.now().toString(36)}`;
    const withName = (await registerUser(s, { username })).email;
    const without = (await registerUser(s)).email;
    const unknown = uniqueEmail("nobody");
    const seq = smtp.received.length;
    const answers = [];
    for (const email of [unknown, withName, without]) answers.push(await s.gql(RECOVER, { email }));
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.errors).toBeUndefined();
      expect(a.raw).toBe(answers[0]!.raw);
    }
    const mail = await smtp.waitFor((m) => m.seq > seq && m.purpose === "recover-username");
    expect(mail.envelope.to).toEqual([withName]);
    expect(mail.text).toContain(username);
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.received.filter((m) => m.seq > seq && ours(m)).map((m) => m.envelope.to[0])).toEqual([withName]);
  });

  it("a flood to one address (known or not) is throttled, across both recovery mutations; other addresses unaffected", async () => {
    for (const email of [(await registerUser(s)).email, uniqueEmail("flood")]) {
      const seq = smtp.received.length;
      const codes = [];
      for (let i = 0; i < 5; i++) codes.push(codeOf(await s.gql(REQUEST, { email })) ?? "ok");
      expect(codes).toEqual(["ok", "ok", "ok", "RATE_LIMITED", "RATE_LIMITED"]);
      // recoverUsername spends the same budget
      expect(codeOf(await s.gql(RECOVER, { email }))).toBe("RATE_LIMITED");
      await new Promise((r) => setTimeout(r, 300));
      expect(smtp.received.filter((m) => m.seq > seq && ours(m) && m.envelope.to.includes(email)).length).toBeLessThanOrEqual(3);
    }
    expect(codeOf(await s.gql(REQUEST, { email: uniqueEmail("calm") }))).toBeUndefined();
    // the window passes: the address may ask again
    const email = uniqueEmail("later");
    for (let i = 0; i < 3; i++) await s.gql(REQUEST, { email });
    expect(codeOf(await s.gql(REQUEST, { email }))).toBe("RATE_LIMITED");
    clock.advance((s.config.rateLimit.windowSeconds + 1) * 1000);
    expect(codeOf(await s.gql(REQUEST, { email }))).toBeUndefined();
  });

  it("a Host or X-Forwarded-Host header set by the client never appears in the link", async () => {
    const { email } = await registerUser(s);
    const mail = await mailDespiteForgedHost(s, smtp, { query: REQUEST, variables: { email } }, { purpose: PURPOSE, to: email });
    const token = tokenOf(mail, PURPOSE); // starts with the configured public URL
    // the notice after the reset too
    await mailDespiteForgedHost(s, smtp, { query: RESET, variables: { token, password: NEW_PASSWORD } }, { purpose: "password-reset-notice", to: email });
  });
});

describe("recovery per client", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ recovery: { sendPerClient: 2, sendPerAddress: 100 } });
  });
  afterAll(() => s?.close());

  it("is throttled per client address across different addresses and both mutations", async () => {
    const codes = [];
    codes.push(codeOf(await s.gql(REQUEST, { email: uniqueEmail("client") })) ?? "ok");
    codes.push(codeOf(await s.gql(RECOVER, { email: uniqueEmail("client") })) ?? "ok");
    codes.push(codeOf(await s.gql(REQUEST, { email: uniqueEmail("client") })) ?? "ok");
    codes.push(codeOf(await s.gql(RECOVER, { email: uniqueEmail("client") })) ?? "ok");
    expect(codes).toEqual(["ok", "ok", "RATE_LIMITED", "RATE_LIMITED"]);
  });
});
