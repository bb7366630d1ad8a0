// `npm run bench`: one run against ONE server process (src/main.ts as a child, embedded FerretDB, a
// temp data dir), measuring
//   1. `{ health }` (trivial, public) vs authenticated `me` over a bearer token, 32 connections,
//      warm-up, then alternating rounds (health, me, health, me, …) of equal length;
//   2. login throughput (delivery TOKENS) over a pool of pre-registered users vs the bcrypt limit
//      (cores ÷ the time of one bcrypt verify at the configured cost, measured in this process).
// Prints machine, config, per-phase figures and a table; writes the same as JSON to
// bench/results/latest.json. Targets (issue 2): me ≥ 60% of health's throughput with p99 < 25 ms;
// logins ≥ 85% of the bcrypt limit.
//
// Options: --duration S (10) --bcrypt-cost N (PASSWORDS_BCRYPT_COST, else 12) --connections N (32)
//   --login-concurrency N (8) --users N (16) --warmup S (2) --rounds N (2) --uv-threadpool N
//   --skip-login --skip-query --cpu-prof (server CPU profile into bench/results/profiles/)
import autocannon, { type Instance, type Options, type Result } from "autocannon";
import bcrypt from "bcrypt";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, platform, release, totalmem } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { cpuSeconds, machineBusySeconds, startServer, threadCpuSeconds, type BenchServer } from "./server.js";
import { fmt, median, pct, percentile, round, table } from "./stats.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const resultsDir = join(root, "bench", "results");
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const out = (msg = "") => process.stdout.write(`${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- options ------------------------------------------------------------------------------------

interface Args {
  duration: number;
  bcryptCost: number;
  bcryptCostSource: string;
  connections: number;
  loginConcurrency: number;
  users: number;
  warmup: number;
  rounds: number;
  uvThreadpool: string | null;
  skipLogin: boolean;
  skipQuery: boolean;
  cpuProf: boolean;
}

function parseArgs(argv: string[]): Args {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--help" || a === "-h") {
      out("usage: npm run bench -- [--duration S] [--bcrypt-cost N] [--connections N] [--login-concurrency N] [--users N] [--warmup S] [--rounds N] [--uv-threadpool N] [--skip-login] [--skip-query] [--cpu-prof]");
      process.exit(0);
    }
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const [name, inline] = a.slice(2).split("=", 2) as [string, string | undefined];
    if (["skip-login", "skip-query", "cpu-prof"].includes(name)) flags.set(name, true);
    else {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`--${name} needs a value`);
      flags.set(name, v);
    }
  }
  const known = ["duration", "bcrypt-cost", "connections", "login-concurrency", "users", "warmup", "rounds", "uv-threadpool", "skip-login", "skip-query", "cpu-prof"];
  for (const k of flags.keys()) if (!known.includes(k)) throw new Error(`unknown option --${k}`);
  const num = (name: string, def: number, min: number, max: number): number => {
    const raw = flags.get(name);
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number in ${min}..${max}`);
    return n;
  };
  const envCost = process.env.PASSWORDS_BCRYPT_COST;
  const bcryptCost = flags.has("bcrypt-cost") ? num("bcrypt-cost", 12, 4, 16) : envCost ? Number(envCost) : 12;
  if (!Number.isInteger(bcryptCost) || bcryptCost < 4 || bcryptCost > 16) throw new Error("the bcrypt cost must be an integer in 4..16");
  const uv = flags.has("uv-threadpool") ? String(num("uv-threadpool", 4, 1, 1024)) : (process.env.UV_THREADPOOL_SIZE ?? null);
  return {
    duration: num("duration", 10, 1, 120),
    bcryptCost,
    bcryptCostSource: flags.has("bcrypt-cost") ? "--bcrypt-cost" : envCost ? "PASSWORDS_BCRYPT_COST" : "default",
    connections: Math.round(num("connections", 32, 1, 1024)),
    loginConcurrency: Math.round(num("login-concurrency", 8, 1, 256)),
    users: Math.round(num("users", 16, 1, 1000)),
    warmup: num("warmup", 2, 0, 30),
    rounds: Math.round(num("rounds", 2, 1, 20)),
    uvThreadpool: uv,
    skipLogin: flags.get("skip-login") === true,
    skipQuery: flags.get("skip-query") === true,
    cpuProf: flags.get("cpu-prof") === true,
  };
}

