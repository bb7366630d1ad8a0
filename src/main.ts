// Process entry: config → database → server → listen; clean shutdown on SIGINT/SIGTERM.
import { loadConfig, ConfigError } from "./config/index.js";
import { createLogger } from "./core/logger.js";
import { startServer } from "./server.js";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.log.level);
  const running = await startServer({ config, log });
  log.info(`GraphQL endpoint: ${running.url}/graphql (JWKS: ${running.url}/.well-known/jwks.json, health: ${running.url}/health)`);
  const stop = (signal: string) => {
    log.info({ signal }, "shutting down");
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
