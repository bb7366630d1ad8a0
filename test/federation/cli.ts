// The gql-auth command line as a real subprocess on the database of a running test server, with
// that server's secrets (as a deployment passes the same secrets to both).
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";
import type { TestServer } from "../support/server.js";
import type { Json } from "../support/json.js";

const BIN = fileURLToPath(new URL("../../bin/gql-auth.mjs", import.meta.url));

/** The test engine's URI with the database name in its path (keeps credentials and options). */
function withDbName(uri: string, dbName: string): string {
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/[^?]*)?(\?.*)?$/.exec(uri);
  if (!m) throw new Error(`unexpected database URI ${uri}`);
  return `${m[1]}/${dbName}${m[2] ?? ""}`;
}

/** Runs `gql-auth <args> --json` against `s`'s database; fails unless it exits 0; returns its JSON output. */
export function cliJson(s: TestServer, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Json> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: "test",
    MONGODB_URI: withDbName(inject("mongoUri"), s.running.db.conn.name),
    DATA_DIR: mkdtempSync(join(tmpdir(), "gqlauth-fed-cli-")),
    LOG_LEVEL: "silent",
    SECRETS_PEPPER: s.config.secrets.pepper,
    SECRETS_TOKEN_KEY: s.config.secrets.tokenKey,
    SECRETS_ENCRYPTION_KEY: s.config.secrets.encryptionKey,
    ...extraEnv,
  };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args, "--json"], { env, cwd: tmpdir(), timeout: 45_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`gql-auth ${args.join(" ")} failed (${String(err.code)})\nstdout: ${stdout}\nstderr: ${stderr}`));
      try {
        resolve(JSON.parse(stdout) as Json);
      } catch {
        reject(new Error(`gql-auth ${args.join(" ")}: output is not JSON: ${stdout}`));
      }
    });
  });
}
