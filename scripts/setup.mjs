#!/usr/bin/env node
// Installs what the project needs on a fresh machine, idempotently (a second run takes well under
// a second): npm dependencies from the lockfile, and the embedded database engine (FerretDB,
// built from the Go module proxy with the versions pinned in scripts/ferretdb/go.sum).
// Uses only Node built-ins, because it runs before dependencies exist.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const say = (msg) => process.stderr.write(`[setup] ${msg}\n`);
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], ...opts });

function ensureDependencies() {
  const lock = readFileSync(join(root, "package-lock.json"));
  const stamp = join(root, "node_modules", ".setup-lock-sha256");
  const want = createHash("sha256").update(lock).digest("hex");
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === want) return;
  say("installing npm dependencies (npm ci)…");
  const t = Date.now();
  run("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: root });
  writeFileSync(stamp, want);
  say(`dependencies installed in ${((Date.now() - t) / 1000).toFixed(0)} s`);
}

function ferretdbVersion() {
  const m = /github\.com\/FerretDB\/FerretDB (v[\d.]+)/.exec(readFileSync(join(root, "scripts/ferretdb/go.mod"), "utf8"));
  if (!m) throw new Error("scripts/ferretdb/go.mod names no FerretDB version");
  return m[1];
}

function ensureFerretdb() {
  const version = ferretdbVersion();
  const bin = join(root, ".tools", `ferretdb-${version}`, "ferretdb");
  if (existsSync(bin)) return;
  try {
    execFileSync("go", ["version"], { stdio: "ignore" });
  } catch {
    throw new Error("Go is needed once to build the embedded database (FerretDB). Install Go, or set MONGODB_URI to an existing MongoDB.");
  }
  say(`building FerretDB ${version} (first run only; a few minutes on 2 cores)…`);
  const t = Date.now();
  const build = join(root, ".tools", "ferretdb-build");
  rmSync(build, { recursive: true, force: true });
  mkdirSync(build, { recursive: true });
  for (const f of ["go.mod", "go.sum", "tools.go"]) cpSync(join(root, "scripts/ferretdb", f), join(build, f));
  const env = { ...process.env, GOFLAGS: "-buildvcs=false", GOTOOLCHAIN: "local", CGO_ENABLED: "0" };
  // The module zip lacks build/version/version.txt (FerretDB generates it in its own build), and
  // go:embed needs it: vendor the pinned modules (checked against go.sum) and add the file there.
  run("go", ["mod", "vendor"], { cwd: build, env });
  writeFileSync(join(build, "vendor/github.com/FerretDB/FerretDB/build/version/version.txt"), `${version}\n`);
  mkdirSync(dirname(bin), { recursive: true });
  run("go", ["build", "-mod=vendor", "-trimpath", "-o", bin, "github.com/FerretDB/FerretDB/cmd/ferretdb"], { cwd: build, env });
  rmSync(build, { recursive: true, force: true });
  say(`FerretDB built in ${((Date.now() - t) / 1000).toFixed(0)} s: ${bin}`);
}

// The browser test (test/browser) drives Debian's Chromium: installed with apt-get when missing
// (a check of one path when present). `npm start` does not need it.
const CHROMIUM = "/usr/bin/chromium";

function ensureChromium() {
  if (existsSync(CHROMIUM)) return;
  const root = process.getuid?.() === 0;
  const apt = (args) => run(root ? "apt-get" : "sudo", root ? args : ["-n", "apt-get", ...args], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  say("installing Debian's chromium for the browser test (first run only)…");
  const t = Date.now();
  try {
    apt(["update", "-qq"]);
    apt(["install", "-y", "-qq", "--no-install-recommends", "chromium"]);
  } catch (err) {
    throw new Error(`could not install Chromium (${err.message}). The browser test needs ${CHROMIUM}: run \`apt-get install chromium\` as root, then npm test again.`);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium but ${CHROMIUM} is still missing`);
  say(`chromium installed in ${((Date.now() - t) / 1000).toFixed(0)} s`);
}

try {
  ensureDependencies();
  if (!process.env.MONGODB_URI || process.argv.includes("--ferretdb")) ensureFerretdb();
  // Only the tests need a browser (npm test, or npm run setup for everything): not npm start, not the bench.
  if (["pretest", "setup"].includes(process.env.npm_lifecycle_event ?? "") || process.argv.includes("--chromium")) ensureChromium();
} catch (err) {
  say(`FAILED: ${err.message}`);
  process.exit(1);
}
