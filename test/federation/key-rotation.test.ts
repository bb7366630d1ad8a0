// Signing key rotation as other subgraphs see it: sign with key 1, rotate with the CLI
// (`gql-auth keys rotate`, a separate process on the same database), a running instance picks the
// new key up without a restart and signs with key 2, and the notes subgraph — which knows our keys
// only from /.well-known/jwks.json — verifies tokens of both. Once the old key's tokens can no
// longer be valid, the key leaves the JWKS and its tokens stop verifying anywhere.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.js";
import { startTestServer, registerUser, TEST_PASSWORD, type TestServer } from "../support/server.js";
import { decodeJwt } from "../support/jwt-attacks.js";
import { cliJson } from "./cli.js";
import { startNotesSubgraph, type NotesSubgraph } from "./notes-subgraph.js";
import { startSupergraph, type Supergraph } from "./supergraph.js";

const LOGIN = `mutation($i: LoginInput!) { login(input: $i) { ... on SignedIn { tokens { accessToken } } } }`;
const WHO = `{ tokenInfo { sub kid } me { id } }`;

/** Instance 1: default key refresh (60 s), a clock the test moves. */
let one: TestServer;
const clock = new ManualClock();
/** Instance 2: same database and secrets, reloads the key ring every second. */
let two: TestServer;
let notes: NotesSubgraph;
let g: Supergraph;

