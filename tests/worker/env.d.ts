// The Worker's env as the tests see it: the real bindings plus the test-only database URLs that
// vitest.config.ts adds; and the main module, so `exports.default` is typed.
type WorkerBindings = import("../../worker/env").Bindings;

declare namespace Cloudflare {
  interface GlobalProps {
    mainModule: typeof import("../../worker/index");
  }
  interface Env extends WorkerBindings {
    readonly [setting: string]: unknown;
    ENVIRONMENT: string;
    DATABASE_URL: string;
    NEON_WS_PROXY: string;
    TEST_FRESH_DATABASE_URL: string;
    TEST_BEHIND_DATABASE_URL: string;
    SHARD_SECRET: string;
    BAILEYS_SHARD_1_URL: string;
    BAILEYS_SHARD_2_URL: string;
    TEST_EDGE_RELAY_URL: string;
    TEST_WEBHOOK_RECEIVER_URL: string;
  }
}
