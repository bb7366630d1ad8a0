// Magic sign-in links end to end: real HTTP, real database, the link read from the actual mail.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.js";
import type { TestSmtpServer } from "../support/smtp.js";
import { closeMailTestServer, mailOf, mailedToken, startMailTestServer, tokenOf } from "../support/mail-flow.js";
import { codeOf, ME, loginTokens, registerConfirmedUser, startTestServer, uniqueEmail, type TestServer } from "../support/server.js";

const REQUEST = /* GraphQL */ `mutation Req($email: String!) { requestSignInLink(input: { email: $email }) { accepted message } }`;
const SIGN_IN = /* GraphQL */ `mutation In($token: String!, $delivery: SessionDelivery) {
  signInWithLink(input: { token: $token, delivery: $delivery }) {
    __typename
    ... on SignedIn { user { id email confirmedAt } session { methods } tokens { accessToken refreshToken } }
    ... on SecondFactorRequired { flowId methods }
  }
}`;
const CHANGE_PASSWORD = /* GraphQL */ `mutation($input: ChangePasswordInput!) { changePassword(input: $input) { user { id } } }`;
const PURPOSE = "sign-in-link";

describe("magic sign-in links", () => {
  let smtp: TestSmtpServer;
  let s: TestServer;
  const clock = new ManualClock();
  beforeAll(async () => {
    ({ s, smtp } = await startMailTestServer({ magicLink: { sendPerAddress: 100 } }, clock));
  });
  afterAll(() => closeMailTestServer(s, smtp));

  const requestLink = async (email: string): Promise<string> => {
    const seq = smtp.received.length;
    const r = await s.gql(REQUEST, { email });
    expect(r.errors).toBeUndefined();
    expect(r.data?.requestSignInLink.accepted).toBe(true);
    return mailedToken(smtp, PURPOSE, email, seq);
  };

  it("happy path: request, mail, sign in with tokens; the session records the method", async () => {
    const { email } = await registerConfirmedUser(s);
    const seq = smtp.received.length;
    expect((await s.gql(REQUEST, { email })).data?.requestSignInLink).toEqual({ accepted: true, message: expect.any(String) });
    const mail = await mailOf(smtp, PURPOSE, email, seq);
    expect(mail.subject).toContain("sign-in link");
    expect(mail.text).toContain("10 minutes");
    const token = tokenOf(mail, PURPOSE);

    const r = await s.gql(SIGN_IN, { token, delivery: "TOKENS" });
    expect(r.errors).toBeUndefined();
    const signed = r.data?.signInWithLink;
    expect(signed.__typename).toBe("SignedIn");
    expect(signed.user.email).toBe(email);
    expect(signed.session.methods).toEqual(["mail"]);
    expect((await s.gql(ME, {}, { token: signed.tokens.accessToken })).data?.me.email).toBe(email);
  });

  it("cookie delivery sets the session cookie", async () => {
    const { email } = await registerConfirmedUser(s);
    const r = await s.gql(SIGN_IN, { token: await requestLink(email) });
    expect(r.data?.signInWithLink.__typename).toBe("SignedIn");
    const cookie = r.cookies[s.config.sessions.cookieName];
    expect(cookie).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect((await s.gql(ME, {}, { cookie })).data?.me.email).toBe(email);
  });

  it("a link works once", async () => {
    const { email } = await registerConfirmedUser(s);
    const token = await requestLink(email);
    expect((await s.gql(SIGN_IN, { token })).data?.signInWithLink.__typename).toBe("SignedIn");
    expect(codeOf(await s.gql(SIGN_IN, { token }))).toBe("INVALID_SIGN_IN_LINK");
  });

  it("a newer link replaces the older one", async () => {
    const { email } = await registerConfirmedUser(s);
    const first = await requestLink(email);
    const second = await requestLink(email);
    expect(codeOf(await s.gql(SIGN_IN, { token: first }))).toBe("INVALID_SIGN_IN_LINK");
    expect((await s.gql(SIGN_IN, { token: second })).data?.signInWithLink.__typename).toBe("SignedIn");
  });

  it("expires after magicLink.tokenTtlSeconds (10 minutes by default)", async () => {
    expect(s.config.magicLink.tokenTtlSeconds).toBe(600);
    const { email } = await registerConfirmedUser(s);
    const token = await requestLink(email);
    clock.advance(601_000);
    expect(codeOf(await s.gql(SIGN_IN, { token }))).toBe("SIGN_IN_LINK_EXPIRED");
    // and an expired link stays dead after a newer one works
    const fresh = await requestLink(email);
    expect((await s.gql(SIGN_IN, { token: fresh })).data?.signInWithLink.__typename).toBe("SignedIn");
  });

  it("a link issued before a password change is dead", async () => {
    const { email, password } = await registerConfirmedUser(s);
    const token = await requestLink(email);
    const me = await loginTokens(s, email);
    const changed = await s.gql(CHANGE_PASSWORD, { input: { currentPassword: password, newPassword: "another long passphrase" } }, { token: me.accessToken });
    expect(changed.errors).toBeUndefined();
    expect(codeOf(await s.gql(SIGN_IN, { token }))).toBe("INVALID_SIGN_IN_LINK");
  });

  it("a user deactivated after the link was mailed is told so (the link holder proved the mailbox)", async () => {
    const { email } = await registerConfirmedUser(s);
    const token = await requestLink(email);
    const user = await s.running.app.users.findByEmailKey(email);
    await s.running.app.users.setActive(user!._id, false);
    expect(codeOf(await s.gql(SIGN_IN, { token }))).toBe("DISABLED_ACCOUNT");
  });

  it("tampered, malformed, empty and oversized tokens are refused and leave the real link usable", async () => {
    const { email } = await registerConfirmedUser(s);
    const token = await requestLink(email);
    const flipped = (token[0] === "A" ? "B" : "A") + token.slice(1);
    for (const bad of [flipped, token.slice(1), `${token}A`, "", "x".repeat(201), '{"$ne":null}'])
      expect(codeOf(await s.gql(SIGN_IN, { token: bad }))).toMatch(/^(INVALID_SIGN_IN_LINK|BAD_USER_INPUT)$/);
    expect(codeOf(await s.gql(SIGN_IN, { token: "x".repeat(201) }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await s.gql(SIGN_IN, { token: { $ne: null } }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await s.gql(SIGN_IN, { token: 12345 }))).toBe("BAD_USER_INPUT");
    expect((await s.gql(SIGN_IN, { token })).data?.signInWithLink.__typename).toBe("SignedIn");
  });

  it("bad addresses get field errors; no mail", async () => {
    for (const email of ["", "not-an-address", "a@b", "x".repeat(400) + "@example.com"]) {
      expect(codeOf(await s.gql(REQUEST, { email }))).toBe("BAD_USER_INPUT");
    }
    expect(codeOf(await s.gql(REQUEST, { email: { $ne: null } }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await s.gql(REQUEST, { email: ["a@example.com"] }))).toBe("BAD_USER_INPUT");
  });
});

describe("magic sign-in links: switch", () => {
  it("magicLink.enabled=false removes both operations", async () => {
    const s = await startTestServer({ magicLink: { enabled: false } });
    try {
      const r = await s.gql(REQUEST, { email: uniqueEmail() });
      expect(codeOf(r)).toBe("GRAPHQL_VALIDATION_FAILED");
    } finally {
      await s.close();
    }
  });
});
