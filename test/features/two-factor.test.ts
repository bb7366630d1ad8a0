// Second factors end to end over HTTP: authenticator codes computed from the secret returned at
// setup (by the tests' own RFC 6238 code), mail codes read from the real SMTP server, SMS codes from
// a Twilio-compatible server the real adapter posts to.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.js";
import type { TestSmtpServer } from "../support/smtp.js";
import { PUBLIC_URL, closeMailTestServer, mailOf, mailedToken, startMailTestServer } from "../support/mail-flow.js";
import { codeOf, LOGIN, ME, REGISTER, TEST_PASSWORD, loginTokens, newAdmin, registerUser, startTestServer, uniqueEmail, type TestServer } from "../support/server.js";
import { SMS_ACCOUNT, smsCode, type TestSmsServer } from "../support/sms.js";
import { totpFor } from "../support/totp.js";
import { SoftAuthenticator } from "../support/webauthn-authenticator.js";
import { listPasskeys, registerPasskey } from "../support/webauthn-flow.js";
import { TF, closeCodeTestServer, mailCode, startCodeTestServer, type CodeTestServer } from "../support/two-factor.js";

const HELP = "security-desk@example.test";
const HELP_REQUEST = /* GraphQL */ `mutation($f: String!) { requestTwoFactorHelp(input: { flowId: $f }) { accepted message } }`;

