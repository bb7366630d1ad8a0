// Unified sign-in end to end: identity (email, username, SMS number) + passcode (mailed code,
// texted code, authenticator code, password), with the code and link read from the real SMTP server
// and the Twilio-compatible test server; freshness by code; the second factor after password/email.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.js";
import type { TestSmtpServer } from "../support/smtp.js";
import { mailOf, tokenOf } from "../support/mail-flow.js";
import { codeOf, ME, TEST_PASSWORD, loginTokens, registerConfirmedUser, uniqueEmail, type TestServer } from "../support/server.js";
import { smsCode, type TestSmsServer } from "../support/sms.js";
import { totpFor } from "../support/totp.js";
import { TF, closeCodeTestServer, mailCode, startCodeTestServer, type CodeTestServer } from "../support/two-factor.js";

const SEND = /* GraphQL */ `mutation($i: String!, $m: UsCodeMethod!) { usSendCode(input: { identity: $i, method: $m }) { accepted message } }`;
const SIGN_IN = /* GraphQL */ `mutation($i: String!, $p: String!) { usSignIn(input: { identity: $i, passcode: $p, delivery: TOKENS }) { __typename
  ... on SignedIn { user { id email confirmedAt } session { methods } tokens { accessToken } }
  ... on SecondFactorRequired { flowId methods } } }`;
const SEND_VERIFY = /* GraphQL */ `mutation($m: UsCodeMethod!) { usSendVerifyCode(input: { method: $m }) { sentTo expiresAt } }`;
const VERIFY = /* GraphQL */ `mutation($p: String!) { usVerify(input: { passcode: $p }) { verifiedAt } }`;
const SESSIONS = /* GraphQL */ `{ sessions { current methods verifiedAt } }`;

