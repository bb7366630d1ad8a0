// The database going away and coming back: a server whose database is unreachable still starts,
// says so (health, DATABASE_UNAVAILABLE within a few seconds, logs naming the URI), and recovers
// without a restart when a real database engine appears on that address — at start and mid-run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/index.js";
import { startServer, type RunningServer } from "../src/server.js";
import { startEmbeddedDb, type EmbeddedDb } from "../src/db/embedded.js";
import { LOGIN, REGISTER, ME, TEST_PASSWORD, uniqueEmail } from "./support/server.js";
import type { Json } from "./support/json.js";
import { freePort } from "./support/net.js";


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number;
  // GraphQL payloads are read loosely in assertions.
  body: { data?: Json; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  ms: number;
}

let running: RunningServer;
let port: number;
let uri: string;
const dirs: string[] = [];
const logLines: string[] = [];
let db: EmbeddedDb | null = null;

async function gql(query: string, variables: Record<string, unknown> = {}, token?: string): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(`${running.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Answer["body"], ms: Date.now() - started };
}

async function health(): Promise<{ status: number; body: { status: string; database: string } }> {
  const res = await fetch(`${running.url}/health`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: (await res.json()) as { status: string; database: string } };
}

/** Polls /health until it answers `want`, returning how long that took. */
async function waitForHealth(want: number, withinMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const h = await health();
    if (h.status === want) return Date.now() - started;
    if (Date.now() - started > withinMs) throw new Error(`/health still ${h.status} ${JSON.stringify(h.body)} after ${withinMs} ms`);
    await sleep(200);
  }
}

const code = (a: Answer): string | undefined => a.body.errors?.[0]?.extensions?.code;
const tmp = (prefix: string): string => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
const dbLog = pino({ level: "warn" });
let dbDir: string;

beforeAll(async () => {
  port = await freePort(); // closed again: nothing listens there
  uri = `mongodb://127.0.0.1:${port}/x`;
  dbDir = tmp("gqlauth-dbtest-db-");
  const config = loadConfig(
    {
      env: "test",
      dataDir: tmp("gqlauth-dbtest-srv-"),
      http: { host: "127.0.0.1", port: 0 },
      database: { uri, serverSelectionTimeoutMs: 500 },
      log: { level: "info" },
      passwords: { bcryptCost: 4 },
      rateLimit: { loginPerClient: 100_000, registerPerClient: 100_000 },
      confirmation: { requiredForLogin: false },
    },
    {},
  );
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(chunk.toString());
      cb();
    },
  });
  running = await startServer({ config, log: pino({ level: "info" }, stream) });
});

afterAll(async () => {
  await running?.close();
  await db?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("a database that is down at start", () => {
  it("does not stop the server from starting; /health says 503 degraded, database down", async () => {
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const h = await health();
    expect(h.status).toBe(503);
    expect(h.body).toEqual({ status: "degraded", database: "down" });
  });

  it("answers GraphQL requests with DATABASE_UNAVAILABLE within a few seconds", async () => {
    for (const [query, variables] of [
      [`{ health }`, {}],
      [LOGIN, { input: { identity: "someone@example.com", password: TEST_PASSWORD } }],
      [REGISTER, { input: { email: uniqueEmail(), password: TEST_PASSWORD } }],
    ] as const) {
      const a = await gql(query, variables);
      expect(code(a), query).toBe("DATABASE_UNAVAILABLE");
      expect(a.ms, query).toBeLessThan(3_000);
      expect(a.body.data ?? null).toBeNull();
      // no driver text on the wire
      expect(JSON.stringify(a.body)).not.toMatch(/Mongo|ECONNREFUSED|127\.0\.0\.1/);
    }
  });

  it("logs an error that names the URI and says what to do", () => {
    const errors = logLines.map((l) => JSON.parse(l) as { level: number; uri?: string; msg: string }).filter((l) => l.level >= 50);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]!.uri).toBe(uri);
    expect(errors[0]!.msg).toMatch(/cannot reach the database/);
    expect(errors[0]!.msg).toMatch(/MONGODB_URI/);
  });

  it("becomes healthy without a restart once a database listens there, and serves register and login", async () => {
    db = await startEmbeddedDb({ dataDir: dbDir, port, log: dbLog });
    const took = await waitForHealth(200, 10_000);
    expect(took).toBeLessThan(10_000);
    expect((await health()).body).toEqual({ status: "ok", database: "up" });
    const email = uniqueEmail("recovered");
    const reg = await gql(REGISTER, { input: { email, password: TEST_PASSWORD } });
    expect(reg.body.errors).toBeUndefined();
    const login = await gql(LOGIN, { input: { identity: email, password: TEST_PASSWORD, delivery: "TOKENS" } });
    expect(login.body.errors).toBeUndefined();
    const me = await gql(ME, {}, login.body.data.login.tokens.accessToken);
    expect(me.body.data.me.email).toBe(email);
    // bootstrap ran on recovery: the default role exists
    expect(me.body.data.me.roles).toEqual([{ name: "user" }]);
  });
});

describe("a database that goes away mid-run", () => {
  const email = uniqueEmail("midrun");
  let token: string;

  it("answers DATABASE_UNAVAILABLE quickly once the database stops", async () => {
    expect((await gql(REGISTER, { input: { email, password: TEST_PASSWORD } })).body.errors).toBeUndefined();
    const login = await gql(LOGIN, { input: { identity: email, password: TEST_PASSWORD, delivery: "TOKENS" } });
    token = login.body.data.login.tokens.accessToken;
    await db!.stop();
    db = null;

    const a = await gql(LOGIN, { input: { identity: email, password: TEST_PASSWORD } });
    expect(code(a)).toBe("DATABASE_UNAVAILABLE");
    expect(a.ms).toBeLessThan(3_000);
    const b = await gql(REGISTER, { input: { email: uniqueEmail(), password: TEST_PASSWORD } });
    expect(code(b)).toBe("DATABASE_UNAVAILABLE");
    expect(b.ms).toBeLessThan(3_000);
    await waitForHealth(503, 12_000);
    expect((await health()).body).toEqual({ status: "degraded", database: "down" });
    const c = await gql(`{ health }`);
    expect(code(c)).toBe("DATABASE_UNAVAILABLE");
    expect(c.ms).toBeLessThan(3_000);
    const warned = logLines.map((l) => JSON.parse(l) as { level: number; uri?: string; msg: string }).filter((l) => l.level === 40 && /disconnected/.test(l.msg));
    expect(warned.map((l) => l.uri)).toContain(uri);
  });

  it("recovers when the database is back on the same port and data, with the data intact", async () => {
    db = await startEmbeddedDb({ dataDir: dbDir, port, log: dbLog });
    await waitForHealth(200, 10_000);
    // the token issued before the outage still works, and the user can sign in again
    const me = await gql(ME, {}, token);
    expect(me.body.errors).toBeUndefined();
    expect(me.body.data.me.email).toBe(email);
    const login = await gql(LOGIN, { input: { identity: email, password: TEST_PASSWORD, delivery: "TOKENS" } });
    expect(login.body.errors).toBeUndefined();
    expect(login.body.data.login.user.loginTracking.loginCount).toBe(2);
  });
});
