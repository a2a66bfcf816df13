import { defineConfig } from "vitest/config";

// Plain Node tests (not workerd): the shard is a Node service. Real child processes, sockets and
// SQLite files are used where the behaviour under test needs them.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    pool: "forks",
    globalSetup: ["test/setup/temp-root.ts"],
    testTimeout: 90_000,
    hookTimeout: 90_000,
  },
});
