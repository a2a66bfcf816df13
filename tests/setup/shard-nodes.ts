/**
 * Real WhatsApp shard nodes for the Worker tests: `shard-node` child processes with the fake
 * session driver (WhatsApp's servers cannot run here), on loopback ports chosen in the plan, so
 * the Worker reaches them through the same router and HTTP client as in production.
 *
 * Like the database plan, the plan crosses from vitest.config.ts to the global setup through an
 * environment variable.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../scripts/lib/embedded-postgres";

export interface ShardNodesPlan {
  secret: string;
  /** Base URL by shard number (1-based). */
  urls: string[];
}

const PLAN_VARIABLE = "PROSAAS_TEST_SHARDS_PLAN";
const SHARD_NODE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../shard-node");

export async function shardNodesPlan(count = 2): Promise<ShardNodesPlan> {
  const existing = process.env[PLAN_VARIABLE];
  if (existing) return JSON.parse(existing) as ShardNodesPlan;
  const urls: string[] = [];
  for (let i = 0; i < count; i++) urls.push(`http://127.0.0.1:${await freePort()}`);
  const plan = { secret: `test-shard-secret-${crypto.randomUUID()}`, urls };
  process.env[PLAN_VARIABLE] = JSON.stringify(plan);
  return plan;
}

export interface RunningShards {
  stop(): Promise<void>;
}

async function waitHealthy(url: string, child: ChildProcess, output: () => string): Promise<void> {
  // Generous: a shard node compiles its TypeScript at start, which takes long on a loaded machine.
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
  const children = plan.urls.map((url, index) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: SHARD_NODE_DIR,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        BAILEYS_SHARD_ID: String(index + 1),
        BAILEYS_HOST: "127.0.0.1",
        BAILEYS_PORT: new URL(url).port,
        SHARD_SECRET: plan.secret,
        SHARD_SESSION_DRIVER: "fake",
        SHARD_DATA_DIR: path.join(root, `shard-${index + 1}`),
        // The Worker under test has no HTTP port: event delivery is tested by signing events in
        // the tests. Deliveries here fail and stay in the shard's outbox, harmlessly.
        EDGE_EVENTS_URL: "http://127.0.0.1:9/internal/shards/events",
        OUTBOX_RETRY_MAX_MS: "60000",
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
