// Email confirmation end to end: real HTTP, real database, and the actual mail read from an SMTP
// server in the test process.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestSmtpServer } from "../support/smtp.js";
import { closeMailTestServer, mailOf, mailedToken, startMailTestServer, tokenOf } from "../support/mail-flow.js";
import { codeOf, LOGIN, REGISTER, TEST_PASSWORD, loginTokens, uniqueEmail, type TestServer } from "../support/server.js";

const CONFIRM = /* GraphQL */ `mutation Confirm($token: String!) { confirmEmail(input: { token: $token }) { confirmed email } }`;
const SEND = /* GraphQL */ `mutation Send($email: String!) { sendConfirmation(input: { email: $email }) { accepted message } }`;
const CHANGE_PASSWORD = /* GraphQL */ `mutation($input: ChangePasswordInput!) { changePassword(input: $input) { user { id } tokens { accessToken } } }`;
const RESET_ACCESS = /* GraphQL */ `mutation($userId: ID!) { resetUserAccess(input: { userId: $userId }) { id } }`;

const PURPOSE = "confirm-email";

describe("email confirmation", () => {
  let smtp: TestSmtpServer;
  let s: TestServer;
  beforeAll(async () => {
    ({ s, smtp } = await startMailTestServer({ confirmation: { requiredForLogin: true } }));
  });
  afterAll(() => closeMailTestServer(s, smtp));

  const register = async (email = uniqueEmail("conf")) => {
    const r = await s.gql(REGISTER, { input: { email, password: TEST_PASSWORD } });
    expect(r.errors).toBeUndefined();
    return { email, token: await mailedToken(smtp, PURPOSE, email) };
  };

  it("happy path: register, mail, link, confirm, then sign in (CONFIRMATION_REQUIRED only after the right password)", async () => {
    const email = uniqueEmail("happy");
    const reg = await s.gql(REGISTER, { input: { email, password: TEST_PASSWORD } });
    expect(reg.data?.register).toMatchObject({ __typename: "RegistrationAccepted", accepted: true });
    const mail = await mailOf(smtp, PURPOSE, email);
    expect(mail.subject).toContain("Confirm your email");
    const token = tokenOf(mail, PURPOSE);

    const wrong = await s.gql(LOGIN, { input: { identity: email, password: "not the password at all" } });
    expect(codeOf(wrong)).toBe("GENERIC_AUTHN_FAILED");
    const early = await s.gql(LOGIN, { input: { identity: email, password: TEST_PASSWORD } });
    expect(codeOf(early)).toBe("CONFIRMATION_REQUIRED");
    expect(early.cookies[s.config.sessions.cookieName]).toBeUndefined();

    const ok = await s.gql(CONFIRM, { token });
    expect(ok.errors).toBeUndefined();
    expect(ok.data?.confirmEmail).toEqual({ confirmed: true, email });

    const u = await loginTokens(s, email);
    const me = await s.gql(`{ me { email confirmedAt } }`, {}, { token: u.accessToken });
    expect(me.data?.me.email).toBe(email);
    expect(typeof me.data?.me.confirmedAt).toBe("string");
  });

  it("a link works once", async () => {
    const { token } = await register();
    expect((await s.gql(CONFIRM, { token })).errors).toBeUndefined();
    expect(codeOf(await s.gql(CONFIRM, { token }))).toBe("INVALID_CONFIRMATION_TOKEN");
  });

  it("a tampered or malformed token is refused and leaves the real one usable", async () => {
    const { token } = await register();
    const flipped = token.slice(0, 10) + (token[10] === "A" ? "B" : "A") + token.slice(11);
    for (const bad of [flipped, token.slice(0, -1), `${token}A`, "", "x".repeat(43), `${token}.${token}`]) {
      expect(codeOf(await s.gql(CONFIRM, { token: bad })), bad).toBe("INVALID_CONFIRMATION_TOKEN");
    }
    expect((await s.gql(CONFIRM, { token })).data?.confirmEmail.confirmed).toBe(true);
  });

  it("a newer link replaces the older one", async () => {
    const { email, token: older } = await register();
    const seq = smtp.received.length;
    const sent = await s.gql(SEND, { email });
    expect(sent.data?.sendConfirmation.accepted).toBe(true);
    const newer = await mailedToken(smtp, PURPOSE, email, seq);
    expect(newer).not.toBe(older);
    expect(codeOf(await s.gql(CONFIRM, { token: older }))).toBe("INVALID_CONFIRMATION_TOKEN");
    expect((await s.gql(CONFIRM, { token: newer })).data?.confirmEmail.email).toBe(email);
  });

  it("a token of another purpose is refused", async () => {
    const { email, token } = await register();
    const app = s.running.app;
    const user = await app.users.findByEmailKey(email);
    const other = await app.links.issue("reset-password", user!, 3600);
    expect(codeOf(await s.gql(CONFIRM, { token: other }))).toBe("INVALID_CONFIRMATION_TOKEN");
    // and the confirmation link is still there: issuing another purpose did not replace it
    expect((await s.gql(CONFIRM, { token })).data?.confirmEmail.confirmed).toBe(true);
  });

  it("a link issued before an access reset (new uniquifier) is refused", async () => {
    const { email, token } = await register();
    const adminEmail = uniqueEmail("admin");
    await s.running.app.users.create({ email: adminEmail, password: TEST_PASSWORD, roles: ["admin"], confirmed: true });
    const admin = await loginTokens(s, adminEmail);
    const user = await s.running.app.users.findByEmailKey(email);
    const reset = await s.gql(RESET_ACCESS, { userId: String(user!._id) }, { token: admin.accessToken });
    expect(reset.errors).toBeUndefined();
    expect(codeOf(await s.gql(CONFIRM, { token }))).toBe("INVALID_CONFIRMATION_TOKEN");
    // a new link works
    const seq = smtp.received.length;
    await s.gql(SEND, { email });
    expect((await s.gql(CONFIRM, { token: await mailedToken(smtp, PURPOSE, email, seq) })).data?.confirmEmail.email).toBe(email);
  });

  it("a link issued before an email change is refused", async () => {
    const { email, token } = await register();
    // No changeEmail mutation yet (a later slice): change the address as it will, in the database.
    const changed = uniqueEmail("moved");
    await s.running.app.models.User.updateOne({ emailKey: email }, { $set: { email: changed, emailKey: changed } });
    expect(codeOf(await s.gql(CONFIRM, { token }))).toBe("INVALID_CONFIRMATION_TOKEN");
  });

  it("ALREADY_CONFIRMED only to the holder of a valid token", async () => {
    const { email, token } = await register();
    // Someone else confirmed the account meanwhile (here: an operator, in the database).
    await s.running.app.models.User.updateOne({ emailKey: email }, { $set: { confirmedAt: new Date() } });
    expect(codeOf(await s.gql(CONFIRM, { token }))).toBe("ALREADY_CONFIRMED");
    expect(codeOf(await s.gql(CONFIRM, { token: "A".repeat(43) }))).toBe("INVALID_CONFIRMATION_TOKEN");
  });

  it("registering an existing address answers the same and mails its owner", async () => {
    const { email } = await register();
    const fresh = await s.gql(REGISTER, { input: { email: uniqueEmail("other"), password: TEST_PASSWORD } });
    const seq = smtp.received.length;
    const again = await s.gql(REGISTER, { input: { email, password: TEST_PASSWORD } });
    expect(again.raw).toBe(fresh.raw);
    const notice = await smtp.waitFor((m) => m.seq > seq && m.envelope.to.includes(email));
    expect(notice.purpose).toBe("register-attempt-existing");
    expect(notice.text).not.toContain("#token=");
  });
});