// ---- GraphQL documents ----------------------------------------------------------------------------

const HEALTH = "{ health }";
const ME = "{ me { id email roles { name } permissions } }";
const REGISTER = "mutation Register($input: RegisterInput!) { register(input: $input) { __typename } }";
const LOGIN =
  "mutation Login($input: LoginInput!) { login(input: $input) { __typename ... on SignedIn { user { id } session { id } tokens { accessToken refreshToken } } } }";
const PASSWORD = "bench-password-0123456789";
const JSON_HEADERS = { "content-type": "application/json" };

interface GqlBody {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

async function gql(url: string, query: string, variables?: Record<string, unknown>, token?: string): Promise<{ status: number; raw: string; body: GqlBody }> {
  const headers: Record<string, string> = { ...JSON_HEADERS };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${url}/graphql`, { method: "POST", headers, body: JSON.stringify({ query, variables }), signal: AbortSignal.timeout(30_000) });
  const raw = await res.text();
  let body: GqlBody = {};
  try {
    body = JSON.parse(raw) as GqlBody;
  } catch {
    // reported through raw
  }
  return { status: res.status, raw, body };
}

/** Runs fn over items with at most `limit` in flight. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

// ---- load runs ------------------------------------------------------------------------------------

interface Run {
  label: string;
  seconds: number;
  responses: number;
  good: number;
  non2xx: number;
  mismatches: number;
  errors: number;
  timeouts: number;
  latencies: number[];
  serverCpu: number;
  dbCpu: number;
  benchCpu: number;
  /** Cores kept busy by processes other than the server, FerretDB and this one. */
  otherCpu: number;
  /** Server CPU seconds by thread (main, libuv-worker, V8 workers…) during the run. */
  serverThreads: Record<string, number>;
}

let current: Instance | null = null;
let server: BenchServer | null = null;

async function cannon(label: string, opts: Options): Promise<Run> {
  const s = server as BenchServer;
  const pids = s.pids();
  const [serverPid, ...dbPids] = pids;
  const cpu0 = [cpuSeconds(serverPid ? [serverPid] : []), cpuSeconds(dbPids)];
  const bench0 = process.cpuUsage();
  const machine0 = machineBusySeconds();
  const threads0 = serverPid ? threadCpuSeconds(serverPid) : {};
  const latencies: number[] = [];
  // sampleInt: autocannon checks for the end of a run once per sample (default 1 s, which would
  // round fractional round lengths up to whole seconds).
  const inst = autocannon({ timeout: 30, sampleInt: 100, ...opts });
  current = inst;
  inst.on("response", (_c, _status, _bytes, ms) => {
    if (latencies.length < 5_000_000) latencies.push(ms);
  });
  const started = performance.now();
  const r: Result = await inst;
  const wall = (performance.now() - started) / 1000;
  current = null;
  const bench1 = process.cpuUsage(bench0);
  const machineBusy = machineBusySeconds() - machine0;
  const threads1 = serverPid ? threadCpuSeconds(serverPid) : {};
  const serverThreads = Object.fromEntries(Object.entries(threads1).map(([k, v]) => [k, v - (threads0[k] ?? 0)]));
  const cpu1 = [cpuSeconds(serverPid ? [serverPid] : []), cpuSeconds(dbPids)];
  const responses = latencies.length;
  const seconds = r.duration > 0 ? r.duration : wall;
  return {
    label,
    seconds,
    responses,
    good: Math.max(0, r["2xx"] - r.mismatches),
    non2xx: r.non2xx,
    mismatches: r.mismatches,
    errors: r.errors,
    timeouts: r.timeouts,
    latencies,
    serverCpu: ((cpu1[0] as number) - (cpu0[0] as number)) / seconds,
    dbCpu: ((cpu1[1] as number) - (cpu0[1] as number)) / seconds,
    benchCpu: (bench1.user + bench1.system) / 1e6 / seconds,
    serverThreads,
    otherCpu: Math.max(0, machineBusy - ((cpu1[0] as number) - (cpu0[0] as number)) - ((cpu1[1] as number) - (cpu0[1] as number)) - (bench1.user + bench1.system) / 1e6) / seconds,
  };
}

interface Summary {
  runs: number;
  seconds: number;
  requests: number;
  good: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  failures: { non2xx: number; mismatches: number; errors: number; timeouts: number };
  perRoundRps: number[];
  cpuCores: { server: number; ferretdb: number; bench: number; otherProcesses: number };
  /** CPU time spent per successful request (robust to other load on the machine). */
  cpuMsPerRequest: { server: number; ferretdb: number; serverByThread: Record<string, number> };
}

function summarize(runs: Run[]): Summary {
  const seconds = runs.reduce((a, r) => a + r.seconds, 0);
  const good = runs.reduce((a, r) => a + r.good, 0);
  const all = runs.flatMap((r) => r.latencies);
  const w = (f: (r: Run) => number) => runs.reduce((a, r) => a + f(r) * r.seconds, 0) / (seconds || 1);
  return {
    runs: runs.length,
    seconds: round(seconds, 2),
    requests: runs.reduce((a, r) => a + r.responses, 0),
    good,
    rps: round(good / (seconds || 1), 1),
    p50Ms: round(percentile(all, 50), 2),
    p90Ms: round(percentile(all, 90), 2),
    p99Ms: round(percentile(all, 99), 2),
    maxMs: round(all.reduce((a, b) => Math.max(a, b), 0), 2),
    failures: {
      non2xx: runs.reduce((a, r) => a + r.non2xx, 0),
      mismatches: runs.reduce((a, r) => a + r.mismatches, 0),
      errors: runs.reduce((a, r) => a + r.errors, 0),
      timeouts: runs.reduce((a, r) => a + r.timeouts, 0),
    },
    perRoundRps: runs.map((r) => round(r.good / (r.seconds || 1), 1)),
    cpuMsPerRequest: {
      server: round((runs.reduce((a, r) => a + r.serverCpu * r.seconds, 0) / (good || 1)) * 1000, 3),
      ferretdb: round((runs.reduce((a, r) => a + r.dbCpu * r.seconds, 0) / (good || 1)) * 1000, 3),
      serverByThread: (() => {
        const sum: Record<string, number> = {};
        for (const r of runs) for (const [k, v] of Object.entries(r.serverThreads)) sum[k] = (sum[k] ?? 0) + v;
        return Object.fromEntries(Object.entries(sum).filter(([, v]) => v > 0).map(([k, v]) => [k, round((v / (good || 1)) * 1000, 3)]));
      })(),
    },
    cpuCores: { server: round(w((r) => r.serverCpu), 2), ferretdb: round(w((r) => r.dbCpu), 2), bench: round(w((r) => r.benchCpu), 2), otherProcesses: round(w((r) => r.otherCpu), 2) },
  };
}

const describe = (name: string, s: Summary): string => {
  const f = s.failures;
  const bad = f.non2xx + f.mismatches + f.errors + f.timeouts;
  return (
    `${name.padEnd(8)} ${fmt(s.rps, 1).padStart(8)} req/s  p50 ${fmt(s.p50Ms, 2)} ms  p90 ${fmt(s.p90Ms, 2)} ms  p99 ${fmt(s.p99Ms, 2)} ms  max ${fmt(s.maxMs, 1)} ms  ` +
    `(${s.good} ok in ${fmt(s.seconds, 1)} s over ${s.runs} run(s): ${s.perRoundRps.map((r) => fmt(r, 0)).join(" / ")} req/s)\n` +
    `            CPU cores busy: server ${fmt(s.cpuCores.server, 2)}, ferretdb ${fmt(s.cpuCores.ferretdb, 2)}, load generator ${fmt(s.cpuCores.bench, 2)}, other processes ${fmt(s.cpuCores.otherProcesses, 2)}; ` +
    `CPU per request: server ${fmt(s.cpuMsPerRequest.server, 3)} ms, ferretdb ${fmt(s.cpuMsPerRequest.ferretdb, 3)} ms` +
    (bad ? `\n         FAILURES: ${JSON.stringify(f)}` : "")
  );
};

// ---- main ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const cores = availableParallelism();
  const rateLimitEnv = { RATE_LIMIT_LOGIN_PER_CLIENT: "1000000000", RATE_LIMIT_LOGIN_PER_IDENTITY: "1000000000", RATE_LIMIT_REGISTER_PER_CLIENT: "1000000000" };
  const machine = {
    cores,
    cpuModel: cpus()[0]?.model ?? "unknown",
    node: process.version,
    platform: `${platform()} ${release()}`,
    memoryGb: round(totalmem() / 2 ** 30, 1),
    loadAvgAtStart: loadavg().map((l) => round(l, 2)),
  };
  const uvShown = args.uvThreadpool ? `${args.uvThreadpool} (UV_THREADPOOL_SIZE)` : "4 (libuv default; UV_THREADPOOL_SIZE unset)";

  out("GraphQL auth server benchmark");
  out(`machine: ${machine.cores} cores (os.availableParallelism), ${machine.cpuModel}, ${machine.memoryGb} GB, ${machine.platform}, node ${machine.node}`);
  const busy0 = machineBusySeconds();
  await sleep(1000);
  const busyBefore = round(machineBusySeconds() - busy0, 2);
  Object.assign(machine, { busyCoresBeforeStart: busyBefore });
  out(`load average at start: ${machine.loadAvgAtStart.join(" ")}; cores busy in the second before the run: ${fmt(busyBefore, 2)}${busyBefore > 0.25 ? "  (other work is running: figures are noisier)" : ""}`);

  log("starting the server (src/main.ts, embedded FerretDB)…");
  const t0 = performance.now();
  const nodeFlags = args.cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${join(resultsDir, "profiles")}`] : [];
  server = await startServer({
    root,
    env: { PASSWORDS_BCRYPT_COST: String(args.bcryptCost), ...rateLimitEnv, ...(args.uvThreadpool ? { UV_THREADPOOL_SIZE: args.uvThreadpool } : {}) },
    nodeFlags,
  });
  const s = server;
  const startSeconds = round((performance.now() - t0) / 1000, 1);
  const config = {
    serverCommand: `node ${[...nodeFlags, "--import", "tsx", "src/main.ts"].join(" ")}`,
    serverPid: s.pid,
    serverEnv: s.env,
    bcryptCost: args.bcryptCost,
    bcryptCostSource: args.bcryptCostSource,
    uvThreadpoolSize: uvShown,
    durationSeconds: args.duration,
    warmupSeconds: args.warmup,
    rounds: args.rounds,
    connections: args.connections,
    loginConcurrency: args.loginConcurrency,
    userPool: args.users,
    rateLimitsRaised: rateLimitEnv,
    database: "embedded FerretDB (SQLite backend) started by the server",
  };
  out(`server: pid ${s.pid} at ${s.url} (ready in ${startSeconds} s), FerretDB on 127.0.0.1:${s.dbPort}, DATA_DIR ${s.dataDir}`);
  out(`server env: NODE_ENV=${s.env.NODE_ENV} LOG_LEVEL=${s.env.LOG_LEVEL} PASSWORDS_BCRYPT_COST=${args.bcryptCost} (${args.bcryptCostSource}); secrets generated for the run`);
  out(`libuv threadpool of the server process: ${uvShown}`);
  out(`rate limits RAISED for this run (every request comes from 127.0.0.1): ${Object.entries(rateLimitEnv).map(([k, v]) => `${k}=${v}`).join(" ")}`);
  out(`load: ${args.connections} connections for queries, ${args.loginConcurrency} for logins; ${args.duration} s measured per operation (${args.rounds} alternating round(s) of ${fmt(args.duration / args.rounds, 2)} s), ${args.warmup} s warm-up each`);
  out(`the load generator (autocannon) runs in this process on the same ${cores} cores as the server and FerretDB`);
  out();

