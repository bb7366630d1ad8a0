// The command-line tool as a real subprocess (`node bin/gql-auth.mjs …`, from another working
// directory) on the database of a running test server, with that server's secrets, as a
// deployment runs both.
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";
import type { TestServer } from "./server.js";

const BIN = fileURLToPath(new URL("../../bin/gql-auth.mjs", import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type RunCli = (args: string[], input?: string) => Promise<CliResult>;

/** The test engine's URI with the database name in its path (keeps credentials and options). */
function withDbName(uri: string, dbName: string): string {
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/[^?]*)?(\?.*)?$/.exec(uri);
  if (!m) throw new Error(`unexpected database URI ${uri}`);
  return `${m[1]}/${dbName}${m[2] ?? ""}`;
}

/**
 * A runner of the CLI against `s`, whose database is `dbName` (start the server with that name).
 * The server's secrets go to the CLI too: it must hash passwords with the same pepper and seal
 * signing keys with the same encryption key.
 */
export function cliFor(s: TestServer, dbName: string, extraEnv: Record<string, string> = {}): RunCli {
  const cwd = mkdtempSync(join(tmpdir(), "gqlauth-cli-cwd-"));
  const { secrets } = s.config;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: "test",
    MONGODB_URI: withDbName(inject("mongoUri"), dbName),
    DATA_DIR: mkdtempSync(join(tmpdir(), "gqlauth-cli-data-")),
    LOG_LEVEL: "silent",
    PASSWORDS_BCRYPT_COST: "4",
    SECRETS_PEPPER: secrets.pepper,
    SECRETS_TOKEN_KEY: secrets.tokenKey,
    SECRETS_ENCRYPTION_KEY: secrets.encryptionKey,
    ...extraEnv,
  };
  return (args, input = "") =>
    new Promise((resolve) => {
      const child = execFile(process.execPath, [BIN, ...args], { env, cwd, timeout: 45_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
      });
      child.stdin?.end(input);
    });
}