describe("with requiredForLogin off", () => {
  let smtp: TestSmtpServer;
  let s: TestServer;
  beforeAll(async () => {
    ({ s, smtp } = await startMailTestServer({ confirmation: { requiredForLogin: false } }));
  });
  afterAll(() => closeMailTestServer(s, smtp));

  it("an unconfirmed user signs in, and a link issued before a password change is refused", async () => {
    const email = uniqueEmail("pwd");
    await s.gql(REGISTER, { input: { email, password: TEST_PASSWORD } });
    const token = await mailedToken(smtp, PURPOSE, email);
    const u = await loginTokens(s, email);
    const changed = await s.gql(CHANGE_PASSWORD, { input: { currentPassword: TEST_PASSWORD, newPassword: "another long password" } }, { token: u.accessToken });
    expect(changed.errors).toBeUndefined();
    expect(codeOf(await s.gql(CONFIRM, { token }))).toBe("INVALID_CONFIRMATION_TOKEN");
  });
});

describe("with confirmation off", () => {
  let smtp: TestSmtpServer;
  let s: TestServer;
  beforeAll(async () => {
    ({ s, smtp } = await startMailTestServer({ confirmation: { enabled: false } }));
  });
  afterAll(() => closeMailTestServer(s, smtp));

  it("registration sends a welcome mail, sign-in needs no confirmation, the mutations do not exist", async () => {
    const email = uniqueEmail("welcome");
    await s.gql(REGISTER, { input: { email, password: TEST_PASSWORD } });
    const mail = await smtp.waitFor((m) => m.envelope.to.includes(email));
    expect(mail.purpose).toBe("welcome");
    expect(mail.text).not.toContain("#token=");
    await loginTokens(s, email);
    expect(codeOf(await s.gql(CONFIRM, { token: "A".repeat(43) }))).toBe("GRAPHQL_VALIDATION_FAILED");
  });
});
