// Change username end to end: real HTTP, real database, the notice read from an SMTP server in the
// test process; registration's rules and case-insensitive uniqueness through the identifiers claims.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSmtpServer, type TestSmtpServer } from "../support/smtp.js";
import { codeOf, LOGIN, TEST_PASSWORD, loginTokens, newUser, registerUser, startTestServer, type TestServer, fieldErrors } from "../support/server.js";

const CHANGE = /* GraphQL */ `mutation ChangeUsername($username: String!) { changeUsername(input: { username: $username }) { user { id username } } }`;
const VERIFY = /* GraphQL */ `mutation($password: String!) { verifyPassword(input: { password: $password }) { __typename } }`;
const PUBLIC_URL = "https://auth.example.test";


let n = 0;
/** A valid, unused username (letters only, so it starts with a letter whatever the counter). */
const uniqueName = (prefix = "user"): string => `${prefix}${Date.now().toString(36).replace(/\d/g, (d) => "abcdefghij"[Number(d)]!)}${"abcdefghijklmnopqrstuvwxyz"[n++ % 26]}${"abcdefghijklmnopqrstuvwxyz"[Math.floor(Math.random() * 26)]}`.slice(0, 30);

describe("change username", () => {
  let smtp: TestSmtpServer;
  let s: TestServer;
  beforeAll(async () => {
    smtp = await startSmtpServer();
    s = await startTestServer({ publicUrl: PUBLIC_URL, mail: { smtpUrl: smtp.url } });
  });
  afterAll(async () => {
    await s?.close();
    await smtp?.close();
  });

  /** The identifier claims a user holds. */
  const claimsOf = async (id: string): Promise<string[]> =>
    (await s.running.app.models.Identifier.find({ userId: id }).lean()).map((d) => d._id).sort();

  it("happy path: the new username signs in, the old one no longer does and is free again; a notice is mailed", async () => {
    const old = uniqueName("old");
    const u = await newUser(s, { username: old });
    const next = uniqueName("New");
    const seq = smtp.received.length;
    const r = await s.gql(CHANGE, { username: next }, { token: u.accessToken });
    expect(r.errors).toBeUndefined();
    expect(r.data?.changeUsername.user).toEqual({ id: u.id, username: next });

    expect((await loginTokens(s, next)).id).toBe(u.id);
    expect((await loginTokens(s, next.toUpperCase())).id).toBe(u.id);
    expect(codeOf(await s.gql(LOGIN, { input: { identity: old, password: TEST_PASSWORD } }))).toBe("GENERIC_AUTHN_FAILED");
    expect((await s.gql(`{ me { username } }`, {}, { token: u.accessToken })).data?.me.username).toBe(next);
    expect(await claimsOf(u.id)).toEqual([`username:${next.toLowerCase()}`]);

    const notice = await smtp.waitFor((m) => m.seq > seq && m.purpose === "username-changed" && m.envelope.to.includes(u.email));
    expect(notice.text).toContain(next);
    expect(notice.text).toContain(old);

    // the old name can be taken by someone else now
    const other = await newUser(s, { username: old });
    expect((await loginTokens(s, old)).id).toBe(other.id);
  });

  it("a user without a username gets one", async () => {
    const u = await newUser(s);
    const next = uniqueName("first");
    expect((await s.gql(CHANGE, { username: next }, { token: u.accessToken })).data?.changeUsername.user.username).toBe(next);
    expect((await loginTokens(s, next)).id).toBe(u.id);
    expect(await claimsOf(u.id)).toEqual([`username:${next}`]);
  });

  it("is not offered to anonymous callers", async () => {
    expect(codeOf(await s.gql(CHANGE, { username: uniqueName() }))).toBe("UNAUTHENTICATED");
  });

  it("a username taken by another user, in any case or compatibility form, is refused and nothing changes", async () => {
    const taken = uniqueName("taken");
    await registerUser(s, { username: taken });
    const mine = uniqueName("mine");
    const u = await newUser(s, { username: mine });
    const fullwidth = [...taken].map((c) => String.fromCodePoint(c.codePointAt(0)! - 0x61 + 0xff41)).join(""); // ｔａｋｅｎ… (NFKD → taken…)
    for (const attempt of [taken, taken.toUpperCase(), ` ${taken} `, fullwidth]) {
      const r = await s.gql(CHANGE, { username: attempt }, { token: u.accessToken });
      expect(codeOf(r), attempt).toBe("USERNAME_ALREADY_ASSOCIATED");
      expect(fieldErrors(r), attempt).toEqual([expect.objectContaining({ field: "username", code: "USERNAME_ALREADY_ASSOCIATED" })]);
    }
    expect((await loginTokens(s, mine)).id).toBe(u.id);
    expect(await claimsOf(u.id)).toEqual([`username:${mine}`]);
  });

  it("an invalid username is refused with field errors and nothing changes", async () => {
    const mine = uniqueName("keep");
    const u = await newUser(s, { username: mine });
    const cases: Array<[string, string]> = [
      ["abc", "USERNAME_INVALID_LENGTH"],
      ["", "USERNAME_INVALID_LENGTH"],
      ["a".repeat(33), "USERNAME_INVALID_LENGTH"],
      ["1abcd", "USERNAME_ILLEGAL_CHARACTERS"],
      ["has space", "USERNAME_ILLEGAL_CHARACTERS"],
      ["me@example.com", "USERNAME_ILLEGAL_CHARACTERS"],
      ["under_score", "USERNAME_ILLEGAL_CHARACTERS"],
    ];
    for (const [username, code] of cases) {
      const r = await s.gql(CHANGE, { username }, { token: u.accessToken });
      expect(codeOf(r), username).toBe("BAD_USER_INPUT");
      expect(fieldErrors(r), username).toEqual([expect.objectContaining({ field: "username", code })]);
    }
    expect((await loginTokens(s, mine)).id).toBe(u.id);
    expect(await claimsOf(u.id)).toEqual([`username:${mine}`]);
  });

  it("the same username is refused; a change of case only keeps the claim", async () => {
    const mine = uniqueName("case");
    const u = await newUser(s, { username: mine });
    const same = await s.gql(CHANGE, { username: mine }, { token: u.accessToken });
    expect(codeOf(same)).toBe("BAD_USER_INPUT");
    expect(fieldErrors(same)).toEqual([expect.objectContaining({ field: "username", code: "USERNAME_IS_THE_SAME" })]);

    const cased = mine[0]!.toUpperCase() + mine.slice(1);
    expect((await s.gql(CHANGE, { username: cased }, { token: u.accessToken })).data?.changeUsername.user.username).toBe(cased);
    expect((await loginTokens(s, mine)).id).toBe(u.id);
    expect(await claimsOf(u.id)).toEqual([`username:${mine}`]);
  });

  it("two users racing for the same new username: exactly one wins, the other keeps their own", async () => {
    for (let round = 0; round < 3; round++) {
      const target = uniqueName("race");
      const racers = await Promise.all([0, 1, 2, 3].map(async (i) => ({ name: uniqueName(`r${"abcd"[i]}`), user: await newUser(s) })));
      for (const r of racers) expect((await s.gql(CHANGE, { username: r.name }, { token: r.user.accessToken })).errors).toBeUndefined();
      const results = await Promise.all(racers.map((r) => s.gql(CHANGE, { username: target }, { token: r.user.accessToken })));
      const winners = results.map((r, i) => (r.data?.changeUsername ? i : -1)).filter((i) => i >= 0);
      expect(winners).toHaveLength(1);
      for (const r of results.filter((x) => !x.data?.changeUsername)) expect(codeOf(r)).toBe("USERNAME_ALREADY_ASSOCIATED");
      const winner = racers[winners[0]!]!;
      expect((await loginTokens(s, target)).id).toBe(winner.user.id);
      expect(await s.running.app.models.User.countDocuments({ usernameKey: target })).toBe(1);
      for (const r of racers) {
        if (r === winner) continue;
        expect((await loginTokens(s, r.name)).id).toBe(r.user.id);
        expect(await claimsOf(r.user.id)).toEqual([`username:${r.name}`]);
      }
      expect(await claimsOf(winner.user.id)).toEqual([`username:${target}`]);
    }
  });

  it("one user changing twice at once ends with exactly the claim of the username it has", async () => {
    const u = await newUser(s);
    const names = [uniqueName("twoa"), uniqueName("twob"), uniqueName("twoc")];
    const results = await Promise.all(names.map((username) => s.gql(CHANGE, { username }, { token: u.accessToken })));
    for (const r of results) if (r.errors) expect(codeOf(r)).toBe("USERNAME_CHANGE_IN_PROGRESS");
    expect(results.some((r) => !r.errors)).toBe(true);
    const user = await s.running.app.users.findById(u.id);
    expect(names).toContain(user?.username);
    expect(await claimsOf(u.id)).toEqual([`username:${user?.usernameKey}`]);
    // the names it does not hold are free for others
    for (const name of names.filter((x) => x !== user?.username)) {
      const other = await newUser(s, { username: name });
      expect((await loginTokens(s, name)).id).toBe(other.id);
    }
  });
});