const kidOf = (token: string): string => decodeJwt(token).header.kid as string;
const jwksKids = async (s: TestServer): Promise<string[]> => {
  const res = await fetch(`${s.url}/.well-known/jwks.json`);
  return ((await res.json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid).sort();
};
async function signIn(email: string): Promise<string> {
  const r = await g.gql(LOGIN, { i: { identity: email, password: TEST_PASSWORD, delivery: "TOKENS" } });
  if (r.errors) throw new Error(r.raw);
  return r.data.login.tokens.accessToken as string;
}
/** Polls `probe` every 100 ms; fails unless it holds within `ms`. */
async function within(ms: number, probe: () => Promise<boolean>): Promise<void> {
  const start = Date.now();
  while (!(await probe())) {
    if (Date.now() - start > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  const dbName = `t_fedkeys_${randomBytes(6).toString("hex")}`;
  one = await startTestServer({}, clock, { dbName }); // creates key 1
  // A second instance needs the same secrets: the private keys in the database are sealed with the encryption key.
  two = await startTestServer({ secrets: one.config.secrets, tokens: { keyRefreshSeconds: 1 } }, undefined, { dbName });
  notes = await startNotesSubgraph({
    jwksUrl: `${two.url}/.well-known/jwks.json`,
    issuer: two.config.tokens.issuer as string,
    audience: two.config.tokens.audience,
    cooldownMs: 100, // an unknown kid refetches the JWKS at most every 100 ms (jose's default: 30 s)
  });
  g = await startSupergraph([
    { name: "auth", url: `${two.url}/graphql` },
    { name: "notes", url: notes.url },
  ]);
});
afterAll(async () => {
  await g?.close();
  await notes?.close();
  await two?.close();
  await one?.close();
});

describe("key rotation", () => {
  let email: string;
  let userId: string;
  let kid1: string;
  let kid2: string;
  let token1: string;
  let token2: string;

  it("token 1 is signed with key 1 and verifies in the notes subgraph from the JWKS", async () => {
    ({ email } = await registerUser(two));
    token1 = await signIn(email);
    kid1 = kidOf(token1);
    userId = decodeJwt(token1).payload.sub as string;
    expect(await jwksKids(two)).toEqual([kid1]);
    const r = await g.gql(WHO, {}, { token: token1 });
    expect(r.errors, r.raw).toBeUndefined();
    expect(r.data).toEqual({ tokenInfo: { sub: userId, kid: kid1 }, me: { id: userId } });
    expect(notes.jwksFetches()).toBe(1);
  });

  it("`gql-auth keys rotate` publishes key 2 first; the other instance signs with it once it activates, without a restart", async () => {
    // A 2 s activation delay for the test (default 180 s, at least every instance's key refresh).
    const rotated = await cliJson(two, ["keys", "rotate"], { TOKENS_KEY_ACTIVATION_DELAY_SECONDS: "2", TOKENS_KEY_REFRESH_SECONDS: "1" });
    kid2 = rotated.kid as string;
    expect(kid2).not.toBe(kid1);
    expect(rotated.keys).toEqual(
      expect.arrayContaining([expect.objectContaining({ kid: kid1, status: "signing", retiredAt: null }), expect.objectContaining({ kid: kid2, status: "pending", retiredAt: null })]),
    );
    // instance 2 reloads every second: key 2 is published before it signs anything
    await within(5_000, async () => (await jwksKids(two)).includes(kid2));
    expect(await jwksKids(two)).toEqual([kid1, kid2].sort());
    await within(5_000, async () => kidOf(await signIn(email)) === kid2);
    token2 = await signIn(email);
    expect(kidOf(token2)).toBe(kid2);
  });

  it("both tokens verify in the notes subgraph (an unknown kid makes it fetch the JWKS again) and in ours", async () => {
    const fetchesBefore = notes.jwksFetches();
    const r2 = await g.gql(WHO, {}, { token: token2 });
    expect(r2.errors, r2.raw).toBeUndefined();
    expect(r2.data).toEqual({ tokenInfo: { sub: userId, kid: kid2 }, me: { id: userId } });
    expect(notes.jwksFetches()).toBe(fetchesBefore + 1);

    const r1 = await g.gql(WHO, {}, { token: token1 });
    expect(r1.errors, r1.raw).toBeUndefined();
    expect(r1.data).toEqual({ tokenInfo: { sub: userId, kid: kid1 }, me: { id: userId } });
    expect(notes.jwksFetches()).toBe(fetchesBefore + 1); // key 1 was already known
  });

  it("key 1 stays published until its last token has expired, then leaves the JWKS; its tokens stop verifying in a subgraph that fetches the JWKS afresh", async () => {
    // Instance 1 keeps a retired key for accessTokenTtlSeconds + keyRefreshSeconds + 60 s after it retired.
    const { accessTokenTtlSeconds, keyRefreshSeconds } = one.config.tokens;
    const retainMs = (accessTokenTtlSeconds + keyRefreshSeconds + 60) * 1000;
    await one.running.app.keys.reload();
    expect(await jwksKids(one)).toEqual([kid1, kid2].sort());
    // Key 1's retirement (key 2's activation) is recorded by the next key reload of an instance
    // running on the real clock (instance 2, every second).
    await within(5_000, async () => Boolean((await one.running.app.models.SigningKey.findById(kid1).lean())?.retiredAt));
    const key1 = await one.running.app.models.SigningKey.findById(kid1).lean();
    const retiredAt = new Date(key1!.retiredAt!).getTime();
    // Its tokens can be younger than the retirement by at most one key refresh (an instance that has
    // not reloaded yet still signs with it): the retention outlives every one of them.
    expect(decodeJwt(token1).payload.exp as number).toBeLessThan((retiredAt + retainMs) / 1000);
    expect(retiredAt + keyRefreshSeconds * 1000 + accessTokenTtlSeconds * 1000).toBeLessThan(retiredAt + retainMs);

    const moveTo = (t: number) => clock.advance(t - clock.now().getTime());
    moveTo(retiredAt + retainMs - 5_000);
    await one.running.app.keys.reload();
    expect(await jwksKids(one)).toEqual([kid1, kid2].sort());

    moveTo(retiredAt + retainMs + 1_000);
    await one.running.app.keys.reload();
    expect(await jwksKids(one)).toEqual([kid2]);

    // A subgraph fetching instance 1's JWKS now: token 1's key is unknown, token 2 still verifies.
    const fresh = await startNotesSubgraph({ jwksUrl: `${one.url}/.well-known/jwks.json`, issuer: one.config.tokens.issuer as string, audience: one.config.tokens.audience, cooldownMs: 100 });
    try {
      const ask = (token: string) => fetch(fresh.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query: `{ tokenInfo { kid } }` }) }).then((r) => r.json() as Promise<{ data: unknown; errors?: Array<{ extensions: Record<string, unknown> }> }>);
      const old = await ask(token1);
      expect(old.data).toBeNull();
      expect(old.errors?.[0]?.extensions).toMatchObject({ code: "UNAUTHENTICATED", reason: "invalid", detail: "ERR_JWKS_NO_MATCHING_KEY" });
      expect(await ask(token2)).toEqual({ data: { tokenInfo: { kid: kid2 } } });
      expect(fresh.jwksFetches()).toBeGreaterThanOrEqual(1);
    } finally {
      await fresh.close();
    }
  });
});
