// Connects to MONGODB_URI or to the embedded FerretDB. Commands are never buffered: with the
// database down a query fails within serverSelectionTimeoutMs and the request gets
// DATABASE_UNAVAILABLE, while the process keeps running and reconnects in the background.
import mongoose, { type Connection } from "mongoose";
import type { Config } from "../config/index.js";
import type { Logger } from "../core/logger.js";
import { startEmbeddedDb, type EmbeddedDb } from "./embedded.js";

export const redactUri = (uri: string): string => uri.replace(/\/\/([^@/]+)@/, "//***@");

export interface Database {
  conn: Connection;
  uri: string;
  /**
   * Connects, retrying every 2 s until it works, then runs onReady (indexes, bootstrap) once.
   * The returned promise resolves when both are done.
   */
  connect(onReady: () => Promise<void>): Promise<void>;
  /** Connected and onReady done. */
  isReady(): boolean;
  isUp(): boolean;
  close(): Promise<void>;
}

export async function openDatabase(config: Config, log: Logger, dbName?: string): Promise<Database> {
  let embedded: EmbeddedDb | null = null;
  let uri = config.database.uri;
  if (!uri) {
    embedded = await startEmbeddedDb({ dataDir: config.dataDir, port: config.database.embeddedPort, log });
    uri = embedded.uri;
  }
  const conn = mongoose.createConnection();
  conn.set("bufferCommands", false);
  conn.set("autoIndex", false);
  conn.set("autoCreate", false);
  let closed = false;
  const options = {
    ...(dbName ? { dbName } : {}),
    ...(!dbName && !config.database.uri ? { dbName: "gqlauth" } : {}),
    serverSelectionTimeoutMS: config.database.serverSelectionTimeoutMs,
    socketTimeoutMS: config.database.socketTimeoutMs,
    maxPoolSize: config.database.maxPoolSize,
    heartbeatFrequencyMS: 2_000, // notice a lost database within ~2 s (health, logs)
    bufferCommands: false,
  };
  conn.on("disconnected", () => !closed && log.warn({ uri: redactUri(uri) }, "database disconnected; requests get DATABASE_UNAVAILABLE until it is back"));
  conn.on("reconnected", () => log.info({ uri: redactUri(uri) }, "database reconnected"));

  let ready = false;
  const retryLater = async (attempt: number, err: unknown) => {
    log.error(
      { uri: redactUri(uri), attempt, err: (err as Error).message },
      "cannot reach the database at this URI: check that it is running and reachable, or unset MONGODB_URI to use the embedded one; retrying in 2 s",
    );
    await new Promise((r) => setTimeout(r, 2000));
  };
  const connect = async (onReady: () => Promise<void>) => {
    for (let attempt = 1; !closed; attempt++) {
      try {
        if (conn.readyState !== 1) await conn.openUri(uri, options);
      } catch (err) {
        // A URI that cannot be parsed will never work: fail now instead of retrying forever.
        if ((err as Error).name === "MongoParseError" || /Invalid scheme|Invalid connection string/i.test((err as Error).message)) {
          throw new Error(`MONGODB_URI is not a valid MongoDB connection string (${redactUri(uri)}): ${(err as Error).message}`);
        }
        await retryLater(attempt, err);
        continue;
      }
      try {
        await onReady();
      } catch (err) {
        // Only an outage is worth retrying; anything else (e.g. a wrong secret) fails the start.
        if (!isDatabaseDown(err)) throw err;
        await retryLater(attempt, err);
        continue;
      }
      ready = true;
      log.info({ uri: redactUri(uri), db: conn.name }, "database ready");
      return;
    }
  };

  return {
    conn,
    uri,
    connect,
    isReady: () => ready && conn.readyState === 1,
    isUp: () => conn.readyState === 1,
    close: async () => {
      closed = true;
      await conn.close().catch(() => undefined);
      await embedded?.stop();
    },
  };
}

/** Server codes that mean the server is going away: ShutdownInProgress, InterruptedAtShutdown. */
const SHUTDOWN_CODES = new Set([91, 11600]);

/** Driver failures that mean "database unreachable", as opposed to bugs (also when wrapped). */
export function isDatabaseDown(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 3) return false;
  if (/^Mongo(ServerSelection|Network|NotConnected|PoolCleared|NetworkTimeout|Topology)/.test(err.name)) return true;
  if (/before initial connection is complete|Client must be connected|connection .* closed|ECONNREFUSED|ECONNRESET|EPIPE/i.test(err.message)) return true;
  if (SHUTDOWN_CODES.has(Number((err as { code?: unknown }).code))) return true;
  return isDatabaseDown((err as { cause?: unknown }).cause, depth + 1);
}