  // Users first: registration through GraphQL (generic responses: RegistrationAccepted).
  const emails = Array.from({ length: args.users }, (_, i) => `bench.user${i}.${s.port}@example.com`);
  log(`registering ${emails.length} users (bcrypt cost ${args.bcryptCost})…`);
  const tReg = performance.now();
  await pool(emails, 4, async (email) => {
    const r = await gql(s.url, REGISTER, { input: { email, password: PASSWORD } });
    const typename = (r.body.data?.register as { __typename?: string } | undefined)?.__typename;
    if (r.status !== 200 || r.body.errors || typename !== "RegistrationAccepted") throw new Error(`register ${email} failed: ${r.status} ${r.raw.slice(0, 300)}`);
  });
  const registerSeconds = round((performance.now() - tReg) / 1000, 1);
  // Every user signs in once: proves the pool exists and warms the login path up.
  log("signing every user in once (login warm-up)…");
  const tokens = await pool(emails, args.loginConcurrency, async (email) => {
    const r = await gql(s.url, LOGIN, { input: { identity: email, password: PASSWORD, delivery: "TOKENS" } });
    const login = r.body.data?.login as { tokens?: { accessToken?: string } } | undefined;
    const token = login?.tokens?.accessToken;
    if (r.status !== 200 || r.body.errors || !token) throw new Error(`login ${email} failed: ${r.status} ${r.raw.slice(0, 300)}`);
    return token;
  });
  out(`users: ${emails.length} registered through GraphQL in ${registerSeconds} s and each signed in once`);

