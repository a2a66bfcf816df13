/**
 * The shard process: `BAILEYS_SHARD_ID=1 SHARD_SECRET=... EDGE_EVENTS_URL=... tsx src/main.ts`.
 * SIGTERM/SIGINT → graceful shutdown (sockets closed, auth and outbox flushed), bounded by
 * SHUTDOWN_TIMEOUT_MS.
 */
import { ConfigError, loadConfig } from "./config.js";
import { createShard } from "./shard.js";

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const shard = createShard(config);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    shard.logger.info({ signal }, "shutting down");
    const timer = setTimeout(() => {
      shard.logger.error("shutdown timed out; exiting");
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    shard.shutdown().then(
      () => process.exit(0),
      (err) => {
        shard.logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  await shard.start();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
