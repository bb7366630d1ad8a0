// Password recovery and username recovery end to end: real HTTP, real database, and the actual
// mail read from an SMTP server in the test process.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestSmtpServer } from "../support/smtp.js";
import { closeMailTestServer, mailOf, mailedToken, startMailTestServer, tokenOf } from "../support/mail-flow.js";
import { codeOf, LOGIN, ME, REGISTER, TEST_PASSWORD, loginCookie, loginTokens, registerUser, startTestServer, uniqueEmail, type TestServer } from "../support/server.js";

const REQUEST = /* GraphQL */ `mutation Req($email: String!) { requestPasswordReset(input: { email: $email }) { accepted message } }`;
const RESET = /* GraphQL */ `mutation Reset($token: String!, $password: String!) { resetPassword(input: { token: $token, password: $password }) { reset message } }`;
const RECOVER = /* GraphQL */ `mutation Rec($email: String!) { recoverUsername(input: { email: $email }) { accepted message } }`;
const REFRESH = /* GraphQL */ `mutation($t: String!) { refreshToken(input: { refreshToken: $t }) { accessToken refreshToken } }`;
const CHANGE_PASSWORD = /* GraphQL */ `mutation($input: ChangePasswordInput!) { changePassword(input: $input) { user { id } } }`;
const CONFIRM = /* GraphQL */ `mutation Confirm($token: String!) { confirmEmail(input: { token: $token }) { confirmed email } }`;

const NEW_PASSWORD = "a brand new passphrase";

