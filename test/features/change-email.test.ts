// Change email end to end: real HTTP, real database, and the actual mail read from an SMTP server in
// the test process (the link to the new address, the notices to the old one).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestSmtpServer } from "../support/smtp.js";
import { closeMailTestServer, mailOf, mailedToken, startMailTestServer, tokenOf } from "../support/mail-flow.js";
import { codeOf, fieldErrors, LOGIN, ME, REGISTER, TEST_PASSWORD, loginTokens, newUser, registerUser, startTestServer, uniqueEmail, type TestServer } from "../support/server.js";

const CHANGE = /* GraphQL */ `mutation Change($newEmail: String!) { changeEmail(input: { newEmail: $newEmail }) { accepted message } }`;
const CONFIRM = /* GraphQL */ `mutation ConfirmChange($token: String!) { confirmChangeEmail(input: { token: $token }) { email } }`;
const CONFIRM_EMAIL = /* GraphQL */ `mutation Confirm($token: String!) { confirmEmail(input: { token: $token }) { confirmed email } }`;
const CHANGE_PASSWORD = /* GraphQL */ `mutation($input: ChangePasswordInput!) { changePassword(input: $input) { user { id } } }`;
const VERIFY = /* GraphQL */ `mutation($password: String!) { verifyPassword(input: { password: $password }) { __typename } }`;

