/**
 * The local stack the Worker benchmarks stand up: an embedded Postgres with the WebSocket proxy and
 * our migrations, and the Worker bundled by wrangler running in Miniflare with its Durable Objects
 * and (optionally) production's queue settings. Each bench adds its own bindings and peers.
 */
import type { Readable } from "node:stream";
import { Miniflare } from "miniflare";
import { freePort } from "../../scripts/lib/embedded-postgres";
import { runMigrations } from "../../scripts/lib/migrate";
import { startNeonWsProxy } from "../../scripts/lib/neon-ws-proxy";
import { deadLetterConsumer, queueDefinitions } from "../../worker/queues/definitions";
import { bundleWorker, COMPATIBILITY, startTempPostgres } from "./worker-bundle";

export interface BenchDatabase {
  /** postgres:// URL, for `pg` clients and the Worker's DATABASE_URL. */
  url: string;
  /** The Neon-compatible WebSocket proxy, for the Worker's NEON_WS_PROXY. */
  wsProxy: string;
  stop(): Promise<void>;
}

/** A migrated, throwaway Postgres under `storageDir`, reachable by the Worker through the proxy. */
export async function startBenchDatabase(
  storageDir: string,
  database: string,
  settings?: Record<string, string>,
): Promise<BenchDatabase> {
  const postgres = await startTempPostgres({ storageDir, database, settings });
  const proxy = await startNeonWsProxy({ port: await freePort() });
  await runMigrations({ databaseUrl: postgres.url, wsProxy: proxy.address });
  return {
    url: postgres.url,
    wsProxy: proxy.address,
    stop: async () => {
      await proxy.close();
      await postgres.stop();
    },
  };
}

/** Production's queue settings (definitions.ts): producers and consumers for every queue and its DLQ. */
function queueOptions() {
  const producers: Record<string, string> = {};
  const consumers: Record<string, object> = {};
  for (const q of Object.values(queueDefinitions)) {
    producers[q.binding] = q.name;
    producers[q.deadLetter.binding] = q.deadLetter.name;
    consumers[q.name] = {
      maxBatchSize: q.maxBatchSize,
      maxBatchTimeout: q.maxBatchTimeoutSeconds,
      maxRetries: q.maxRetries,
      deadLetterQueue: q.deadLetter.name,
    };
    consumers[q.deadLetter.name] = {
      maxBatchSize: deadLetterConsumer.maxBatchSize,
      maxBatchTimeout: deadLetterConsumer.maxBatchTimeoutSeconds,
      maxRetries: deadLetterConsumer.maxRetries,
    };
  }
  return { queueProducers: producers, queueConsumers: consumers };
}

/**
 * The Worker entry `entry` bundled by wrangler into `workDir`, in Miniflare with its Durable Objects
 * persisted under `doDir`. The Worker logs a line per request: its warnings and errors (stderr) are
 * kept, the rest dropped.
 */
export function startBenchWorker(opts: {
  entry: string;
  name: string;
  workDir: string;
  doDir: string;
  bindings: Record<string, string>;
  port?: number;
  queues?: boolean;
  inspectorPort?: number;
}): Miniflare {
  const outfile = bundleWorker({ entry: opts.entry, outdir: `${opts.workDir}/bundle`, name: opts.name });
  return new Miniflare({
    host: "127.0.0.1",
    ...(opts.port ? { port: opts.port } : {}),
    modules: true,
    modulesRoot: outfile.slice(0, outfile.lastIndexOf("/")),
    scriptPath: outfile,
    ...COMPATIBILITY,
    cf: false,
    // For a CPU profile of the Worker and its objects under load (Chrome DevTools or any CDP client).
    ...(opts.inspectorPort ? { inspectorPort: opts.inspectorPort } : {}),
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      stdout.resume();
      stderr.pipe(process.stderr);
    },
    durableObjectsPersist: opts.doDir,
    durableObjects: {
      BUSINESS_DO: { className: "BusinessDO", useSQLite: true },
      CALL_CAPACITY_DO: { className: "CallCapacityDO", useSQLite: true },
      RATE_LIMITER_DO: { className: "RateLimiterDO", useSQLite: true },
      LIVE_HUB_DO: { className: "LiveHubDO", useSQLite: true },
    },
    ...(opts.queues ? queueOptions() : {}),
    bindings: { ENVIRONMENT: "development", ...opts.bindings },
  });
}
