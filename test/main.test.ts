// The real process entry (what `npm start` runs): starts on the embedded database, serves
// /graphql, and on SIGTERM drains, stops its FerretDB and exits 0; data survives a restart.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Json } from "./support/json.js";
import { freePort, portOpen } from "./support/net.js";



const dataDir = mkdtempSync(join(tmpdir(), "gqlauth-main-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function start(port: number, dbPort: number): Promise<{ child: ChildProcess; output: () => string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), HTTP_HOST: "127.0.0.1", DATABASE_EMBEDDED_PORT: String(dbPort), LOG_LEVEL: "info", PASSWORDS_BCRYPT_COST: "4", CONFIRMATION_REQUIRED_FOR_LOGIN: "false", NODE_ENV: "development" };
  delete env.MONGODB_URI;
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr?.on("data", (b: Buffer) => (out += b.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
    if (ok) return { child, output: () => out };
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not become healthy:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stop(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })));
  child.kill("SIGTERM");
  return Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no exit within 20 s")), 20_000))]);
}

const gql = (port: number, query: string, variables: Record<string, unknown> = {}) =>
  fetch(`http://127.0.0.1:${port}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) }).then((r) => r.json() as Promise<{ data?: Record<string, Json>; errors?: unknown[] }>);

describe("src/main.ts", () => {
  it("serves on the embedded database, exits 0 on SIGTERM with its FerretDB stopped, and keeps users across restarts", async () => {
    const [port, dbPort] = [await freePort(), await freePort()];
    const first = await start(port, dbPort);
    const email = `main.${Date.now()}@example.com`;
    const reg = await gql(port, `mutation($e: String!) { register(input: { email: $e, password: "correct horse battery" }) { __typename } }`, { e: email });
    expect(reg.data?.register.__typename).toBe("RegistrationAccepted");
    expect(await portOpen(dbPort)).toBe(true);
    const ended = await stop(first.child);
    expect(ended, first.output()).toEqual({ code: 0, signal: null });
    expect(first.output()).toMatch(/shutting down/);
    expect(await portOpen(dbPort)).toBe(false);

    const second = await start(port, dbPort);
    try {
      const login = await gql(port, `mutation($e: String!) { login(input: { identity: $e, password: "correct horse battery", delivery: TOKENS }) { __typename ... on SignedIn { user { email } } } }`, { e: email });
      expect(login.errors).toBeUndefined();
      expect(login.data?.login.user.email).toBe(email);
    } finally {
      expect((await stop(second.child)).code).toBe(0);
    }
    expect(await portOpen(dbPort)).toBe(false);
  }, 90_000);
});
