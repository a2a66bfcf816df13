import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, type ShardConfig } from "../../src/config.js";

export const TEST_SECRET = "test-shard-secret-0123456789";

/** A fresh directory under this run's temp root (removed when the run ends, see test/setup). */
export function tempDir(prefix = "shard-test-"): string {
  return mkdtempSync(join(process.env.SHARD_TEST_TMP ?? tmpdir(), prefix));
}

/** A config for in-process tests: fast timers, loopback only, silent logs. */
export function testConfig(overrides: Record<string, string> = {}): ShardConfig {
  return parseConfig({
    BAILEYS_SHARD_ID: "1",
    BAILEYS_PORT: "0",
    BAILEYS_HOST: "127.0.0.1",
    SHARD_SECRET: TEST_SECRET,
    EDGE_EVENTS_URL: "http://127.0.0.1:9/unused",
    SHARD_DATA_DIR: tempDir(),
    SQLITE_SYNCHRONOUS: "NORMAL",
    SHARD_SESSION_DRIVER: "fake",
    RECONNECT_BASE_MS: "20",
    RECONNECT_MAX_MS: "200",
    OUTBOX_RETRY_BASE_MS: "20",
    OUTBOX_RETRY_MAX_MS: "200",
    OUTBOX_POLL_MS: "100",
    OUTBOX_REQUEST_TIMEOUT_MS: "2000",
    WA_CONNECT_TIMEOUT_MS: "5000",
    WA_QUERY_TIMEOUT_MS: "3000",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    ...overrides,
  });
}