  const results: Record<string, unknown> = { when: new Date().toISOString(), machine, config };
  let query: { health: Summary; me: Summary; ratio: number; cpuRatio: number; targets: { meThroughputAtLeast60PctOfHealth: boolean; meP99Under25Ms: boolean } } | null = null;
  if (!args.skipQuery) {
    const token = tokens[0] as string;
    const healthRef = await gql(s.url, HEALTH);
    const meRef = await gql(s.url, ME, undefined, token);
    const me = meRef.body.data?.me as { email?: string } | undefined;
    if (healthRef.status !== 200 || healthRef.body.data?.health !== true) throw new Error(`health query failed: ${healthRef.raw}`);
    if (meRef.status !== 200 || meRef.body.errors || me?.email !== emails[0]) throw new Error(`me query failed: ${meRef.raw}`);
    const url = `${s.url}/graphql`;
    // Every response is checked against the reference body: an error answer counts as a failure.
    const healthOpts: Options = { url, method: "POST", connections: args.connections, headers: JSON_HEADERS, body: JSON.stringify({ query: HEALTH }), expectBody: healthRef.raw };
    const meOpts: Options = { ...healthOpts, headers: { ...JSON_HEADERS, authorization: `Bearer ${token}` }, body: JSON.stringify({ query: ME }), expectBody: meRef.raw };
    if (args.warmup > 0) {
      log(`warm-up: health ${args.warmup} s, me ${args.warmup} s…`);
      await cannon("warmup-health", { ...healthOpts, duration: args.warmup });
      await cannon("warmup-me", { ...meOpts, duration: args.warmup });
    }
    const health: Run[] = [];
    const meRuns: Run[] = [];
    const slice = args.duration / args.rounds;
    for (let i = 1; i <= args.rounds; i++) {
      log(`round ${i}/${args.rounds}: health ${fmt(slice, 2)} s, me ${fmt(slice, 2)} s…`);
      health.push(await cannon(`health-${i}`, { ...healthOpts, duration: slice }));
      meRuns.push(await cannon(`me-${i}`, { ...meOpts, duration: slice }));
    }
    const h = summarize(health);
    const m = summarize(meRuns);
    const ratio = h.rps > 0 ? m.rps / h.rps : Number.NaN;
    const targets = { meThroughputAtLeast60PctOfHealth: ratio >= 0.6, meP99Under25Ms: m.p99Ms < 25 };
    // The same ratio from server CPU per request: what it would be if the server had its cores to itself.
    const cpuRatio = m.cpuMsPerRequest.server > 0 ? h.cpuMsPerRequest.server / m.cpuMsPerRequest.server : Number.NaN;
    query = { health: h, me: m, ratio: round(ratio, 4), cpuRatio: round(cpuRatio, 4), targets };
    out(`1. queries at ${args.connections} connections (totals over ${args.rounds} alternating round(s))`);
    out(`   query health: ${HEALTH}`);
    out(`   query me:     ${ME} (bearer access token)`);
    out(`   ${describe("health", h)}`);
    out(`   ${describe("me", m)}`);
    out(`   me/health throughput: ${pct(ratio)} (target ≥ 60%: ${targets.meThroughputAtLeast60PctOfHealth ? "MET" : "NOT MET"}); me p99 ${fmt(m.p99Ms, 2)} ms (target < 25 ms: ${targets.meP99Under25Ms ? "MET" : "NOT MET"})`);
    const threads = (x: Summary) => Object.entries(x.cpuMsPerRequest.serverByThread).map(([k, v]) => `${k} ${fmt(v, 3)}`).join(", ");
    out(`   server CPU per request by thread (ms): health: ${threads(h)}; me: ${threads(m)}`);
    out(`   server CPU per request: health ${fmt(h.cpuMsPerRequest.server, 3)} ms, me ${fmt(m.cpuMsPerRequest.server, 3)} ms → CPU-bound me/health ${pct(cpuRatio)} (for diagnosis, not the target)`);
    out();
    results.query = query;
  }