describe("unified sign-in", () => {
  let t: CodeTestServer | undefined;
  let smtp: TestSmtpServer;
  let sms: TestSmsServer;
  let s: TestServer;
  const clock = new ManualClock();
  beforeAll(async () => {
    t = await startCodeTestServer({ unifiedSignIn: { sendPerIdentity: 100 }, twoFactor: { sendPerUser: 100 } }, clock);
    ({ s, smtp, sms } = t);
  });
  afterAll(() => closeCodeTestServer(t));

  const nextStep = () => clock.advance(30_000 - (clock.now().getTime() % 30_000) + 1_000);

  it("email code: a confirmed account; the mail also carries a sign-in link; the code signs in once", async () => {
    const { email } = await registerConfirmedUser(s);
    const seq = smtp.received.length;
    expect((await s.gql(SEND, { i: email, m: "EMAIL" })).data?.usSendCode.accepted).toBe(true);
    const mail = await mailOf(smtp, "us-code", email, seq);
    const code = mailCode(mail);
    tokenOf(mail, "sign-in-link"); // a magic link too, built on the public URL
    const r = await s.gql(SIGN_IN, { i: email.toUpperCase(), p: code });
    expect(r.data?.usSignIn.__typename).toBe("SignedIn");
    expect(r.data?.usSignIn.session.methods).toEqual(["email"]);
    expect(codeOf(await s.gql(SIGN_IN, { i: email, p: code }))).toBe("GENERIC_AUTHN_FAILED");
  });

  it("the link in the code mail signs in too", async () => {
    const { email } = await registerConfirmedUser(s);
    const seq = smtp.received.length;
    await s.gql(SEND, { i: email, m: "EMAIL" });
    const token = tokenOf(await mailOf(smtp, "us-code", email, seq), "sign-in-link");
    const r = await s.gql(`mutation($t: String!) { signInWithLink(input: { token: $t }) { __typename } }`, { t: token });
    expect(r.data?.signInWithLink.__typename).toBe("SignedIn");
  });

  it("password as passcode, by email or username", async () => {
    const username = `us${Date.now().toString(36)}`;
    const { email } = await registerConfirmedUser(s, { username });
    for (const identity of [email, username]) {
      const r = await s.gql(SIGN_IN, { i: identity, p: TEST_PASSWORD });
      expect(r.data?.usSignIn.session.methods).toEqual(["pwd"]);
    }
  });

  it("sms: identity may be the verified phone number; the texted code signs in without a further factor", async () => {
    const { email } = await registerConfirmedUser(s);
    const me = await loginTokens(s, email);
    const phone = `+1415555${String(Date.now()).slice(-4)}`;
    let seen = sms.received.length;
    await s.gql(TF.SETUP, { input: { method: "SMS", phone } }, { token: me.accessToken });
    await s.gql(TF.CONFIRM, { code: smsCode(await sms.waitFor((m) => sms.received.indexOf(m) >= seen && m.to === phone)) }, { token: me.accessToken });
    seen = sms.received.length;
    expect((await s.gql(SEND, { i: phone.replace("+1", "001 "), m: "SMS" })).data?.usSendCode.accepted).toBe(true);
    const code = smsCode(await sms.waitFor((m) => sms.received.indexOf(m) >= seen && m.to === phone));
    const r = await s.gql(SIGN_IN, { i: phone, p: code });
    expect(r.data?.usSignIn.__typename).toBe("SignedIn");
    expect(r.data?.usSignIn.session.methods).toEqual(["sms"]);
    // with the password, the SMS factor is asked for as a second factor
    const pw = await s.gql(SIGN_IN, { i: email, p: TEST_PASSWORD });
    expect(pw.data?.usSignIn).toMatchObject({ __typename: "SecondFactorRequired", methods: ["SMS", "RESCUE_EMAIL"] });
  });

  it("authenticator code as passcode: signs in directly; the password then needs the second factor", async () => {
    const { email } = await registerConfirmedUser(s);
    const me = await loginTokens(s, email);
    const secret: string = (await s.gql(TF.SETUP, { input: { method: "AUTHENTICATOR" } }, { token: me.accessToken })).data?.setupTwoFactor.secret;
    nextStep();
    await s.gql(TF.CONFIRM, { code: totpFor(secret, clock.now()) }, { token: me.accessToken });
    nextStep();
    const r = await s.gql(SIGN_IN, { i: email, p: totpFor(secret, clock.now()) });
    expect(r.data?.usSignIn.session.methods).toEqual(["otp"]);
    expect((await s.gql(SIGN_IN, { i: email, p: TEST_PASSWORD })).data?.usSignIn.__typename).toBe("SecondFactorRequired");
    // an emailed code also needs the second factor (secondFactorAfter: password, email)
    const seq = smtp.received.length;
    await s.gql(SEND, { i: email, m: "EMAIL" });
    const viaMail = await s.gql(SIGN_IN, { i: email, p: mailCode(await mailOf(smtp, "us-code", email, seq)) });
    expect(viaMail.data?.usSignIn.__typename).toBe("SecondFactorRequired");
  });

  it("SMS to an account without a phone, or to an unknown identity: the same answer, nothing sent", async () => {
    const { email } = await registerConfirmedUser(s);
    const seen = sms.received.length;
    const a = await s.gql(SEND, { i: email, m: "SMS" });
    const b = await s.gql(SEND, { i: uniqueEmail("nobody"), m: "SMS" });
    const c = await s.gql(SEND, { i: "+14155550999", m: "SMS" });
    const d = await s.gql(SEND, { i: uniqueEmail("nobody"), m: "EMAIL" });
    expect(new Set([a.raw, b.raw, c.raw, d.raw]).size).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(sms.received.length).toBe(seen);
  });

  it("freshness by code: a mailed code, an authenticator code or the password re-verify the session", async () => {
    const { email } = await registerConfirmedUser(s);
    const me = await loginTokens(s, email);
    clock.advance(60_000);
    const seq = smtp.received.length;
    expect((await s.gql(SEND_VERIFY, { m: "EMAIL" }, { token: me.accessToken })).data?.usSendVerifyCode.sentTo).toMatch(/…@example\.com$/);
    const code = mailCode(await mailOf(smtp, "two-factor-code", email, seq));
    const v = await s.gql(VERIFY, { p: code }, { token: me.accessToken });
    expect(v.data?.usVerify.verifiedAt).toBe(clock.now().toISOString());
    const current = (await s.gql(SESSIONS, {}, { token: me.accessToken })).data?.sessions.find((x: { current: boolean }) => x.current);
    expect(current.methods).toEqual(["pwd", "email"]);
    expect(codeOf(await s.gql(VERIFY, { p: code }, { token: me.accessToken }))).toBe("INVALID_CODE");
    expect((await s.gql(VERIFY, { p: TEST_PASSWORD }, { token: me.accessToken })).errors).toBeUndefined();
    expect(codeOf(await s.gql(VERIFY, { p: "wrong passcode" }, { token: me.accessToken }))).toBe("INVALID_CODE");
    expect(codeOf(await s.gql(VERIFY, { p: TEST_PASSWORD }))).toBe("UNAUTHENTICATED");
  });

  it("hostile and malformed input", async () => {
    for (const v of [{ i: "", p: "x" }, { i: "a@example.com", p: "" }, { i: "x".repeat(400), p: "x" }, { i: "a@example.com", p: "x".repeat(1000) }]) {
      expect(codeOf(await s.gql(SIGN_IN, v))).toBe("BAD_USER_INPUT");
    }
    expect(codeOf(await s.gql(SIGN_IN, { i: { $ne: null }, p: "x" }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await s.gql(SIGN_IN, { i: "a@example.com", p: { $gt: "" } }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await s.gql(SEND, { i: "a@example.com", m: "CARRIER_PIGEON" }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await s.gql(SEND, { i: "", m: "EMAIL" }))).toBe("BAD_USER_INPUT");
    expect((await s.gql(ME)).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});