describe("password recovery", () => {
  let smtp: TestSmtpServer;
  let s: TestServer;
  beforeAll(async () => {
    ({ s, smtp } = await startMailTestServer({ recovery: { sendPerAddress: 100 } }));
  });
  afterAll(() => closeMailTestServer(s, smtp));

  /** Asks for a reset link for `email` and returns its token (from the mail that arrived). */
  const requestLink = async (email: string): Promise<string> => {
    const seq = smtp.received.length;
    const r = await s.gql(REQUEST, { email });
    expect(r.errors).toBeUndefined();
    expect(r.data?.requestPasswordReset.accepted).toBe(true);
    return mailedToken(smtp, "reset-password", email, seq);
  };

  it("happy path: request, mail, link, reset; old password refused, new one works, every credential dead, notice mailed, no sign-in", async () => {
    const { email } = await registerUser(s);
    const device1 = await loginTokens(s, email);
    const device2 = await loginCookie(s, email);
    for (const opts of [{ token: device1.accessToken }, { cookie: device2.cookie }]) expect((await s.gql(ME, {}, opts)).data?.me.id).toBe(device1.id);
    expect((await s.running.app.users.findByEmailKey(email))?.confirmedAt).toBeNull();

    const seq = smtp.received.length;
    const req = await s.gql(REQUEST, { email });
    expect(req.data?.requestPasswordReset).toEqual({ accepted: true, message: expect.any(String) });
    const mail = await mailOf(smtp, "reset-password", email, seq);
    expect(mail.subject).toContain("Reset your");
    expect(mail.text).toContain("60 minutes");
    const token = tokenOf(mail, "reset-password");

    const seq2 = smtp.received.length;
    const r = await s.gql(RESET, { token, password: NEW_PASSWORD });
    expect(r.errors).toBeUndefined();
    expect(r.data?.resetPassword).toEqual({ reset: true, message: expect.any(String) });
    // no sign-in: no cookie, and the payload has no tokens to give
    expect(r.cookies).toEqual({});
    expect(r.raw).not.toMatch(/accessToken|refreshToken|eyJ/);

    // every credential of the user is dead on the very next request
    for (const opts of [{ token: device1.accessToken }, { cookie: device2.cookie }]) expect(codeOf(await s.gql(ME, {}, opts))).toBe("UNAUTHENTICATED");
    expect(codeOf(await s.gql(REFRESH, { t: device1.refreshToken }))).toBe("REFRESH_TOKEN_INVALID");
    // only the new password works
    expect(codeOf(await s.gql(LOGIN, { input: { identity: email, password: TEST_PASSWORD } }))).toBe("GENERIC_AUTHN_FAILED");
    const after = await loginTokens(s, email, NEW_PASSWORD);
    expect(after.id).toBe(device1.id);
    // the email counts as confirmed now (the link proved control of the mailbox)
    expect((await s.gql(`{ me { confirmedAt } }`, {}, { token: after.accessToken })).data?.me.confirmedAt).toEqual(expect.any(String));

    const notice = await mailOf(smtp, "password-reset-notice", email, seq2);
    expect(notice.subject).toContain("password was changed");
    expect(notice.text).not.toContain("#token=");
  });

  it("a link works once", async () => {
    const { email } = await registerUser(s);
    const token = await requestLink(email);
    expect((await s.gql(RESET, { token, password: NEW_PASSWORD })).data?.resetPassword.reset).toBe(true);
    expect(codeOf(await s.gql(RESET, { token, password: "yet another passphrase" }))).toBe("INVALID_RESET_PASSWORD_TOKEN");
    await loginTokens(s, email, NEW_PASSWORD);
  });

  it("a tampered or malformed token is refused and leaves the real one usable", async () => {
    const { email } = await registerUser(s);
    const token = await requestLink(email);
    const flipped = token.slice(0, 10) + (token[10] === "A" ? "B" : "A") + token.slice(11);
    for (const bad of [flipped, token.slice(0, -1), `${token}A`, "", "x".repeat(43), `${token}.${token}`, token.toUpperCase()]) {
      if (bad === token) continue;
      expect(codeOf(await s.gql(RESET, { token: bad, password: NEW_PASSWORD })), bad).toBe("INVALID_RESET_PASSWORD_TOKEN");
    }
    expect((await s.gql(RESET, { token, password: NEW_PASSWORD })).data?.resetPassword.reset).toBe(true);
    // the password really did not change on the refused attempts before: only now is it new
    await loginTokens(s, email, NEW_PASSWORD);
  });

  it("a token far too long is refused as input, not looked up", async () => {
    const r = await s.gql(RESET, { token: "A".repeat(5000), password: NEW_PASSWORD });
    expect(codeOf(r)).toBe("BAD_USER_INPUT");
    expect(r.errors?.[0]?.extensions?.fieldErrors).toEqual([expect.objectContaining({ field: "token", code: "TOO_LONG" })]);
  });

  it("a newer link replaces the older one", async () => {
    const { email } = await registerUser(s);
    const older = await requestLink(email);
    const newer = await requestLink(email);
    expect(newer).not.toBe(older);
    expect(codeOf(await s.gql(RESET, { token: older, password: NEW_PASSWORD }))).toBe("INVALID_RESET_PASSWORD_TOKEN");
    expect((await s.gql(RESET, { token: newer, password: NEW_PASSWORD })).data?.resetPassword.reset).toBe(true);
  });

  it("a link issued before a password change is refused", async () => {
    const { email } = await registerUser(s);
    const token = await requestLink(email);
    const u = await loginTokens(s, email);
    const changed = await s.gql(CHANGE_PASSWORD, { input: { currentPassword: TEST_PASSWORD, newPassword: "changed meanwhile!" } }, { token: u.accessToken });
    expect(changed.errors).toBeUndefined();
    expect(codeOf(await s.gql(RESET, { token, password: NEW_PASSWORD }))).toBe("INVALID_RESET_PASSWORD_TOKEN");
    await loginTokens(s, email, "changed meanwhile!");
  });

  it("a link issued before an email change is refused", async () => {
    const { email } = await registerUser(s);
    const token = await requestLink(email);
    // As changeEmail does it: a new address (and emailKey) on the user.
    const moved = uniqueEmail("moved");
    await s.running.app.models.User.updateOne({ emailKey: email }, { $set: { email: moved, emailKey: moved } });
    expect(codeOf(await s.gql(RESET, { token, password: NEW_PASSWORD }))).toBe("INVALID_RESET_PASSWORD_TOKEN");
  });

  it("a confirmation token is refused as a reset token, and a reset token as a confirmation token", async () => {
    const email = uniqueEmail("conf");
    const seq = smtp.received.length;
    await s.gql(REGISTER, { input: { email, password: TEST_PASSWORD } });
    const confirmToken = await mailedToken(smtp, "confirm-email", email, seq);
    expect(codeOf(await s.gql(RESET, { token: confirmToken, password: NEW_PASSWORD }))).toBe("INVALID_RESET_PASSWORD_TOKEN");
    const resetToken = await requestLink(email);
    expect(codeOf(await s.gql(CONFIRM, { token: resetToken }))).toBe("INVALID_CONFIRMATION_TOKEN");
    // neither was spent by the wrong use, nor did one replace the other
    expect((await s.gql(CONFIRM, { token: confirmToken })).data?.confirmEmail.email).toBe(email);
    expect((await s.gql(RESET, { token: resetToken, password: NEW_PASSWORD })).data?.resetPassword.reset).toBe(true);
    await loginTokens(s, email, NEW_PASSWORD);
  });

  it("a refused new password does not burn the link", async () => {
    const { email } = await registerUser(s);
    const token = await requestLink(email);
    for (const password of ["short", "", `bad\u0000character password`]) {
      const r = await s.gql(RESET, { token, password });
      expect(codeOf(r), password).toBe("BAD_USER_INPUT");
      expect(r.errors?.[0]?.extensions?.fieldErrors).toEqual([expect.objectContaining({ field: "password" })]);
    }
    const short = await s.gql(RESET, { token, password: "short" });
    expect(short.errors?.[0]?.extensions?.fieldErrors).toEqual([expect.objectContaining({ field: "password", code: "PASSWORD_INVALID_LENGTH" })]);
    await loginTokens(s, email); // nothing changed
    expect((await s.gql(RESET, { token, password: NEW_PASSWORD })).data?.resetPassword.reset).toBe(true);
    await loginTokens(s, email, NEW_PASSWORD);
  });

  it("a link of an account deactivated since is refused with DISABLED_ACCOUNT, and the password stays", async () => {
    const { email } = await registerUser(s);
    const token = await requestLink(email);
    const user = await s.running.app.users.findByEmailKey(email);
    await s.running.app.users.setActive(user!._id, false);
    expect(codeOf(await s.gql(RESET, { token, password: NEW_PASSWORD }))).toBe("DISABLED_ACCOUNT");
    await s.running.app.users.setActive(user!._id, true);
    await loginTokens(s, email); // the old password still works
  });
});

