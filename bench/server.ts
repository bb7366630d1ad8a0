// Starts the real server (src/main.ts) as a child process for the benchmark: a temp DATA_DIR, free
// ports for HTTP and the embedded FerretDB, and a cleanup that never leaves the server, its
// FerretDB or the temp dir behind (SIGTERM first so the server drains and stops FerretDB itself,
// then SIGKILL to the whole process group; also from process 'exit' and on SIGINT/SIGTERM).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { SMTPServer } from "smtp-server";

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => (port ? resolve(port) : reject(new Error("no free port"))));
    });
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const groupAlive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

export interface ServerOptions {
  root: string;
  env: Record<string, string>;
  /** Extra node flags for the server process (e.g. --cpu-prof). */
  nodeFlags?: string[];
  startTimeoutMs?: number;
}

export interface BenchServer {
  url: string;
  pid: number;
  port: number;
  dbPort: number;
  dataDir: string;
  /** The environment the server process got (secrets redacted). */
  env: Record<string, string>;
  /** Last lines the server wrote (for failure reports). */
  tail(): string;
  /** pids of the server and its descendants (FerretDB), from /proc (Linux; [] elsewhere). */
  pids(): number[];
  /**
   * Stops the server. `orphans` lists processes of its group (FerretDB) still running after the
   * server itself had exited; `forced` says SIGKILL was needed.
   */
  stop(): Promise<{ code: number | null; signal: string | null; forced: boolean; orphans: string[] }>;
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  for (let guard = 0; queue.length && guard < 64; guard++) {
    const p = queue.shift() as number;
    out.push(p);
    try {
      const kids = readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim();
      if (kids) queue.push(...kids.split(/\s+/).map(Number));
    } catch {
      // not Linux, or the process is gone
    }
  }
  return out;
}

/** Commands of the processes still in the process group (Linux /proc; [] elsewhere). */
function descendantsOfGroup(pgid: number): string[] {
  const found: string[] = [];
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (Number(fields[2]) === pgid) found.push(`${entry} ${stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))}`);
      } catch {
        // gone
      }
    }
  } catch {
    // no /proc
  }
  return found;
}

/**
 * A real SMTP server on loopback that accepts every message and drops it: production mode refuses
 * to start without SMTP_URL, and registration sends mail. Counts what it received.
 */
async function startMailSink(): Promise<{ url: string; received: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, _session, done) {
      stream.on("data", () => undefined);
      stream.on("end", () => {
        count++;
        done();
      });
    },
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return { url: `smtp://127.0.0.1:${port}`, received: () => count, close: () => new Promise<void>((r) => server.close(() => r())) };
}

export async function startServer(opts: ServerOptions): Promise<BenchServer> {
  const mail = await startMailSink();
  const dataDir = mkdtempSync(join(tmpdir(), "gqlauth-bench-"));
  const port = await freePort();
  let dbPort = await freePort();
  while (dbPort === port) dbPort = await freePort();
  const secret = () => randomBytes(32).toString("base64url");
  const env: Record<string, string> = {
    NODE_ENV: "production",
    HTTP_HOST: "127.0.0.1",
    PORT: String(port),
    DATA_DIR: dataDir,
    DATABASE_EMBEDDED_PORT: String(dbPort),
    LOG_LEVEL: "warn",
    SECRETS_PEPPER: secret(),
    SECRETS_TOKEN_KEY: secret(),
    SECRETS_ENCRYPTION_KEY: secret(),
    SMTP_URL: mail.url,
    // The benchmark signs its users in right after registering them (no one clicks the mail's link).
    CONFIRMATION_REQUIRED_FOR_LOGIN: "false",
    // Production refuses SMS codes through the development file sender; the benchmark sends none.
    TWO_FACTOR_METHODS: "AUTHENTICATOR,EMAIL",
    ...opts.env,
  };
  const inherited: NodeJS.ProcessEnv = { ...process.env };
  delete inherited.MONGODB_URI; // the run is against the embedded FerretDB
  delete inherited.REDIS_URL; // and the default (database) limiter store, unless opts.env says otherwise
  const childEnv: NodeJS.ProcessEnv = { ...inherited, ...env };
  const child: ChildProcess = spawn(process.execPath, [...(opts.nodeFlags ?? []), "--import", "tsx", "src/main.ts"], {
    cwd: opts.root,
    env: childEnv,
    detached: true, // its own process group: FerretDB (its child) can be killed with it
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pid = child.pid;
  if (!pid) throw new Error("could not spawn the server");
  const lines: string[] = [];
  const keep = (b: Buffer) => {
    for (const l of b.toString().split("\n")) if (l.trim()) lines.push(l.slice(0, 400));
    if (lines.length > 60) lines.splice(0, lines.length - 60);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let exit: { code: number | null; signal: string | null } | null = null;
  const exited = new Promise<void>((r) => child.once("exit", (code, signal) => ((exit = { code, signal }), r())));

  let cleaned = false;
  const hardCleanup = () => {
    if (cleaned) return;
    cleaned = true;
    if (groupAlive(pid)) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once("exit", hardCleanup);

  const stop = async () => {
    let forced = false;
    let orphans: string[] = [];
    if (!exit) {
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(20_000)]);
    }
    if (!exit) forced = true;
    // The server stops FerretDB on its way out; give the group a moment, then ask what is left
    // (an orphaned FerretDB) to stop, and finally make sure.
    for (let i = 0; i < 30 && groupAlive(pid); i++) await sleep(100);
    if (groupAlive(pid)) {
      orphans = descendantsOfGroup(pid);
      try {
        process.kill(-pid, "SIGTERM");
      } catch {
        // gone meanwhile
      }
      for (let i = 0; i < 30 && groupAlive(pid); i++) await sleep(100);
    }
    if (groupAlive(pid)) {
      forced = true;
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
      await Promise.race([exited, sleep(2_000)]);
    }
    hardCleanup();
    await mail.close();
    const e = exit as { code: number | null; signal: string | null } | null;
    return { code: e?.code ?? null, signal: e?.signal ?? null, forced, orphans };
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  for (;;) {
    if (exit) {
      hardCleanup();
      await mail.close();
      throw new Error(`server exited during start (${JSON.stringify(exit)}):\n${lines.join("\n")}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`server not ready within ${opts.startTimeoutMs ?? 60_000} ms:\n${lines.join("\n")}`);
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { database?: string };
      if (res.ok && body.database === "up") break;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  const shown = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, k.startsWith("SECRETS_") ? "(generated)" : v]));
  return { url, pid, port, dbPort, dataDir, env: shown, tail: () => lines.join("\n"), pids: () => descendants(pid), stop };
}

/** CPU seconds (user+system) used so far by the given pids (Linux /proc; 0 elsewhere). */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const p of pids) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    } catch {
      // gone
    }
  }
  return ticks / 100; // USER_HZ is 100 on Linux
}

/** Busy CPU seconds of the whole machine so far (all cores; Linux /proc/stat; NaN elsewhere). */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const busy = (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0) + (v[5] ?? 0) + (v[6] ?? 0) + (v[7] ?? 0);
    return busy / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of one process's main thread and of its other threads (Linux /proc/<pid>/task; {} elsewhere). */
export function threadCpuSeconds(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
        // Node 20 names every other thread (libuv pool, V8 platform workers) after the process.
        const name = Number(tid) === pid ? "main" : "other threads";
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        out[name] = (out[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100;
      } catch {
        // thread gone
      }
    }
  } catch {
    // no /proc
  }
  return out;
}
