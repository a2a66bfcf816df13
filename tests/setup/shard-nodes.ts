/**
 * Real WhatsApp shard nodes for the Worker tests: `shard-node` child processes with the fake
 * session driver (WhatsApp's servers cannot run here), on loopback ports chosen in the plan, so
 * the Worker reaches them through the same router and HTTP client as in production.
 *
 * Each shard gets its own key, derived from the plan's master secret exactly as the edge derives
 * it from SHARD_SECRET (contracts/shard-signing.ts), so the Worker and the shards agree without
 * the test config listing every key.
 *
 * The shards deliver their events to an edge relay (./edge-relay.ts): a test that attaches a
 * business passes that business's deliveries, as sent by the shard, to the Worker under test.
 *
 * Like the database plan, the plan crosses from vitest.config.ts to the global setup through an
 * environment variable.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { deriveShardSecret } from "../../contracts/shard-signing";
import { freePort } from "../../scripts/lib/embedded-postgres";
import { type EdgeRelay, startEdgeRelay } from "./edge-relay";

export interface ShardNodesPlan {
  /** The master secret (the Worker's SHARD_SECRET); each shard gets the key derived from it. */
  secret: string;
  /** Base URL by shard number (1-based). */
  urls: string[];
  /** Where the shards deliver their events (./edge-relay.ts). */
  relayUrl: string;
}

const PLAN_VARIABLE = "PROSAAS_TEST_SHARDS_PLAN";
const SHARD_NODE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../shard-node");

export async function shardNodesPlan(count = 2): Promise<ShardNodesPlan> {
  const existing = process.env[PLAN_VARIABLE];
  if (existing) return JSON.parse(existing) as ShardNodesPlan;
  const urls: string[] = [];
  for (let i = 0; i < count; i++) urls.push(`http://127.0.0.1:${await freePort()}`);
  const relayUrl = `http://127.0.0.1:${await freePort()}`;
  const plan = { secret: `test-shard-secret-${crypto.randomUUID()}`, urls, relayUrl };
  process.env[PLAN_VARIABLE] = JSON.stringify(plan);
  return plan;
}

export interface RunningShards {
  stop(): Promise<void>;
}

async function waitHealthy(url: string, child: ChildProcess, output: () => string): Promise<void> {
  // Generous: on a busy 2-core machine loading Baileys through tsx alone can take most of a minute.
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`shard node exited during startup:\n${output()}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`shard node at ${url} did not become healthy:\n${output()}`);
}

export async function startShardNodes(plan: ShardNodesPlan): Promise<RunningShards> {
  const root = await mkdtemp(path.join(tmpdir(), "prosaas-test-shards-"));
  const relay: EdgeRelay = await startEdgeRelay(Number(new URL(plan.relayUrl).port));
  const keys = await Promise.all(plan.urls.map((_, index) => deriveShardSecret(plan.secret, index + 1)));
  const children = plan.urls.map((url, index) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: SHARD_NODE_DIR,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        BAILEYS_SHARD_ID: String(index + 1),
        BAILEYS_HOST: "127.0.0.1",
        BAILEYS_PORT: new URL(url).port,
        SHARD_SECRET: keys[index]!,
        SHARD_SESSION_DRIVER: "fake",
        SHARD_DATA_DIR: path.join(root, `shard-${index + 1}`),
        // The Worker under test has no HTTP port: deliveries go to the relay, which passes those of
        // attached businesses to the Worker and answers the rest 503 (they wait in the outbox).
        EDGE_EVENTS_URL: `${plan.relayUrl}/internal/shards/events`,
        OUTBOX_RETRY_MAX_MS: "60000",
        OUTBOX_MAX_REFUSALS: "3",
        LOG_LEVEL: "error",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr?.on("data", (c: Buffer) => {
      out += c.toString();
    });
    return { child, url, output: () => out };
  });
  await Promise.all(children.map((c) => waitHealthy(c.url, c.child, c.output)));
  return {
    stop: async () => {
      await relay.close();
      await Promise.all(
        children.map(
          ({ child }) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null) return resolve();
              child.once("exit", () => resolve());
              child.kill("SIGTERM");
              setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
            }),
        ),
      );
    },
  };
}
