// Starts one real database engine for the whole run (the embedded FerretDB, or MONGODB_URI when
// set); every test server then uses its own database on it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startEmbeddedDb, type EmbeddedDb } from "../../src/db/embedded.js";
import { createLogger } from "../../src/core/logger.js";
import { freePort } from "./net.js";

declare module "vitest" {
  export interface ProvidedContext {
    mongoUri: string;
  }
}


let db: EmbeddedDb | null = null;
let dir: string | null = null;

export async function setup(project: TestProject): Promise<void> {
  if (process.env.MONGODB_URI) {
    project.provide("mongoUri", process.env.MONGODB_URI);
    return;
  }
  dir = mkdtempSync(join(tmpdir(), "gqlauth-test-"));
  db = await startEmbeddedDb({ dataDir: dir, port: await freePort(), log: createLogger("warn") });
  project.provide("mongoUri", db.uri);
}

export async function teardown(): Promise<void> {
  await db?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
