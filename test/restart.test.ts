// The embedded default, as `npm start` runs it: no database URI, so the server starts its own
// FerretDB under dataDir, and stops it on close. Data, signing key and issued tokens survive a
// restart on the same dataDir.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig, type Config } from "../src/config/index.js";
import { createLogger } from "../src/core/logger.js";
import { startServer, type RunningServer } from "../src/server.js";
import { LOGIN, REGISTER, ME, TEST_PASSWORD, uniqueEmail } from "./support/server.js";
import type { Json } from "./support/json.js";
import { freePort, portOpen } from "./support/net.js";



interface Answer {
  // GraphQL payloads are read loosely in assertions.
  data?: Json;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

async function gql(r: RunningServer, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<Answer> {
  const res = await fetch(`${r.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as Answer;
}

async function kids(r: RunningServer): Promise<string[]> {
  const res = await fetch(`${r.url}/.well-known/jwks.json`);
  const jwks = (await res.json()) as { keys: Array<{ kid: string }> };
  return jwks.keys.map((k) => k.kid).sort();
}

const headerKid = (jwt: string): string => (JSON.parse(Buffer.from(jwt.split(".")[0] as string, "base64url").toString()) as { kid: string }).kid;

const dataDir = mkdtempSync(join(tmpdir(), "gqlauth-restart-"));
const open: RunningServer[] = [];
afterAll(async () => {
  for (const r of open) await r.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(config: Config): Promise<RunningServer> {
  const r = await startServer({ config, log: createLogger(process.env.TEST_LOG_LEVEL ?? "silent") });
  open.push(r);
  await r.ready;
  return r;
}

async function stop(r: RunningServer): Promise<void> {
  await r.close();
  open.splice(open.indexOf(r), 1);
}

describe("embedded database across a restart", () => {
  it("keeps users, the signing key and issued tokens; the owned FerretDB stops with the server", async () => {
    const embeddedPort = await freePort();
    // env {} : no MONGODB_URI from the environment, exactly the `npm start` default path
    const config = loadConfig({ env: "test", dataDir, http: { host: "127.0.0.1", port: 0 }, database: { embeddedPort }, log: { level: "silent" }, passwords: { bcryptCost: 4 }, confirmation: { requiredForLogin: false } }, {});
    expect(config.database.uri).toBeUndefined();

    const first = await start(config);
    expect(first.db.uri).toBe(`mongodb://127.0.0.1:${embeddedPort}/`);
    expect(await portOpen(embeddedPort)).toBe(true);
    const email = uniqueEmail("restart");
    const reg = await gql(first, REGISTER, { input: { email, password: TEST_PASSWORD } });
    expect(reg.errors).toBeUndefined();
    const login = await gql(first, LOGIN, { input: { identity: email, password: TEST_PASSWORD, delivery: "TOKENS" } });
    expect(login.errors).toBeUndefined();
    const token = login.data.login.tokens.accessToken as string;
    const userId = login.data.login.user.id as string;
    const kidsBefore = await kids(first);
    expect(kidsBefore).toHaveLength(1);
    expect(headerKid(token)).toBe(kidsBefore[0]);

    await stop(first);
    expect(await portOpen(embeddedPort)).toBe(false);

    const second = await start(config);
    expect(await portOpen(embeddedPort)).toBe(true);
    expect(await kids(second)).toEqual(kidsBefore);
    // a token issued before the restart still works
    const me = await gql(second, ME, {}, token);
    expect(me.errors).toBeUndefined();
    expect(me.data.me).toMatchObject({ id: userId, email });
    // and the user can sign in again, with the login count carried over
    const again = await gql(second, LOGIN, { input: { identity: email, password: TEST_PASSWORD, delivery: "TOKENS" } });
    expect(again.errors).toBeUndefined();
    expect(again.data.login.user).toMatchObject({ id: userId, email });
    expect(again.data.login.user.loginTracking.loginCount).toBe(2);
    expect(headerKid(again.data.login.tokens.accessToken)).toBe(kidsBefore[0]);

    await stop(second);
    expect(await portOpen(embeddedPort)).toBe(false);
  });
});