describe("change email", () => {
  let smtp: TestSmtpServer;
  let s: TestServer;
  beforeAll(async () => {
    ({ s, smtp } = await startMailTestServer());
  });
  afterAll(() => closeMailTestServer(s, smtp));

  /** A signed-in user asks to move to a new address; returns the link's token. */
  const requestChange = async (u: { accessToken: string }, newEmail = uniqueEmail("new")) => {
    const seq = smtp.received.length;
    const r = await s.gql(CHANGE, { newEmail }, { token: u.accessToken });
    expect(r.errors).toBeUndefined();
    expect(r.data?.changeEmail.accepted).toBe(true);
    return { newEmail, token: await mailedToken(smtp, "confirm-change-email", newEmail, seq), seq };
  };

  it("happy path: link to the new address, notice to the old one; after confirming, only the new address signs in", async () => {
    const u = await newUser(s);
    const newEmail = uniqueEmail("Moved").replace("@example.com", "@Example.COM");
    const seq = smtp.received.length;
    const r = await s.gql(CHANGE, { newEmail }, { token: u.accessToken });
    expect(r.errors).toBeUndefined();
    expect(r.data?.changeEmail).toEqual({ accepted: true, message: expect.any(String) });

    const normalized = newEmail.replace("@Example.COM", "@example.com");
    const linkMail = await mailOf(smtp, "confirm-change-email", normalized, seq);
    expect(linkMail.subject).toContain("Confirm your new email address");
    const token = tokenOf(linkMail, "confirm-change-email");
    const notice = await mailOf(smtp, "change-email-requested", u.email, seq);
    expect(notice.text).toContain(normalized);
    expect(notice.raw).not.toContain("#token=");
    expect(notice.raw).not.toContain(token);

    // nothing has changed yet
    expect((await s.gql(ME, {}, { token: u.accessToken })).data?.me.email).toBe(u.email);
    expect(codeOf(await s.gql(LOGIN, { input: { identity: normalized, password: TEST_PASSWORD } }))).toBe("GENERIC_AUTHN_FAILED");

    // the click may come from another device: no credentials
    const seq2 = smtp.received.length;
    const ok = await s.gql(CONFIRM, { token });
    expect(ok.errors).toBeUndefined();
    expect(ok.data?.confirmChangeEmail).toEqual({ email: normalized });

    // the same session goes on (nothing rotated) and sees the new address, confirmed
    const me = await s.gql(`{ me { id email confirmedAt } }`, {}, { token: u.accessToken });
    expect(me.data?.me).toMatchObject({ id: u.id, email: normalized });
    expect(typeof me.data?.me.confirmedAt).toBe("string");
    // the new address signs in (any case), the old one no longer does
    expect((await loginTokens(s, newEmail.toUpperCase().replace("@EXAMPLE.COM", "@example.com"))).id).toBe(u.id);
    expect((await loginTokens(s, normalized)).id).toBe(u.id);
    expect(codeOf(await s.gql(LOGIN, { input: { identity: u.email, password: TEST_PASSWORD } }))).toBe("GENERIC_AUTHN_FAILED");
    // and the old address is told that the change was made
    const done = await mailOf(smtp, "email-changed", u.email, seq2);
    expect(done.text).toContain(normalized);
    expect(await s.running.app.models.User.countDocuments({ emailKey: u.email })).toBe(0);
  });

  it("is not offered to anonymous callers", async () => {
    expect(codeOf(await s.gql(CHANGE, { newEmail: uniqueEmail("anon") }))).toBe("UNAUTHENTICATED");
  });

  it("refuses an invalid address, the current address (any case) and an empty one with field errors, and sends nothing", async () => {
    const u = await newUser(s);
    const seq = smtp.received.length;
    const cases: Array<[string, string]> = [
      ["not an email", "INVALID_EMAIL_ADDRESS"],
      ["a@b", "INVALID_EMAIL_ADDRESS"],
      [`${"x".repeat(250)}@example.com`, "INVALID_EMAIL_ADDRESS"],
      ["x".repeat(400), "TOO_LONG"],
      ["", "REQUIRED"],
      [u.email, "EMAIL_IS_THE_SAME"],
      [` ${u.email.toUpperCase()} `, "EMAIL_IS_THE_SAME"],
    ];
    for (const [newEmail, code] of cases) {
      const r = await s.gql(CHANGE, { newEmail }, { token: u.accessToken });
      expect(codeOf(r), newEmail).toBe("BAD_USER_INPUT");
      expect(fieldErrors(r), newEmail).toEqual([expect.objectContaining({ field: "newEmail", code })]);
    }
    await new Promise((r) => setTimeout(r, 300)); // room for a (wrong) mail
    expect(smtp.received.filter((m) => m.seq > seq && m.purpose !== "confirm-email").map((m) => m.purpose)).toEqual([]); // (registration's own mail may arrive late)
  });

  it("a link works once", async () => {
    const u = await newUser(s);
    const { newEmail, token } = await requestChange(u);
    expect((await s.gql(CONFIRM, { token })).data?.confirmChangeEmail.email).toBe(newEmail);
    expect(codeOf(await s.gql(CONFIRM, { token }))).toBe("INVALID_CHANGE_EMAIL_TOKEN");
  });

  it("a tampered or malformed token is refused and leaves the real one usable", async () => {
    const u = await newUser(s);
    const { newEmail, token } = await requestChange(u);
    const flipped = token.slice(0, 10) + (token[10] === "A" ? "B" : "A") + token.slice(11);
    for (const bad of [flipped, token.slice(0, -1), `${token}A`, "", "x".repeat(43), `${token}.${token}`]) {
      expect(codeOf(await s.gql(CONFIRM, { token: bad })), bad).toBe("INVALID_CHANGE_EMAIL_TOKEN");
    }
    const long = await s.gql(CONFIRM, { token: "A".repeat(300) });
    expect(codeOf(long)).toBe("BAD_USER_INPUT");
    expect((await s.gql(CONFIRM, { token })).data?.confirmChangeEmail.email).toBe(newEmail);
  });

  it("a newer request kills the older link", async () => {
    const u = await newUser(s);
    const older = await requestChange(u);
    const newer = await requestChange(u);
    expect(codeOf(await s.gql(CONFIRM, { token: older.token }))).toBe("INVALID_CHANGE_EMAIL_TOKEN");
    expect((await s.gql(CONFIRM, { token: newer.token })).data?.confirmChangeEmail.email).toBe(newer.newEmail);
  });

  it("the address taken between request and confirmation: EMAIL_ALREADY_ASSOCIATED and nothing changes", async () => {
    const u = await newUser(s);
    const { newEmail, token } = await requestChange(u);
    await registerUser(s, { email: newEmail }); // someone else takes it meanwhile
    const other = await s.running.app.users.findByEmailKey(newEmail);
    const r = await s.gql(CONFIRM, { token });
    expect(codeOf(r)).toBe("EMAIL_ALREADY_ASSOCIATED");
    expect(r.data).toBeNull();
    expect((await s.gql(ME, {}, { token: u.accessToken })).data?.me.email).toBe(u.email);
    expect((await loginTokens(s, u.email)).id).toBe(u.id);
    expect(String((await s.running.app.users.findByEmailKey(newEmail))?._id)).toBe(String(other?._id));
    expect(await s.running.app.models.User.countDocuments({ emailKey: newEmail })).toBe(1);
  });

  it("asking for a taken address answers exactly as for a free one; its owner gets a notice, not a link", async () => {
    const u = await newUser(s);
    const taken = (await registerUser(s)).email;
    const freeEmail = uniqueEmail("free");
    const seq0 = smtp.received.length;
    const free = await s.gql(CHANGE, { newEmail: freeEmail }, { token: u.accessToken });
    await mailOf(smtp, "confirm-change-email", freeEmail, seq0);
    await mailOf(smtp, "change-email-requested", u.email, seq0);
    const seq = smtp.received.length;
    const r = await s.gql(CHANGE, { newEmail: taken }, { token: u.accessToken });
    expect(r.status).toBe(free.status);
    expect(r.raw).toBe(free.raw);
    const notice = await mailOf(smtp, "change-email-taken", taken, seq);
    expect(notice.raw).not.toContain("#token=");
    // the requester's own address is told in both cases
    await mailOf(smtp, "change-email-requested", u.email, seq);
    await new Promise((res) => setTimeout(res, 300));
    expect(smtp.received.filter((m) => m.seq > seq && m.purpose === "confirm-change-email").map((m) => m.envelope.to)).toEqual([]);
    // nothing changed for either account
    expect(await s.running.app.models.User.countDocuments({ emailKey: taken })).toBe(1);
    expect((await s.gql(ME, {}, { token: u.accessToken })).data?.me.email).toBe(u.email);
  });

  it("a taken address also kills the older link, as a free one does (no oracle through an older link)", async () => {
    const u = await newUser(s);
    const older = await requestChange(u);
    const taken = (await registerUser(s)).email;
    expect((await s.gql(CHANGE, { newEmail: taken }, { token: u.accessToken })).errors).toBeUndefined();
    expect(codeOf(await s.gql(CONFIRM, { token: older.token }))).toBe("INVALID_CHANGE_EMAIL_TOKEN");
  });

  it("confirmation and reset tokens are refused here, and a change-email token is refused by confirmEmail", async () => {
    const email = uniqueEmail("purpose");
    const seq = smtp.received.length;
    await s.gql(REGISTER, { input: { email, password: TEST_PASSWORD } });
    const confirmToken = await mailedToken(smtp, "confirm-email", email, seq);
    const u = await loginTokens(s, email);
    const user = await s.running.app.users.findByEmailKey(email);
    expect(codeOf(await s.gql(CONFIRM, { token: confirmToken }))).toBe("INVALID_CHANGE_EMAIL_TOKEN");
    const reset = await s.running.app.links.issue("reset-password", user!, 3600);
    expect(codeOf(await s.gql(CONFIRM, { token: reset }))).toBe("INVALID_CHANGE_EMAIL_TOKEN");

    const { newEmail, token } = await requestChange(u);
    expect(codeOf(await s.gql(CONFIRM_EMAIL, { token }))).toBe("INVALID_CONFIRMATION_TOKEN");
    // none of them was spent by the wrong mutation
    expect((await s.gql(CONFIRM_EMAIL, { token: confirmToken })).data?.confirmEmail.email).toBe(email);
    expect((await s.gql(CONFIRM, { token })).data?.confirmChangeEmail.email).toBe(newEmail);
  });

  it("a link issued before a password change is dead; links bound to the old address die with the change", async () => {
    const u = await newUser(s);
    const { token } = await requestChange(u);
    const changed = await s.gql(CHANGE_PASSWORD, { input: { currentPassword: TEST_PASSWORD, newPassword: "another long password" } }, { token: u.accessToken });
    expect(changed.errors).toBeUndefined();
    expect(codeOf(await s.gql(CONFIRM, { token }))).toBe("INVALID_CHANGE_EMAIL_TOKEN");

    // A confirmation link sent to the old address dies once the address changes.
    const email = uniqueEmail("old");
    const seq = smtp.received.length;
    await s.gql(REGISTER, { input: { email, password: TEST_PASSWORD } });
    const confirmToken = await mailedToken(smtp, "confirm-email", email, seq);
    const v = await loginTokens(s, email);
    const moved = await requestChange(v);
    expect((await s.gql(CONFIRM, { token: moved.token })).errors).toBeUndefined();
    expect(codeOf(await s.gql(CONFIRM_EMAIL, { token: confirmToken }))).toBe("INVALID_CONFIRMATION_TOKEN");
  });

  it("an inactive user's link is refused", async () => {
    const u = await newUser(s);
    const { token } = await requestChange(u);
    await s.running.app.users.setActive(u.id, false);
    expect(codeOf(await s.gql(CONFIRM, { token }))).toBe("INVALID_CHANGE_EMAIL_TOKEN");
    expect((await s.running.app.users.findById(u.id))?.email).toBe(u.email);
  });
});

