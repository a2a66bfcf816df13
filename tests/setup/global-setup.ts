/**
 * Starts what the tests need before any test file runs: Postgres (embedded unless DATABASE_URL is
 * set), the Neon WebSocket proxy, and the migrations, applied once per run. Stops them after.
 */
import type { TestProject } from "vitest/node";
import { type LocalPostgres, startEmbeddedPostgres } from "../../scripts/lib/embedded-postgres";
import { createDatabase, runMigrations, withNodePool } from "../../scripts/lib/migrate";
import { type NeonWsProxy, startNeonWsProxy } from "../../scripts/lib/neon-ws-proxy";
import { type FakeTwilio, startFakeTwilio } from "../../scripts/twilio-simulator/server";
import { emptyDatabaseUrl } from "./empty-database";
import { type RunningShards, shardNodesPlan, startShardNodes } from "./shard-nodes";
import { testDatabasePlan } from "./test-database";
import { fakeTwilioPlan } from "./twilio-plan";
import { twilioSignatureVectors } from "./twilio-vectors";
import { startWebhookReceiver, type WebhookReceiver, webhookReceiverPlan } from "./webhook-receiver";

let pg: LocalPostgres | undefined;
let proxy: NeonWsProxy | undefined;
let fakeTwilio: FakeTwilio | undefined;
let shards: RunningShards | undefined;
let webhookReceiver: WebhookReceiver | undefined;

export async function setup(project: TestProject): Promise<void> {
  const plan = await testDatabasePlan();
  if (plan.embedded) {
    pg = await startEmbeddedPostgres({
      dataDir: plan.embedded.dataDir,
      port: plan.embedded.port,
      database: plan.embedded.database,
    });
  }
  if (plan.proxyPort) proxy = await startNeonWsProxy({ port: plan.proxyPort });
  await runMigrations({ databaseUrl: plan.databaseUrl, wsProxy: plan.wsProxy });

  // For /ready: one database never migrated, one whose latest migration is missing.
  const wsProxy = plan.wsProxy;
  const dbName = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));
  await createDatabase({ databaseUrl: plan.databaseUrl, wsProxy, name: dbName(plan.freshDatabaseUrl), recreate: true });
  await createDatabase({
    databaseUrl: plan.databaseUrl,
    wsProxy,
    name: dbName(plan.behindDatabaseUrl),
    recreate: true,
  });
  await runMigrations({ databaseUrl: plan.behindDatabaseUrl, wsProxy });
  await withNodePool(plan.behindDatabaseUrl, wsProxy, (pool) =>
    pool.query(
      "DELETE FROM drizzle.__drizzle_migrations WHERE created_at = (SELECT max(created_at) FROM drizzle.__drizzle_migrations)",
    ),
  );
  // For first-run setup: a migrated database with no users (tests/worker/setup.test.ts).
  await createDatabase({
    databaseUrl: plan.databaseUrl,
    wsProxy,
    name: dbName(emptyDatabaseUrl(plan.databaseUrl)),
    recreate: true,
  });
  await runMigrations({ databaseUrl: emptyDatabaseUrl(plan.databaseUrl), wsProxy });
  project.provide("databaseUrl", plan.databaseUrl);
  project.provide("wsProxy", plan.wsProxy ?? "");

  // Twilio's REST API, faked on loopback; and webhook signatures computed by the official library.
  const twilio = await fakeTwilioPlan();
  fakeTwilio = await startFakeTwilio({ port: twilio.port, accountSid: twilio.accountSid, authToken: twilio.authToken });
  project.provide("twilioVectors", twilioSignatureVectors(twilio));

  // A business's webhook endpoint on loopback (tests/worker/webhooks.test.ts).
  webhookReceiver = await startWebhookReceiver((await webhookReceiverPlan()).port);

  // WhatsApp: two real shard nodes with the fake session driver.
  shards = await startShardNodes(await shardNodesPlan());
}

export async function teardown(): Promise<void> {
  await shards?.stop();
  await webhookReceiver?.close();
  await fakeTwilio?.close();
  await proxy?.close();
  await pg?.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    wsProxy: string;
    twilioVectors: import("./twilio-vectors").TwilioVector[];
  }
}
