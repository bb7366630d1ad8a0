// A key must be in every instance's JWKS before any instance signs with it, or other subgraphs that
// fetched the JWKS from a not-yet-reloaded instance refuse valid tokens for up to
// tokens.keyRefreshSeconds (+ their cache). Rotation therefore publishes a key before it signs.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestServer, registerUser, loginTokens, type TestServer } from "../support/server.js";
import { decodeJwt } from "../support/jwt-attacks.js";
import { cliJson } from "./cli.js";
import { startNotesSubgraph, type NotesSubgraph } from "./notes-subgraph.js";
import { postGraphQL } from "./http.js";

let a: TestServer;
let b: TestServer;
let notesOnA: NotesSubgraph;
beforeAll(async () => {
  const dbName = `t_fedpre_${randomBytes(6).toString("hex")}`;
  // a reloads its keys every 3 s, b every second; the rotation activates after 4 s (≥ both).
  a = await startTestServer({ tokens: { keyRefreshSeconds: 3, keyActivationDelaySeconds: 4 } }, undefined, { dbName });
  b = await startTestServer({ secrets: a.config.secrets, tokens: { keyRefreshSeconds: 1, keyActivationDelaySeconds: 4 } }, undefined, { dbName });
  notesOnA = await startNotesSubgraph({ jwksUrl: `${a.url}/.well-known/jwks.json`, issuer: a.config.tokens.issuer as string, audience: a.config.tokens.audience, cooldownMs: 100 });
});
afterAll(async () => {
  await notesOnA?.close();
  await b?.close();
  await a?.close();
});

it("after `keys rotate`, every token any instance signs verifies against the JWKS of every instance", async () => {
  const { email } = await registerUser(b);
  const rotated = await cliJson(b, ["keys", "rotate"], { TOKENS_KEY_ACTIVATION_DELAY_SECONDS: "4", TOKENS_KEY_REFRESH_SECONDS: "1" });
  const seen = new Set<string>();
  const until = Date.now() + 7_000; // past the activation, and a's reload after it
  while (Date.now() < until) {
    const t = await loginTokens(b, email);
    const kid = String(decodeJwt(t.accessToken).header.kid);
    seen.add(kid);
    const r = await postGraphQL(notesOnA.url, `{ tokenInfo { kid } }`, {}, { authorization: `Bearer ${t.accessToken}` });
    expect(r.errors, `token signed by b with kid ${kid}`).toBeUndefined();
    await new Promise((res) => setTimeout(res, 250));
  }
  // b did switch to the new key during the window (the test exercised the rotation).
  expect(seen.has(rotated.kid as string)).toBe(true);
}, 30_000);