describe("two-factor", () => {
  let t: CodeTestServer | undefined;
  let smtp: TestSmtpServer;
  let sms: TestSmsServer;
  let s: TestServer;
  const clock = new ManualClock();
  beforeAll(async () => {
    t = await startCodeTestServer({ twoFactor: { rememberDeviceDays: 30, sendPerUser: 100, helpAddress: HELP }, magicLink: { sendPerAddress: 100 } }, clock);
    ({ s, smtp, sms } = t);
  });
  afterAll(() => closeCodeTestServer(t));

  /** Moves to the start of the next 30-second step, so each test's codes are fresh. */
  const nextStep = () => clock.advance(30_000 - (clock.now().getTime() % 30_000) + 1_000);

  async function withAuthenticator(): Promise<{ email: string; token: string; secret: string; id: string }> {
    const { email } = await registerUser(s);
    const me = await loginTokens(s, email);
    const setup = await s.gql(TF.SETUP, { input: { method: "AUTHENTICATOR" } }, { token: me.accessToken });
    expect(setup.errors).toBeUndefined();
    const secret: string = setup.data?.setupTwoFactor.secret;
    nextStep();
    const confirmed = await s.gql(TF.CONFIRM, { code: totpFor(secret, clock.now()) }, { token: me.accessToken });
    expect(confirmed.errors).toBeUndefined();
    return { email, token: me.accessToken, secret, id: me.id };
  }

  const login = async (identity: string, extra: Record<string, unknown> = {}) => (await s.gql(TF.LOGIN, { input: { identity, password: TEST_PASSWORD, delivery: "TOKENS", ...extra } })).data?.login;

  it("authenticator: setup returns secret, otpauth URI and a QR code; nothing is saved until a code proves it; notice mailed", async () => {
    const { email } = await registerUser(s);
    const me = await loginTokens(s, email);
    const r = await s.gql(TF.SETUP, { input: { method: "AUTHENTICATOR" } }, { token: me.accessToken });
    const setup = r.data?.setupTwoFactor;
    expect(setup.method).toBe("AUTHENTICATOR");
    expect(setup.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(setup.otpauthUri).toMatch(/^otpauth:\/\/totp\//);
    expect(setup.otpauthUri).toContain(`secret=${setup.secret}`);
    expect(setup.otpauthUri).toContain(encodeURIComponent(email));
    expect(setup.qrCode).toMatch(/^data:image\/svg\+xml;base64,/);
    expect(Buffer.from(setup.qrCode.split(",")[1], "base64").toString()).toContain("<svg");
    // not active yet: sign-in needs no second factor
    expect((await login(email)).__typename).toBe("SignedIn");
    expect((await s.gql(TF.STATUS, {}, { token: me.accessToken })).data?.twoFactor).toMatchObject({ enabled: false, methods: [] });
    // a wrong code does not save it
    expect(codeOf(await s.gql(TF.CONFIRM, { code: "000000" }, { token: me.accessToken }))).toBe("INVALID_CODE");
    nextStep();
    const seq = smtp.received.length;
    const ok = await s.gql(TF.CONFIRM, { code: totpFor(setup.secret, clock.now()) }, { token: me.accessToken });
    expect(ok.data?.confirmTwoFactorSetup).toEqual({ enabled: true, methods: ["AUTHENTICATOR"], phone: null, recoveryCodesLeft: 0, required: false });
    await mailOf(smtp, "two-factor-changed", email, seq);
  });

  it("authenticator: login asks for the second factor (no session yet), the code finishes it; the session records both methods", async () => {
    const u = await withAuthenticator();
    const sessionsBefore = await s.running.app.models.Session.countDocuments({ userId: u.id });
    const raw = await s.gql(TF.LOGIN, { input: { identity: u.email, password: TEST_PASSWORD, delivery: "TOKENS" } });
    const step = raw.data?.login;
    expect(step.__typename).toBe("SecondFactorRequired");
    expect(step.methods).toEqual(["AUTHENTICATOR"]);
    expect(step.setupRequired).toBe(false);
    expect(step.flowId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(raw.cookies).toEqual({});
    expect(raw.raw).not.toMatch(/accessToken|eyJ/);
    expect(await s.running.app.models.Session.countDocuments({ userId: u.id })).toBe(sessionsBefore);

    nextStep();
    const v = await s.gql(TF.VERIFY, { input: { flowId: step.flowId, method: "AUTHENTICATOR", code: totpFor(u.secret, clock.now()) } });
    expect(v.errors).toBeUndefined();
    expect(v.data?.verifyTwoFactor.session.methods).toEqual(["pwd", "otp"]);
    expect((await s.gql(ME, {}, { token: v.data?.verifyTwoFactor.tokens.accessToken })).data?.me.email).toBe(u.email);
    // the flow is spent
    nextStep();
    expect(codeOf(await s.gql(TF.VERIFY, { input: { flowId: step.flowId, method: "AUTHENTICATOR", code: totpFor(u.secret, clock.now()) } }))).toBe("SIGN_IN_FLOW_INVALID");
  });

  it("authenticator: codes of one step before and after now are accepted (drift), two steps off are not", async () => {
    const u = await withAuthenticator();
    nextStep();
    const f1 = (await login(u.email)).flowId;
    expect(codeOf(await s.gql(TF.VERIFY, { input: { flowId: f1, method: "AUTHENTICATOR", code: totpFor(u.secret, new Date(clock.now().getTime() + 60_000)) } }))).toBe("INVALID_CODE");
    expect((await s.gql(TF.VERIFY, { input: { flowId: f1, method: "AUTHENTICATOR", code: totpFor(u.secret, new Date(clock.now().getTime() + 30_000)) } })).errors).toBeUndefined();
  });

  it("email: setup mails a code, confirming saves it; sign-in sends a code by mail on request", async () => {
    const { email } = await registerUser(s);
    const me = await loginTokens(s, email);
    let seq = smtp.received.length;
    const setup = (await s.gql(TF.SETUP, { input: { method: "EMAIL" } }, { token: me.accessToken })).data?.setupTwoFactor;
    expect(setup.sentTo).toMatch(/^.…@example\.com$/);
    const code = mailCode(await mailOf(smtp, "two-factor-code", email, seq));
    expect((await s.gql(TF.CONFIRM, { code }, { token: me.accessToken })).data?.confirmTwoFactorSetup.methods).toEqual(["EMAIL"]);
    // the setup code is spent
    expect(codeOf(await s.gql(TF.CONFIRM, { code }, { token: me.accessToken }))).toBe("TWO_FACTOR_NO_PENDING_SETUP");

    const step = await login(email);
    expect(step.methods).toEqual(["EMAIL"]);
    seq = smtp.received.length;
    const sent = await s.gql(TF.SEND, { flowId: step.flowId, method: "EMAIL" });
    expect(sent.data?.sendTwoFactorCode.sentTo).toMatch(/…@example\.com$/);
    const signInCode = mailCode(await mailOf(smtp, "two-factor-code", email, seq));
    expect(sent.raw).not.toContain(signInCode);
    const v = await s.gql(TF.VERIFY, { input: { flowId: step.flowId, method: "EMAIL", code: signInCode } });
    expect(v.data?.verifyTwoFactor.session.methods).toEqual(["pwd", "email"]);
  });

  it("sms: the phone is normalised to E.164, the code goes through the SMS provider's HTTP API", async () => {
    const { email } = await registerUser(s);
    const me = await loginTokens(s, email);
    const seen = sms.received.length;
    const setup = await s.gql(TF.SETUP, { input: { method: "SMS", phone: "0044 (20) 7946-0018" } }, { token: me.accessToken });
    expect(setup.data?.setupTwoFactor.sentTo).toBe("+442…18");
    const msg = await sms.waitFor((m) => sms.received.indexOf(m) >= seen && m.to === "+442079460018");
    expect(msg.from).toBe(SMS_ACCOUNT.from);
    expect(msg.authorization).toBe(`Basic ${Buffer.from(`${SMS_ACCOUNT.twilioAccountSid}:${SMS_ACCOUNT.twilioAuthToken}`).toString("base64")}`);
    const confirmed = await s.gql(TF.CONFIRM, { code: smsCode(msg) }, { token: me.accessToken });
    expect(confirmed.data?.confirmTwoFactorSetup).toMatchObject({ methods: ["SMS"], phone: "+442…18" });

    const step = await login(email);
    const seen2 = sms.received.length;
    expect((await s.gql(TF.SEND, { flowId: step.flowId, method: "SMS" })).errors).toBeUndefined();
    const msg2 = await sms.waitFor((m) => sms.received.indexOf(m) >= seen2 && m.to === "+442079460018");
    const v = await s.gql(TF.VERIFY, { input: { flowId: step.flowId, method: "SMS", code: smsCode(msg2) } });
    expect(v.data?.verifyTwoFactor.session.methods).toEqual(["pwd", "sms"]);
  });

  it("sms: bad numbers are field errors", async () => {
    const me = await loginTokens(s, (await registerUser(s)).email);
    for (const phone of ["", "12345", "020 7946 0018", "+0123456789", "+1".padEnd(50, "1"), "+44 20 7946 0018; DROP", null]) {
      const r = await s.gql(TF.SETUP, { input: { method: "SMS", phone } }, { token: me.accessToken });
      expect(codeOf(r)).toBe("BAD_USER_INPUT");
    }
  });

  it("recovery codes: shown once, each works once, the count goes down, a notice is mailed", async () => {
    const u = await withAuthenticator();
    const gen = (await s.gql(TF.RECOVERY, {}, { token: u.token })).data?.generateRecoveryCodes;
    expect(gen.codes).toHaveLength(10);
    for (const c of gen.codes) expect(c).toMatch(/^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/);
    expect(new Set(gen.codes).size).toBe(10);
    const step = await login(u.email);
    expect(step.methods).toContain("RECOVERY_CODE");
    const seq = smtp.received.length;
    const code = gen.codes[3].toUpperCase().replace(/-/g, " "); // typed differently: still accepted
    const v = await s.gql(TF.VERIFY, { input: { flowId: step.flowId, method: "RECOVERY_CODE", code } });
    expect(v.data?.verifyTwoFactor.session.methods).toEqual(["pwd", "recovery"]);
    await mailOf(smtp, "two-factor-changed", u.email, seq);
    expect((await s.gql(TF.STATUS, {}, { token: u.token })).data?.twoFactor.recoveryCodesLeft).toBe(9);
    const again = await login(u.email);
    expect(codeOf(await s.gql(TF.VERIFY, { input: { flowId: again.flowId, method: "RECOVERY_CODE", code: gen.codes[3] } }))).toBe("INVALID_CODE");
    // a new set replaces the old one
    const gen2 = (await s.gql(TF.RECOVERY, {}, { token: u.token })).data?.generateRecoveryCodes;
    const third = await login(u.email);
    expect(codeOf(await s.gql(TF.VERIFY, { input: { flowId: third.flowId, method: "RECOVERY_CODE", code: gen.codes[0] } }))).toBe("INVALID_CODE");
    expect((await s.gql(TF.VERIFY, { input: { flowId: third.flowId, method: "RECOVERY_CODE", code: gen2.codes[0] } })).errors).toBeUndefined();
  });

  it("rescue: a user with a confirmed address who lost the authenticator gets a one-time code by mail", async () => {
    const u = await withAuthenticator();
    await s.running.app.users.update(u.id, { $set: { confirmedAt: clock.now() } });
    await s.running.app.authState.publish("user", u.id);
    const step = await login(u.email);
    expect(step.methods).toEqual(["AUTHENTICATOR", "RESCUE_EMAIL"]);
    const seq = smtp.received.length;
    await s.gql(TF.SEND, { flowId: step.flowId, method: "RESCUE_EMAIL" });
    const mail = await mailOf(smtp, "two-factor-code", u.email, seq);
    expect(mail.text).toContain("without your usual second factor");
    const v = await s.gql(TF.VERIFY, { input: { flowId: step.flowId, method: "RESCUE_EMAIL", code: mailCode(mail) } });
    expect(v.data?.verifyTwoFactor.session.methods).toEqual(["pwd", "rescue"]);
  });

  it("help: the help address learns which account asks, the owner gets a notice; once per flow; an administrator's reset ends it", async () => {
    const u = await withAuthenticator();
    const step = await login(u.email);
    const seq = smtp.received.length;
    const r = await s.gql(HELP_REQUEST, { f: step.flowId });
    expect(r.errors).toBeUndefined();
    expect(r.data?.requestTwoFactorHelp.accepted).toBe(true);
    const help = await mailOf(smtp, "two-factor-help", HELP, seq);
    expect(help.text).toContain(u.email);
    expect(help.text).toContain(u.id);
    expect(help.text).toContain("resetUserAccess");
    expect((await mailOf(smtp, "two-factor-help-notice", u.email, seq)).text).toContain("If this was not you");
    // asking again in the same flow answers the same and mails nothing more
    expect((await s.gql(HELP_REQUEST, { f: step.flowId })).data?.requestTwoFactorHelp.accepted).toBe(true);
    await new Promise((res) => setTimeout(res, 300));
    expect(smtp.received.filter((m) => m.seq > seq && m.purpose === "two-factor-help")).toHaveLength(1);
    // a refusing SMTP server: MAIL_DELIVERY_FAILED, and the flow may ask again
    const other = await login(u.email);
    smtp.refuse(451, "rcpt");
    try {
      expect(codeOf(await s.gql(HELP_REQUEST, { f: other.flowId }))).toBe("MAIL_DELIVERY_FAILED");
    } finally {
      smtp.accept();
    }
    const seq2 = smtp.received.length;
    expect((await s.gql(HELP_REQUEST, { f: other.flowId })).errors).toBeUndefined();
    await mailOf(smtp, "two-factor-help", HELP, seq2);
    // bad flow ids are refused; the administrator's reset removes the factor: one step again
    expect(codeOf(await s.gql(HELP_REQUEST, { f: "x".repeat(43) }))).toBe("SIGN_IN_FLOW_INVALID");
    const admin = await newAdmin(s);
    expect((await s.gql(`mutation($i: ResetUserAccessInput!) { resetUserAccess(input: $i) { id } }`, { i: { userId: u.id } }, { token: admin.accessToken })).errors).toBeUndefined();
    expect((await s.gql(TF.LOGIN, { input: { identity: u.email, password: TEST_PASSWORD, delivery: "TOKENS" } })).data?.login.__typename).toBe("SignedIn");
  });

  it("remember device: tokens clients get a token that skips the second factor until the password changes", async () => {
    const u = await withAuthenticator();
    const step = await login(u.email);
    nextStep();
    const v = await s.gql(TF.VERIFY, { input: { flowId: step.flowId, method: "AUTHENTICATOR", code: totpFor(u.secret, clock.now()), rememberDevice: true } });
    const remember: string = v.data?.verifyTwoFactor.rememberDeviceToken;
    expect(remember).toMatch(/^rd1\./);
    expect((await login(u.email, { rememberDeviceToken: remember })).__typename).toBe("SignedIn");
    expect((await login(u.email)).__typename).toBe("SecondFactorRequired");
    // a tampered token does nothing
    expect((await login(u.email, { rememberDeviceToken: `${remember.slice(0, -2)}AA` })).__typename).toBe("SecondFactorRequired");
    // after a password change every remembered device is forgotten
    await s.running.app.users.setPassword(u.id, "a different long passphrase");
    const r = await s.gql(TF.LOGIN, { input: { identity: u.email, password: "a different long passphrase", delivery: "TOKENS", rememberDeviceToken: remember } });
    expect(r.data?.login.__typename).toBe("SecondFactorRequired");
  });

  it("remember device: browsers get an httpOnly cookie", async () => {
    const u = await withAuthenticator();
    const step = (await s.gql(TF.LOGIN, { input: { identity: u.email, password: TEST_PASSWORD, delivery: "COOKIE" } })).data?.login;
    nextStep();
    const v = await s.gql(TF.VERIFY, { input: { flowId: step.flowId, method: "AUTHENTICATOR", code: totpFor(u.secret, clock.now()), rememberDevice: true } });
    const name = `${s.config.sessions.cookieName}-rd`;
    expect(v.cookies[name]).toMatch(/^rd1\./);
    expect(v.headers.get("set-cookie")).toMatch(/-rd=rd1\.[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=2592000; Secure/);
    const r = await s.gql(TF.LOGIN, { input: { identity: u.email, password: TEST_PASSWORD, delivery: "COOKIE" } }, { headers: { cookie: `${name}=${v.cookies[name]}` } });
    expect(r.data?.login.__typename).toBe("SignedIn");
  });

  it("disable: needs nothing but a fresh session, removes the method, sign-in is one step again; notice mailed", async () => {
    const u = await withAuthenticator();
    const seq = smtp.received.length;
    expect((await s.gql(TF.DISABLE, { m: "AUTHENTICATOR" }, { token: u.token })).data?.disableTwoFactor).toEqual({ enabled: false, methods: [] });
    await mailOf(smtp, "two-factor-changed", u.email, seq);
    expect((await login(u.email)).__typename).toBe("SignedIn");
  });

  it("setup, confirm, disable and new recovery codes need a fresh session", async () => {
    const u = await withAuthenticator();
    // The session's last verification, moved back beyond the freshness limit and its grace.
    const old = new Date(clock.now().getTime() - (s.config.freshness.maxAgeSeconds + s.config.freshness.graceSeconds + 60) * 1000);
    const [session] = await s.running.app.models.Session.find({ userId: u.id }).sort({ createdAt: -1 }).limit(1).lean();
    await s.running.app.models.Session.updateOne({ _id: session!._id }, { $set: { freshAt: old } });
    await s.running.app.authState.publish("session", String(session!._id));
    for (const [q, v] of [[TF.SETUP, { input: { method: "EMAIL" } }], [TF.CONFIRM, { code: "123456" }], [TF.DISABLE, {}], [TF.RECOVERY, {}]] as const) {
      const r = await s.gql(q, v, { token: u.token });
      expect(codeOf(r)).toBe("REAUTH_REQUIRED");
      // the answer says how to become fresh again: verifyPassword, usVerify, wanVerify
      expect(r.errors?.[0]?.extensions?.methods).toEqual(["PASSWORD", "CODE", "PASSKEY"]);
    }
    // reading the status needs no freshness
    expect((await s.gql(TF.STATUS, {}, { token: u.token })).data?.twoFactor.enabled).toBe(true);
  });

  it("a magic sign-in link does not skip the second factor, and the mailbox cannot be both factors", async () => {
    const u = await withAuthenticator();
    await s.running.app.users.update(u.id, { $set: { confirmedAt: clock.now() } }); // links go to confirmed addresses
    await s.running.app.authState.publish("user", u.id);
    // a password sign-in of this confirmed user may be rescued by mail ...
    expect((await login(u.email)).methods).toEqual(["AUTHENTICATOR", "RESCUE_EMAIL"]);
    const seq = smtp.received.length;
    await s.gql(`mutation($e: String!) { requestSignInLink(input: { email: $e }) { accepted } }`, { e: u.email });
    const token = await mailedToken(smtp, "sign-in-link", u.email, seq);
    const r = await s.gql(`mutation($t: String!) { signInWithLink(input: { token: $t }) { __typename ... on SecondFactorRequired { flowId methods } } }`, { t: token });
    expect(r.data?.signInWithLink.__typename).toBe("SecondFactorRequired");
    // ... a sign-in through the mailbox may not: the rescue code would go to the same mailbox
    expect(r.data?.signInWithLink.methods).toEqual(["AUTHENTICATOR"]);
    expect(codeOf(await s.gql(TF.SEND, { flowId: r.data?.signInWithLink.flowId, method: "RESCUE_EMAIL" }))).toBe("TWO_FACTOR_METHOD_NOT_AVAILABLE");
    expect(r.cookies).toEqual({});
    nextStep();
    const v = await s.gql(TF.VERIFY, { input: { flowId: r.data?.signInWithLink.flowId, method: "AUTHENTICATOR", code: totpFor(u.secret, clock.now()) } });
    expect(v.data?.verifyTwoFactor.session.methods).toEqual(["mail", "otp"]);
  });

  it("a refusing SMTP server or SMS provider gives a clear error and the flow stays usable", async () => {
    const { email } = await registerUser(s);
    const me = await loginTokens(s, email);
    const seen = sms.received.length;
    await s.gql(TF.SETUP, { input: { method: "SMS", phone: "+14155550123" } }, { token: me.accessToken });
    const msg = await sms.waitFor((m) => sms.received.indexOf(m) >= seen && m.to === "+14155550123");
    await s.gql(TF.CONFIRM, { code: smsCode(msg) }, { token: me.accessToken });
    const step = await login(email);
    sms.status = 500;
    try {
      expect(codeOf(await s.gql(TF.SEND, { flowId: step.flowId, method: "SMS" }))).toBe("SMS_DELIVERY_FAILED");
    } finally {
      sms.status = 201;
    }
    const seen2 = sms.received.length;
    expect((await s.gql(TF.SEND, { flowId: step.flowId, method: "SMS" })).errors).toBeUndefined();
    const msg2 = await sms.waitFor((m) => sms.received.indexOf(m) >= seen2 && m.to === "+14155550123");
    expect((await s.gql(TF.VERIFY, { input: { flowId: step.flowId, method: "SMS", code: smsCode(msg2) } })).errors).toBeUndefined();
  });
});

describe("two-factor required by configuration", () => {
  let smtp: TestSmtpServer;
  let s: TestServer;
  const clock = new ManualClock();
  beforeAll(async () => {
    ({ s, smtp } = await startMailTestServer({ twoFactor: { required: true } }, clock));
  });
  afterAll(() => closeMailTestServer(s, smtp));

  it("registration never signs in while second factors are required, even with generic responses off", async () => {
    const register = (t: TestServer) => t.gql(REGISTER, { input: { email: uniqueEmail(), password: TEST_PASSWORD, delivery: "TOKENS" } });
    for (const [twoFactor, expected] of [[{ required: true }, "RegistrationAccepted"], [{ required: false }, "SignedIn"]] as const) {
      const t = await startTestServer({ genericResponses: false, twoFactor });
      try {
        expect((await register(t)).data?.register.__typename, JSON.stringify(twoFactor)).toBe(expected);
      } finally {
        await t.close();
      }
    }
  });

  it("help is not offered without twoFactor.helpAddress", async () => {
    const { email } = await registerUser(s);
    const r = await s.gql(TF.LOGIN, { input: { identity: email, password: TEST_PASSWORD, delivery: "TOKENS" } });
    expect(codeOf(await s.gql(HELP_REQUEST, { f: r.data?.login.flowId }))).toBe("TWO_FACTOR_METHOD_NOT_AVAILABLE");
  });

  it("the last second factor cannot go by deleting a SECONDARY passkey either", async () => {
    const { email } = await registerUser(s);
    const step = (await s.gql(TF.LOGIN, { input: { identity: email, password: TEST_PASSWORD, delivery: "TOKENS" } })).data?.login;
    const secret: string = (await s.gql(TF.SETUP_IN_FLOW, { input: { flowId: step.flowId, method: "AUTHENTICATOR" } })).data?.setupTwoFactorInFlow.secret;
    clock.advance(30_000);
    const token: string = (await s.gql(TF.VERIFY, { input: { flowId: step.flowId, method: "AUTHENTICATOR", code: totpFor(secret, clock.now()) } })).data?.verifyTwoFactor.tokens.accessToken;
    const auth = new SoftAuthenticator(PUBLIC_URL);
    const key = await registerPasskey(s, token, auth, { usage: "SECONDARY" });
    const DELETE = `mutation($id: ID!) { wanDelete(input: { id: $id }) }`;
    // while the authenticator is there, the passkey may go ... (a second one, to keep the first)
    const spare = await registerPasskey(s, token, new SoftAuthenticator(PUBLIC_URL), { usage: "SECONDARY" });
    expect((await s.gql(DELETE, { id: spare.id }, { token })).errors).toBeUndefined();
    // ... but once the passkey is the only second factor left, it stays
    const me = (await s.gql(ME, {}, { token })).data?.me.id;
    await s.running.app.models.SecondFactor.deleteOne({ _id: me });
    expect(codeOf(await s.gql(DELETE, { id: key.id }, { token }))).toBe("TWO_FACTOR_REQUIRED");
    expect((await listPasskeys(s, token)).map((p) => p.id)).toEqual([key.id]);
  });

  it("a user without a second factor sets one up inside the sign-in, before any session exists; it cannot be removed", async () => {
    const { email } = await registerUser(s);
    const r = await s.gql(TF.LOGIN, { input: { identity: email, password: TEST_PASSWORD, delivery: "TOKENS" } });
    const step = r.data?.login;
    expect(step).toMatchObject({ __typename: "SecondFactorRequired", setupRequired: true, methods: ["AUTHENTICATOR", "EMAIL", "SMS"] });
    // the flow is not a session
    expect(codeOf(await s.gql(ME, {}, { token: step.flowId }))).toBe("UNAUTHENTICATED");
    const setup = (await s.gql(TF.SETUP_IN_FLOW, { input: { flowId: step.flowId, method: "AUTHENTICATOR" } })).data?.setupTwoFactorInFlow;
    expect(setup.secret).toMatch(/^[A-Z2-7]{32}$/);
    clock.advance(30_000);
    const v = await s.gql(TF.VERIFY, { input: { flowId: step.flowId, method: "AUTHENTICATOR", code: totpFor(setup.secret, clock.now()) } });
    expect(v.errors).toBeUndefined();
    const token = v.data?.verifyTwoFactor.tokens.accessToken;
    expect((await s.gql(TF.STATUS, {}, { token })).data?.twoFactor).toMatchObject({ enabled: true, methods: ["AUTHENTICATOR"], required: true });
    expect(codeOf(await s.gql(TF.DISABLE, {}, { token }))).toBe("TWO_FACTOR_REQUIRED");
    // next sign-in asks for the code
    expect((await s.gql(TF.LOGIN, { input: { identity: email, password: TEST_PASSWORD } })).data?.login.setupRequired).toBe(false);
    expect(codeOf(await s.gql(LOGIN, { input: { identity: email, password: "wrong password!" } }))).toBe("GENERIC_AUTHN_FAILED");
  });
});
