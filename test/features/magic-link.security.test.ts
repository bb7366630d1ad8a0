// Security of magic sign-in links: the same answer for every kind of address, nothing mailed where
// there is no active account, hashes at rest, one winner in parallel, throttling, config-only links.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../src/core/crypto.js";
import type { ReceivedMail, TestSmtpServer } from "../support/smtp.js";
import { closeMailTestServer, mailDespiteForgedHost, mailOf, mailedToken, startMailTestServer, tokenOf } from "../support/mail-flow.js";
import { codeOf, registerConfirmedUser, registerUser, uniqueEmail, type TestServer } from "../support/server.js";

const REQUEST = /* GraphQL */ `mutation Req($email: String!) { requestSignInLink(input: { email: $email }) { accepted message } }`;
const SIGN_IN = /* GraphQL */ `mutation In($token: String!) { signInWithLink(input: { token: $token, delivery: TOKENS }) { __typename ... on SignedIn { session { id } } } }`;
const PURPOSE = "sign-in-link";

describe("magic-link security", () => {
  let smtp: TestSmtpServer;
  let s: TestServer;
  beforeAll(async () => {
    ({ s, smtp } = await startMailTestServer({ magicLink: { sendPerAddress: 3, sendPerClient: 1000 } }));
  });
  afterAll(() => closeMailTestServer(s, smtp));

  it("unknown, deactivated, unconfirmed and active addresses get byte-identical answers; only the confirmed active one gets mail", async () => {
    const active = (await registerConfirmedUser(s)).email;
    const inactive = (await registerConfirmedUser(s)).email;
    await s.running.app.users.setActive((await s.running.app.users.findByEmailKey(inactive))!._id, false);
    // An account someone else registered to this address (password of their choosing): a link
    // would let the owner sign in to it and so confirm an account the registrant can use too.
    const unconfirmed = (await registerUser(s)).email;
    const unknown = uniqueEmail("nobody");
    const seq = smtp.received.length;
    const answers = await Promise.all([active, inactive, unconfirmed, unknown].map(async (email) => (await s.gql(REQUEST, { email })).raw));
    expect(new Set(answers).size).toBe(1);
    await mailOf(smtp, PURPOSE, active, seq);
    await new Promise((r) => setTimeout(r, 300)); // mail goes out in the background: give strays time
    const stray = smtp.received.filter((m: ReceivedMail) => m.seq > seq && m.purpose === PURPOSE && [inactive, unconfirmed, unknown].some((e) => m.envelope.to.includes(e)));
    expect(stray).toEqual([]);
  });

  it("only the SHA-256 of the token is stored", async () => {
    const { email } = await registerConfirmedUser(s);
    const seq = smtp.received.length;
    await s.gql(REQUEST, { email });
    const token = await mailedToken(smtp, PURPOSE, email, seq);
    const docs = await s.running.app.models.LinkToken.find({ purpose: "sign-in" }).lean();
    expect(docs.some((d) => d._id === sha256(token))).toBe(true);
    expect(JSON.stringify(docs)).not.toContain(token);
  });

  it("used in parallel, a link signs in exactly once", async () => {
    const { email } = await registerConfirmedUser(s);
    const seq = smtp.received.length;
    await s.gql(REQUEST, { email });
    const token = await mailedToken(smtp, PURPOSE, email, seq);
    const results = await Promise.all(Array.from({ length: 8 }, () => s.gql(SIGN_IN, { token })));
    expect(results.filter((r) => r.data?.signInWithLink?.__typename === "SignedIn")).toHaveLength(1);
    expect(results.filter((r) => codeOf(r) === "INVALID_SIGN_IN_LINK")).toHaveLength(7);
  });

  it("aliases in one document count against the same budget (no mail bombing); unknown addresses too", async () => {
    for (const email of [(await registerConfirmedUser(s)).email, uniqueEmail("ghost")]) {
      const aliased = `mutation($e: String!) { ${[1, 2, 3, 4].map((i) => `a${i}: requestSignInLink(input: { email: $e }) { accepted }`).join(" ")} }`;
      const r = await s.gql(aliased, { e: email });
      expect(codeOf(r)).toBe("RATE_LIMITED");
      expect(codeOf(await s.gql(REQUEST, { email }))).toBe("RATE_LIMITED");
    }
  });

  it("a Host header set by the client never appears in the link", async () => {
    const { email } = await registerConfirmedUser(s);
    const mail = await mailDespiteForgedHost(s, smtp, { query: REQUEST, variables: { email } }, { purpose: PURPOSE, to: email });
    tokenOf(mail, PURPOSE);
  });
});
