// The embedded default database: a FerretDB (MongoDB wire protocol) process with its SQLite
// backend under <dataDir>/ferretdb, built by scripts/setup.mjs. A running instance (from the server
// or the CLI) is reused through its state file; the process that started it stops it.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "../core/logger.js";

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export function ferretdbVersion(): string {
  const gomod = readFileSync(join(projectRoot, "scripts/ferretdb/go.mod"), "utf8");
  const m = /github\.com\/FerretDB\/FerretDB (v[\d.]+)/.exec(gomod);
  if (!m?.[1]) throw new Error("scripts/ferretdb/go.mod does not name a FerretDB version");
  return m[1];
}

export const ferretdbBinary = (): string => join(projectRoot, ".tools", `ferretdb-${ferretdbVersion()}`, "ferretdb");

const portOpen = (port: number): Promise<boolean> =>
  new Promise((ok) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => (s.destroy(), ok(true)));
    s.once("error", () => ok(false));
  });

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export interface EmbeddedDb {
  uri: string;
  owned: boolean;
  stop(): Promise<void>;
}

export async function startEmbeddedDb(opts: { dataDir: string; port: number; log: Logger }): Promise<EmbeddedDb> {
  const dir = join(opts.dataDir, "ferretdb");
  mkdirSync(dir, { recursive: true });
  const stateFile = join(dir, "embedded-server.json"); // not state.json: FerretDB writes that one itself
  const uri = (port: number) => `mongodb://127.0.0.1:${port}/`;

  if (existsSync(stateFile)) {
    const state = JSON.parse(readFileSync(stateFile, "utf8")) as { pid: number; port: number };
    if (pidAlive(state.pid) && (await portOpen(state.port))) {
      opts.log.info({ port: state.port, pid: state.pid }, "reusing running embedded FerretDB");
      return { uri: uri(state.port), owned: false, stop: async () => {} };
    }
  }
  const bin = ferretdbBinary();
  if (!existsSync(bin)) {
    throw new Error(`embedded database engine not installed at ${bin}: run \`npm run setup\` (npm start and npm test do it), or set MONGODB_URI`);
  }
  if (await portOpen(opts.port)) {
    throw new Error(`port ${opts.port} is taken by another program: set DATABASE_EMBEDDED_PORT to a free port, or MONGODB_URI to use that server`);
  }
  const args = [
    "--handler=sqlite",
    `--sqlite-url=file:${dir}/`,
    `--listen-addr=127.0.0.1:${opts.port}`,
    "--telemetry=disable",
    "--debug-addr=-",
    "--log-level=error",
    `--state-dir=${dir}`,
  ];
  let child: ChildProcess | null = null;
  let stopping = false;
  const launch = () => {
    child = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr?.on("data", (b: Buffer) => opts.log.warn({ ferretdb: b.toString().trim().slice(0, 500) }, "ferretdb"));
    child.once("exit", (code, signal) => {
      if (stopping) return;
      opts.log.error({ code, signal }, "embedded FerretDB exited; restarting in 1 s");
      setTimeout(() => !stopping && launch(), 1000).unref();
    });
    writeFileSync(stateFile, JSON.stringify({ pid: child.pid, port: opts.port }));
  };
  launch();
  // Never leave an orphan behind, whatever way this process ends.
  process.once("exit", () => {
    stopping = true;
    (child as ChildProcess | null)?.kill("SIGTERM");
  });
  const deadline = Date.now() + 20_000;
  while (!(await portOpen(opts.port))) {
    if (Date.now() > deadline) throw new Error(`embedded FerretDB did not listen on 127.0.0.1:${opts.port} within 20 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  opts.log.info({ port: opts.port, dir }, "embedded FerretDB started");
  return {
    uri: uri(opts.port),
    owned: true,
    stop: async () => {
      stopping = true;
      const c = child as ChildProcess | null;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once("exit", r));
      c.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (c.exitCode === null) c.kill("SIGKILL");
      rmSync(stateFile, { force: true });
    },
  };
}