describe("change email with a short freshness window", () => {
  let smtp: TestSmtpServer;
  let s: TestServer;
  beforeAll(async () => {
    ({ s, smtp } = await startMailTestServer({ freshness: { maxAgeSeconds: 1, graceSeconds: 0 } }));
  });
  afterAll(() => closeMailTestServer(s, smtp));

  it("a stale session gets REAUTH_REQUIRED and sends nothing; after verifyPassword it works", async () => {
    const u = await newUser(s);
    await new Promise((r) => setTimeout(r, 2_100));
    const newEmail = uniqueEmail("stale");
    const seq = smtp.received.length;
    const r = await s.gql(CHANGE, { newEmail }, { token: u.accessToken });
    expect(codeOf(r)).toBe("REAUTH_REQUIRED");
    expect(r.errors?.[0]?.extensions?.maxAgeSeconds).toBe(1);
    await new Promise((res) => setTimeout(res, 300));
    expect(smtp.received.filter((m) => m.seq > seq && m.purpose !== "confirm-email").map((m) => m.purpose)).toEqual([]);

    expect((await s.gql(VERIFY, { password: TEST_PASSWORD }, { token: u.accessToken })).errors).toBeUndefined();
    const again = await s.gql(CHANGE, { newEmail }, { token: u.accessToken });
    expect(again.errors).toBeUndefined();
    await mailOf(smtp, "confirm-change-email", newEmail, seq);
  });
});

describe("change email with generic responses off", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ genericResponses: false });
  });
  afterAll(() => s?.close());

  it("a taken address is refused with EMAIL_ALREADY_ASSOCIATED on newEmail", async () => {
    const u = await newUser(s);
    const taken = (await registerUser(s)).email;
    const r = await s.gql(CHANGE, { newEmail: taken }, { token: u.accessToken });
    expect(codeOf(r)).toBe("EMAIL_ALREADY_ASSOCIATED");
    expect(fieldErrors(r)).toEqual([expect.objectContaining({ field: "newEmail", code: "EMAIL_ALREADY_ASSOCIATED" })]);
    expect((await s.gql(CHANGE, { newEmail: uniqueEmail("free") }, { token: u.accessToken })).errors).toBeUndefined();
  });
});
