// Opens the same app the server runs (config, database, kernel, feature services) without its
// HTTP layer or background jobs, and closes it again so the process exits promptly.
import { pino } from "pino";
import { loadConfig, type Config } from "../config/index.js";
import type { Logger } from "../core/logger.js";
import { createApp, type App } from "../app.js";
import { openDatabase, redactUri, type Database } from "../db/connection.js";
import { CliError } from "./framework.js";

export interface CliApp {
  config: Config;
  app: App;
  /** Who did it, in events ("by" fields). */
  by: string;
}

/** Config from the environment; the log level defaults to warn (a CLI should be quiet). */
export function cliConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return loadConfig(env.LOG_LEVEL ? {} : { log: { level: "warn" } }, env);
}

/** Log lines go to stderr so stdout carries only the command's output. */
export const cliLogger = (config: Config): Logger =>
  pino(
    { level: config.log.level, base: undefined, redact: { paths: ["password", "*.password", "token", "*.token"], censor: "[redacted]" } },
    pino.destination({ fd: 2, sync: true }),
  );

/**
 * Runs `fn` with a connected app and always closes everything afterwards. The database must be
 * reachable within serverSelectionTimeoutMs + 5 s, else the command fails instead of retrying forever.
 */
export async function withApp<T>(config: Config, fn: (ctx: CliApp) => Promise<T>): Promise<T> {
  const log = cliLogger(config);
  const db: Database = await openDatabase(config, log).catch((err: unknown) => {
    throw new CliError(`cannot open the database: ${(err as Error).message}`, "DATABASE_UNAVAILABLE");
  });
  const app = createApp(config, db.conn, log);
  try {
    const waitMs = config.database.serverSelectionTimeoutMs + 5000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new CliError(
              `cannot reach the database at ${redactUri(db.uri)} within ${Math.round(waitMs / 1000)} s: check that it is running, or unset MONGODB_URI to use the embedded one`,
              "DATABASE_UNAVAILABLE",
            ),
          ),
        waitMs,
      );
    });
    try {
      await Promise.race([db.connect(() => app.onDatabaseReady()), timeout]);
    } finally {
      clearTimeout(timer);
    }
    return await fn({ config, app, by: "cli" });
  } finally {
    await app.stop().catch(() => undefined);
    await db.close();
  }
}
