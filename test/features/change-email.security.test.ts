// Security properties of change email: expiry, one winner under parallel use of one link and under
// two users racing for one address (the unique index decides), only the token's hash at rest,
// throttling per user and per new address, and links built from config only.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.js";
import { sha256 } from "../../src/core/crypto.js";
import type { TestSmtpServer } from "../support/smtp.js";
import { closeMailTestServer, mailDespiteForgedHost, mailedToken, startMailTestServer, tokenOf } from "../support/mail-flow.js";
import { codeOf, ME, newUser, uniqueEmail, type TestServer } from "../support/server.js";

const CHANGE = /* GraphQL */ `mutation Change($newEmail: String!) { changeEmail(input: { newEmail: $newEmail }) { accepted message } }`;
const CONFIRM = /* GraphQL */ `mutation ConfirmChange($token: String!) { confirmChangeEmail(input: { token: $token }) { email } }`;
const PURPOSE = "confirm-change-email";

describe("change email security", () => {
  let smtp: TestSmtpServer;
  let s: TestServer;
  const clock = new ManualClock();
  beforeAll(async () => {
    ({ s, smtp } = await startMailTestServer({ changeEmail: { requestsPerUser: 3 } }, clock));
  });
  afterAll(() => closeMailTestServer(s, smtp));

  const requestChange = async (u: { accessToken: string }, newEmail = uniqueEmail("new")) => {
    const seq = smtp.received.length;
    const r = await s.gql(CHANGE, { newEmail }, { token: u.accessToken });
    expect(r.errors).toBeUndefined();
    return { newEmail, token: await mailedToken(smtp, PURPOSE, newEmail, seq) };
  };

  it("the default lifetime is 2 hours", () => {
    expect(s.config.changeEmail.tokenTtlSeconds).toBe(7200);
  });

  it("an expired link is refused with CHANGE_EMAIL_EXPIRED and changes nothing; one just inside its lifetime works", async () => {
    const u = await newUser(s);
    const late = await requestChange(u);
    clock.advance((s.config.changeEmail.tokenTtlSeconds + 1) * 1000);
    expect(codeOf(await s.gql(CONFIRM, { token: late.token }))).toBe("CHANGE_EMAIL_EXPIRED");
    expect((await s.running.app.users.findById(u.id))?.email).toBe(u.email);

    const v = await newUser(s);
    const inTime = await requestChange(v);
    clock.advance((s.config.changeEmail.tokenTtlSeconds - 5) * 1000);
    expect((await s.gql(CONFIRM, { token: inTime.token })).data?.confirmChangeEmail.email).toBe(inTime.newEmail);
  });

  it("the database holds the token's hash, never the token", async () => {
    const u = await newUser(s);
    const { newEmail, token } = await requestChange(u);
    const docs = await s.running.app.models.LinkToken.collection.find({ purpose: "change-email" }).toArray();
    const mine = docs.find((d) => d._id === (sha256(token) as unknown));
    expect(mine?.data).toBe(newEmail); // the pending address, not a secret
    for (const c of await s.running.db.conn.db!.listCollections().toArray()) {
      const all = JSON.stringify(await s.running.db.conn.db!.collection(c.name).find({}).toArray());
      expect(all, c.name).not.toContain(token);
    }
  });

  it("parallel use of one link: exactly one success", async () => {
    const u = await newUser(s);
    const { newEmail, token } = await requestChange(u);
    const results = await Promise.all(Array.from({ length: 12 }, () => s.gql(CONFIRM, { token })));
    const wins = results.filter((r) => r.data?.confirmChangeEmail?.email === newEmail);
    expect(wins).toHaveLength(1);
    for (const r of results.filter((x) => !x.data?.confirmChangeEmail)) expect(codeOf(r)).toBe("INVALID_CHANGE_EMAIL_TOKEN");
  });

  it("two users confirming the same new address at once: exactly one gets it", async () => {
    for (let round = 0; round < 3; round++) {
      const target = uniqueEmail("contested");
      const users = [await newUser(s), await newUser(s), await newUser(s)];
      const tokens = [];
      for (const u of users) tokens.push((await requestChange(u, target)).token);
      const results = await Promise.all(tokens.map((token) => s.gql(CONFIRM, { token })));
      const wins = results.filter((r) => r.data?.confirmChangeEmail?.email === target);
      expect(wins).toHaveLength(1);
      for (const r of results.filter((x) => !x.data?.confirmChangeEmail)) expect(codeOf(r)).toBe("EMAIL_ALREADY_ASSOCIATED");
      expect(await s.running.app.models.User.countDocuments({ emailKey: target })).toBe(1);
      const emails = await Promise.all(users.map(async (u) => (await s.gql(ME, {}, { token: u.accessToken })).data?.me.email));
      expect(emails.filter((e) => e === target)).toHaveLength(1);
      expect(emails.filter((e, i) => e === users[i]!.email)).toHaveLength(2);
    }
  });

  it("is throttled per user, other users unaffected", async () => {
    const u = await newUser(s);
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push(codeOf(await s.gql(CHANGE, { newEmail: uniqueEmail("many") }, { token: u.accessToken })) ?? "ok");
    expect(codes).toEqual(["ok", "ok", "ok", "RATE_LIMITED", "RATE_LIMITED"]);
    const v = await newUser(s);
    expect(codeOf(await s.gql(CHANGE, { newEmail: uniqueEmail("calm") }, { token: v.accessToken }))).toBeUndefined();
  });

  it("is throttled per new address across users (no mail bombing of one address), taken or not", async () => {
    for (const target of [uniqueEmail("bombed"), (await newUser(s)).email]) {
      const codes = [];
      for (let i = 0; i < 5; i++) {
        const u = await newUser(s);
        codes.push(codeOf(await s.gql(CHANGE, { newEmail: target }, { token: u.accessToken })) ?? "ok");
      }
      expect(codes).toEqual(["ok", "ok", "ok", "RATE_LIMITED", "RATE_LIMITED"]);
    }
  });

  it("a Host header set by the client never appears in the link", async () => {
    const u = await newUser(s);
    const newEmail = uniqueEmail("host");
    const mail = await mailDespiteForgedHost(s, smtp, { query: CHANGE, variables: { newEmail } }, { purpose: PURPOSE, to: newEmail }, { authorization: `Bearer ${u.accessToken}` });
    tokenOf(mail, PURPOSE);
  });
});