describe("change username with a short freshness window", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ freshness: { maxAgeSeconds: 1, graceSeconds: 0 } });
  });
  afterAll(() => s?.close());

  it("a stale session gets REAUTH_REQUIRED and nothing changes; after verifyPassword it works", async () => {
    const mine = uniqueName("stale");
    const u = await newUser(s, { username: mine });
    await new Promise((r) => setTimeout(r, 2_100));
    const next = uniqueName("fresh");
    expect(codeOf(await s.gql(CHANGE, { username: next }, { token: u.accessToken }))).toBe("REAUTH_REQUIRED");
    expect((await loginTokens(s, mine)).id).toBe(u.id);
    expect(codeOf(await s.gql(LOGIN, { input: { identity: next, password: TEST_PASSWORD } }))).toBe("GENERIC_AUTHN_FAILED");

    expect((await s.gql(VERIFY, { password: TEST_PASSWORD }, { token: u.accessToken })).errors).toBeUndefined();
    expect((await s.gql(CHANGE, { username: next }, { token: u.accessToken })).data?.changeUsername.user.username).toBe(next);
  });
});

describe("with usernames disabled", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ registration: { usernameEnabled: false } });
  });
  afterAll(() => s?.close());

  it("changeUsername does not exist", async () => {
    const u = await newUser(s);
    expect(codeOf(await s.gql(CHANGE, { username: uniqueName() }, { token: u.accessToken }))).toBe("GRAPHQL_VALIDATION_FAILED");
  });
});