describe("username recovery", () => {
  let smtp: TestSmtpServer;
  let s: TestServer;
  beforeAll(async () => {
    ({ s, smtp } = await startMailTestServer());
  });
  afterAll(() => closeMailTestServer(s, smtp));

  it("mails the username of an account that has one, and it signs in", async () => {
    const username = `Rec${Date.now().toString(36)}`;
    const { email } = await registerUser(s, { username });
    const seq = smtp.received.length;
    const r = await s.gql(RECOVER, { email: email.toUpperCase() });
    expect(r.data?.recoverUsername).toEqual({ accepted: true, message: expect.any(String) });
    const mail = await mailOf(smtp, "recover-username", email, seq);
    expect(mail.text).toContain(username);
    expect(mail.html).toContain(username);
    expect(mail.text).not.toContain("#token=");
    expect((await loginTokens(s, username)).email).toBe(email);
  });

  it("sends nothing to an account without a username, with the same answer", async () => {
    const withName = await registerUser(s, { username: `Has${Date.now().toString(36)}` });
    const { email } = await registerUser(s);
    const reference = await s.gql(RECOVER, { email: withName.email });
    const seq = smtp.received.length;
    const r = await s.gql(RECOVER, { email });
    expect(r.raw).toBe(reference.raw);
    await new Promise((res) => setTimeout(res, 300)); // room for a (wrong) mail
    // (registration's confirmation mail may arrive meanwhile; it is not ours)
    expect(smtp.received.filter((m) => m.seq > seq && m.purpose === "recover-username" && m.envelope.to.includes(email))).toEqual([]);
  });
});

describe("with confirmation off", () => {
  let smtp: TestSmtpServer;
  let s: TestServer;
  beforeAll(async () => {
    ({ s, smtp } = await startMailTestServer({ confirmation: { enabled: false } }));
  });
  afterAll(() => closeMailTestServer(s, smtp));

  it("recovery still works (MailAccepted does not depend on the confirmation SDL)", async () => {
    const { email } = await registerUser(s);
    const seq = smtp.received.length;
    expect((await s.gql(REQUEST, { email })).data?.requestPasswordReset.accepted).toBe(true);
    const token = await mailedToken(smtp, "reset-password", email, seq);
    expect((await s.gql(RESET, { token, password: NEW_PASSWORD })).data?.resetPassword.reset).toBe(true);
    await loginTokens(s, email, NEW_PASSWORD);
  });
});

describe("with recovery off", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ recovery: { enabled: false } });
  });
  afterAll(() => s?.close());

  it("the mutations do not exist", async () => {
    expect(codeOf(await s.gql(REQUEST, { email: uniqueEmail() }))).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(codeOf(await s.gql(RESET, { token: "A".repeat(43), password: NEW_PASSWORD }))).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(codeOf(await s.gql(RECOVER, { email: uniqueEmail() }))).toBe("GRAPHQL_VALIDATION_FAILED");
  });
});
