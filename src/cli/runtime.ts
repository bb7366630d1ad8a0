// Opens the same app the server runs (config, database, kernel, feature services) without its
// HTTP layer or background jobs, and closes it again so the process exits promptly.
import { pino } from "pino";
import { ConfigError, loadConfig, type Config } from "../config/index.js";
import type { Logger } from "../core/logger.js";
import { createApp, type App } from "../app.js";
import { openDatabase, redactUri, type Database } from "../db/connection.js";
import type { LeanUser } from "../core/auth-state.js";
import { CliError, ConfigurationError, type Output } from "./framework.js";
import { resolveUser, summarize, userOutput, userText, type UserSummary } from "./identity.js";

/**
 * What a command runs with. Everything heavy (the app, mongoose, graphql) is reached through here,
 * so that command definitions, --help and usage errors load none of it.
 */
export interface CliApp {
  config: Config;
  app: App;
  /** Who did it, in events ("by" fields). */
  by: string;
  users: {
    /** By email, username or id; fails with USER_DOES_NOT_EXIST. */
    resolve(identity: string): Promise<LeanUser>;
    summarize(user: LeanUser, withSessions?: boolean): Promise<UserSummary>;
    /** "<verb> <email> (<id>)<extra>" for people, the user summary for --json. */
    output(verb: string, user: LeanUser, extra?: string): Promise<Output>;
    text(summary: UserSummary): string;
  };
  /** Lazily loaded kernel modules a command may need for its errors. */
  kernel: () => Promise<{ AppError: typeof import("../core/errors.js").AppError; USERS: typeof import("../core/users.js").USERS }>;
}

/** Config from the environment; the log level defaults to warn (a CLI should be quiet). */
export function cliConfig(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env.LOG_LEVEL ? {} : { log: { level: "warn" } }, env);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigurationError(`configuration error: ${err.message}`);
    throw err;
  }
}

function cliContext(config: Config, app: App): CliApp {
  const ctx: CliApp = {
    config,
    app,
    by: "cli",
    users: {
      resolve: (identity) => resolveUser(app, identity),
      summarize: (user, withSessions = false) => summarize(app, user, withSessions),
      output: (verb, user, extra = "") => userOutput(app, verb, user, extra),
      text: userText,
    },
    kernel: async () => ({ AppError: (await import("../core/errors.js")).AppError, USERS: (await import("../core/users.js")).USERS }),
  };
  return ctx;
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
    return await fn(cliContext(config, app));
  } finally {
    await app.stop().catch(() => undefined);
    await db.close();
  }
}