  let login: { measured: Summary; bcrypt: Record<string, number>; limitPerSecond: number; ratio: number; targetMet: boolean; cpuCeilingPerSecond?: number } | null = null;
  if (!args.skipLogin) {
    // One bcrypt verify at the configured cost, in this process, while the server is idle.
    log(`timing bcrypt verify at cost ${args.bcryptCost} (median of 10)…`);
    await sleep(300);
    const hash = await bcrypt.hash("bench-bcrypt-probe", args.bcryptCost);
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      const ok = await bcrypt.compare("bench-bcrypt-probe", hash);
      times.push(performance.now() - t);
      if (!ok) throw new Error("bcrypt.compare failed on its own hash");
    }
    const verifyMs = median(times);
    const limitPerSecond = cores / (verifyMs / 1000);

    log(`logins: ${args.loginConcurrency} concurrent for ${args.duration} s…`);
    let next = 0;
    const bodies = emails.map((email) => JSON.stringify({ query: LOGIN, variables: { input: { identity: email, password: PASSWORD, delivery: "TOKENS" } } }));
    const run = await cannon("login", {
      url: `${s.url}/graphql`,
      method: "POST",
      connections: args.loginConcurrency,
      duration: args.duration,
      headers: JSON_HEADERS,
      // Cycle through the pool: consecutive logins never share an identity.
      requests: [{ method: "POST", setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length] as string }) }],
      verifyBody: (body) => body.includes('"accessToken":"') && !body.includes('"errors"'),
    });
    const measured = summarize([run]);
    const ratio = measured.rps / limitPerSecond;
    login = {
      measured,
      bcrypt: { cost: args.bcryptCost, verifyMedianMs: round(verifyMs, 2), verifyMinMs: round(Math.min(...times), 2), verifyMaxMs: round(Math.max(...times), 2), cores },
      limitPerSecond: round(limitPerSecond, 2),
      ratio: round(ratio, 4),
      targetMet: ratio >= 0.85,
    };
    out(`2. login (delivery TOKENS) at concurrency ${args.loginConcurrency}, cycling through ${emails.length} users`);
    out(`   ${describe("login", measured)}`);
    out(`   bcrypt verify at cost ${args.bcryptCost} in the bench process: median ${fmt(verifyMs, 1)} ms (min ${fmt(Math.min(...times), 1)}, max ${fmt(Math.max(...times), 1)}, 10 compares)`);
    out(`   bcrypt limit = ${cores} cores ÷ ${fmt(verifyMs / 1000, 4)} s = ${fmt(limitPerSecond, 2)} logins/s; measured/limit ${pct(ratio)} (target ≥ 85%: ${login.targetMet ? "MET" : "NOT MET"})`);
    const cpuPerLogin = measured.cpuMsPerRequest.server + measured.cpuMsPerRequest.ferretdb;
    const ceiling = cpuPerLogin > 0 ? cores / (cpuPerLogin / 1000) : Number.NaN;
    login.cpuCeilingPerSecond = round(ceiling, 2);
    out(
      `   CPU per login: server ${fmt(measured.cpuMsPerRequest.server, 1)} ms (bcrypt threads included) + ferretdb ${fmt(measured.cpuMsPerRequest.ferretdb, 1)} ms = ` +
        `${fmt(cpuPerLogin / verifyMs, 2)}× one verify → with every core on logins at most ${fmt(ceiling, 2)} logins/s (${pct(ceiling / limitPerSecond)} of the bcrypt limit; for diagnosis)`,
    );
    out(`   server CPU per login by thread: ${Object.entries(measured.cpuMsPerRequest.serverByThread).map(([k, v]) => `${k} ${fmt(v, 1)} ms`).join(", ") || "n/a"}`);
    out(`   server libuv threadpool: ${uvShown}`);
    out();
    results.login = login;
  }

  const loadEnd = loadavg().map((l) => round(l, 2));
  results.loadAvgAtEnd = loadEnd;

  log("stopping the server…");
  const stopped = await s.stop();
  server = null;
  results.serverExit = stopped;
  out(`server stopped with SIGTERM: exit code ${stopped.code ?? "-"}, signal ${stopped.signal ?? "-"}${stopped.forced ? ", had to be SIGKILLed" : ""}; temp dir removed; load average at end: ${loadEnd.join(" ")}`);
  if (stopped.signal || stopped.orphans.length) {
    out(`   WARNING: the server did not shut down cleanly${stopped.signal ? ` (it died of ${stopped.signal} instead of exiting after its shutdown)` : ""}` +
      `${stopped.orphans.length ? `; left running and stopped by the benchmark: ${stopped.orphans.join(", ")}` : ""}`);
  }
  if (args.cpuProf) out(`server CPU profile written under ${relative(root, join(resultsDir, "profiles"))}/`);
  out();

  const yes = (b: boolean) => (b ? "yes" : "NO");
  const rows: string[][] = [["metric", "value", "target", "met"]];
  if (query) {
    rows.push(["health throughput (req/s)", fmt(query.health.rps, 0), "", ""]);
    rows.push(["health latency p50 / p99 (ms)", `${fmt(query.health.p50Ms, 2)} / ${fmt(query.health.p99Ms, 2)}`, "", ""]);
    rows.push(["me throughput (req/s)", fmt(query.me.rps, 0), "", ""]);
    rows.push(["me latency p50 / p99 (ms)", `${fmt(query.me.p50Ms, 2)} / ${fmt(query.me.p99Ms, 2)}`, "p99 < 25", yes(query.targets.meP99Under25Ms)]);
    rows.push(["me / health throughput", pct(query.ratio), ">= 60%", yes(query.targets.meThroughputAtLeast60PctOfHealth)]);
  }
  if (login) {
    rows.push(["login throughput (logins/s)", fmt(login.measured.rps, 2), "", ""]);
    rows.push(["login latency p50 / p99 (ms)", `${fmt(login.measured.p50Ms, 0)} / ${fmt(login.measured.p99Ms, 0)}`, "", ""]);
    rows.push([`bcrypt verify, cost ${args.bcryptCost} (ms)`, fmt(login.bcrypt.verifyMedianMs ?? Number.NaN, 1), "", ""]);
    rows.push([`bcrypt limit, ${cores} cores (logins/s)`, fmt(login.limitPerSecond, 2), "", ""]);
    rows.push(["login / bcrypt limit", pct(login.ratio), ">= 85%", yes(login.targetMet)]);
  }
  const others = [query?.health, query?.me, login?.measured].filter((x): x is Summary => !!x).map((x) => x.cpuCores.otherProcesses);
  const maxOthers = others.length ? Math.max(...others) : 0;
  rows.push(["other processes' CPU, worst phase (cores)", fmt(maxOthers, 2), "", ""]);
  out(table(rows));
  if (maxOthers > 0.25) out(`NOTE: other processes kept up to ${fmt(maxOthers, 2)} of the ${cores} cores busy during a measured phase; the figures above are lower than on an idle machine.`);

  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, "latest.json");
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  out();
  out(`results written to ${relative(root, file)}`);
}

// ---- lifecycle: the server never outlives the benchmark --------------------------------------------

let stopping = false;
const abort = async (code: number) => {
  if (stopping) return;
  stopping = true;
  if (code !== 1) process.stderr.write("[bench] interrupted: stopping the server…\n");
  current?.stop();
  if (server) {
    const s = server;
    server = null;
    await s.stop().catch(() => undefined);
  }
  process.exit(code);
};
process.once("SIGINT", () => void abort(130));
process.once("SIGTERM", () => void abort(143));
// Hard bound on the whole run, whatever happens (a hung server, a stuck request).
const watchdog = setTimeout(() => {
  process.stderr.write("benchmark watchdog: the run took too long; stopping\n");
  void abort(1);
}, 15 * 60_000);
watchdog.unref();

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    if (stopping) return; // interrupted: abort() is cleaning up and exits
    process.stderr.write(`benchmark failed: ${(err as Error).stack ?? String(err)}\n`);
    if (server) process.stderr.write(`--- last server output ---\n${server.tail()}\n`);
    await abort(1);
  },
);
