import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { emptyDatabaseUrl } from "./tests/setup/empty-database";
import { shardNodesPlan } from "./tests/setup/shard-nodes";
import { testDatabasePlan } from "./tests/setup/test-database";
import { fakeTwilioPlan } from "./tests/setup/twilio-plan";
import { webhookReceiverPlan } from "./tests/setup/webhook-receiver";
import { deadLetterConsumer, queueDefinitions } from "./worker/queues/definitions";

const plan = await testDatabasePlan();
const twilio = await fakeTwilioPlan();
const shards = await shardNodesPlan();
const webhookReceiver = await webhookReceiverPlan();

/**
 * Local queue consumers for tests: the production batch settings from definitions.ts, except a
 * batch timeout of 0 so messages are delivered at once (a 1 s timeout adds ~1 s per test).
 */
const queueConsumers = Object.fromEntries(
  Object.values(queueDefinitions).flatMap((q) => [
    [
      q.name,
      {
        maxBatchSize: q.maxBatchSize,
        maxBatchTimeout: 0,
        maxRetries: q.maxRetries,
        deadLetterQueue: q.deadLetter.name,
      },
    ],
    [
      q.deadLetter.name,
      { maxBatchSize: deadLetterConsumer.maxBatchSize, maxBatchTimeout: 0, maxRetries: deadLetterConsumer.maxRetries },
    ],
  ]),
);

export default defineConfig({
  test: {
    globalSetup: ["./tests/setup/global-setup.ts"],
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ENVIRONMENT: "test",
                DATABASE_URL: plan.databaseUrl,
                NEON_WS_PROXY: plan.wsProxy ?? "",
                TEST_FRESH_DATABASE_URL: plan.freshDatabaseUrl,
                TEST_BEHIND_DATABASE_URL: plan.behindDatabaseUrl,
                TEST_EMPTY_DATABASE_URL: emptyDatabaseUrl(plan.databaseUrl),
                // Twilio: the local fake (scripts/twilio-simulator/, started by the global setup).
                TWILIO_API_BASE_URL: twilio.baseUrl,
                TWILIO_ACCOUNT_SID: twilio.accountSid,
                TWILIO_AUTH_TOKEN: twilio.authToken,
                PUBLIC_HOST: twilio.publicHost,
                // Twilio's calls per second out of the way of tests that dial many calls; the pacing
                // test (call-create-pacing.test.ts) sets its own.
                TWILIO_CALLS_PER_SECOND: "1000",
                // WhatsApp: two shard nodes with the fake session driver (tests/setup/shard-nodes.ts).
                SHARD_SECRET: shards.secret,
                BAILEYS_NUM_SHARDS: String(shards.urls.length),
                ...Object.fromEntries(shards.urls.map((url, i) => [`BAILEYS_SHARD_${i + 1}_URL`, url])),
                TEST_EDGE_RELAY_URL: shards.relayUrl,
                // Outbound webhooks: a loopback receiver (tests/setup/webhook-receiver.ts); retries
                // at once and 4 attempts, so "fails for a while" and "runs out" take milliseconds.
                TEST_WEBHOOK_RECEIVER_URL: webhookReceiver.url,
                WEBHOOK_BACKOFF_BASE_SECONDS: "0",
                WEBHOOK_MAX_ATTEMPTS: "4",
              },
              queueConsumers,
            },
          }),
        ],
        test: {
          name: "worker",
          include: ["tests/worker/**/*.test.ts"],
          // The first request of a file loads the whole Worker (and each Durable Object) into
          // workerd through Vite: a few seconds on 2 cores.
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: "node",
          environment: "node",
          include: ["tests/node/**/*.test.ts"],
        },
      },
      {
        // `npm run dev` started as a user starts it (tests/e2e/dev-stack.ts), driven over HTTP.
        test: {
          name: "e2e",
          environment: "node",
          include: ["tests/e2e/**/*.test.ts"],
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: "browser",
          environment: "node",
          include: ["tests/browser/**/*.test.ts"],
          // One real local stack (scripts/dev.ts) for every file, each file on a business of its own:
          // a stack takes 30-90 s to start on a busy 2-core machine.
          globalSetup: ["./tests/browser/lib/global-stack.ts"],
          testTimeout: 120_000,
          hookTimeout: 420_000,
        },
      },
    ],
  },
});
