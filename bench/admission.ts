/**
 * Call admission, new design vs old, on this machine: `npm run bench:admission [-- --ops 2000
 * --concurrency 20 --attempts 200 --trials 5]`. Figures only, never pass/fail. Loopback only.
 *
 * New: the real BusinessDO + CallCapacityDO in Miniflare (workerd), driven from inside a Worker
 *      through worker/calls/admission.ts; the Worker is bundled by `wrangler deploy --dry-run` first.
 * Old: the Flask system's design on embedded PostgreSQL 17 with `pg`: COUNT active outbound calls of
 *      the business, then INSERT if under the cap (each worker on its own connection, as the old
 *      gunicorn workers were); release = UPDATE to completed. Fast because it is wrong.
 * Correct peer: the same on Postgres done right — one transaction: a per-business advisory
 *      transaction lock, COUNT the business's active calls, then the platform-wide lock and COUNT,
 *      then INSERT, COMMIT; release = UPDATE to completed. Same workload, same concurrency.
 *
 * Printed: reserve+release throughput and p50/p99 latency at the same concurrency, cap violations
 * (admitted beyond the cap of 3) when N attempts for one business arrive at once, for all three,
 * and what one DO cycle costs (object calls and storage writes; which are on the caller's path).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Miniflare } from "miniflare";
import pg from "pg";
import { bundleWorker, COMPATIBILITY, startTempPostgres } from "./lib/worker-bundle";

const { values: args } = parseArgs({
  options: {
    ops: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "20" },
    businesses: { type: "string", default: "20" },
    attempts: { type: "string", default: "200" },
    trials: { type: "string", default: "5" },
    /** Where both systems keep their data (the DOs' SQLite files, Postgres' data dir): same filesystem, same fsync. */
    "storage-dir": { type: "string", default: tmpdir() },
  },
});
const STORAGE_DIR = path.resolve(args["storage-dir"]);
const OPS = Number(args.ops);
const CONCURRENCY = Number(args.concurrency);
const BUSINESSES = Number(args.businesses);
const ATTEMPTS = Number(args.attempts);
const TRIALS = Number(args.trials);
const CAP = 3;
/** The platform cap, out of the way for throughput in every design (as MAX_CONCURRENT_CALLS is for the DOs). */
const PLATFORM_CAP = 100_000;
if (![OPS, CONCURRENCY, BUSINESSES, ATTEMPTS, TRIALS].every((n) => Number.isInteger(n) && n > 0) || ATTEMPTS > 350) {
  throw new Error("ops, concurrency, businesses, trials must be positive integers; attempts at most 350");
}

interface Figures {
  opsPerSecond: number;
  p50: number;
  p99: number;
  violations: number[];
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summarise(latencies: number[], elapsedMs: number, ops: number) {
  const sorted = latencies.slice().sort((a, b) => a - b);
  return { opsPerSecond: ops / (elapsedMs / 1000), p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

async function durableObjects(workDir: string): Promise<Figures> {
  const storage = await mkdtemp(path.join(STORAGE_DIR, "prosaas-bench-do-"));
  const outdir = path.join(workDir, "bundle");
  const outfile = bundleWorker({ entry: "bench/admission-worker.ts", outdir, name: "prosaas-bench-admission" });
  const mf = new Miniflare({
    host: "127.0.0.1",
    modules: true,
    modulesRoot: outdir,
    scriptPath: outfile,
    ...COMPATIBILITY,
    cf: false,
    durableObjectsPersist: storage,
    durableObjects: {
      BUSINESS_DO: { className: "BusinessDO", useSQLite: true },
      CALL_CAPACITY_DO: { className: "CallCapacityDO", useSQLite: true },
    },
    // The platform cap out of the way for throughput; the business cap is the default 3.
    bindings: {
      ENVIRONMENT: "test",
      MAX_CONCURRENT_CALLS: String(PLATFORM_CAP),
      BUSINESS_CALL_CAP_DEFAULT: String(CAP),
    },
  });
  try {
    const get = async <T>(pathAndQuery: string): Promise<T> => {
      const res = await mf.dispatchFetch(`http://bench.local${pathAndQuery}`);
      if (!res.ok) throw new Error(`${pathAndQuery}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    };
    type Run = { elapsedMs: number; latencies: number[]; admitted: number; refused: number };
    // Warm up: load the Worker and create the objects.
    await get<Run>(`/throughput?ops=${BUSINESSES * 10}&concurrency=${CONCURRENCY}&businesses=${BUSINESSES}&base=1`);
    const run = await get<Run>(`/throughput?ops=${OPS}&concurrency=${CONCURRENCY}&businesses=${BUSINESSES}&base=1`);
    const violations: number[] = [];
    for (let t = 0; t < TRIALS; t++) {
      const v = await get<{ admitted: number; cap: number }>(
        `/violations?attempts=${ATTEMPTS}&business=${500_000 + t}`,
      );
      violations.push(Math.max(0, v.admitted - CAP));
    }
    return { ...summarise(run.latencies, run.elapsedMs, OPS), violations };
  } finally {
    await mf.dispose();
    await rm(storage, { recursive: true, force: true });
  }
}

async function postgres(design: "count-then-insert" | "locked"): Promise<Figures> {
  const server = await startTempPostgres({
    storageDir: STORAGE_DIR,
    database: design === "locked" ? "bench_admission_locked" : "bench_admission",
  });
  const pool = new pg.Pool({ connectionString: server.url, max: Math.max(CONCURRENCY, ATTEMPTS) + 2 });
  let stopping = false;
  // pool.end() does not wait for sockets to close, so the server's shutdown notice can reach idle clients.
  pool.on("error", (err) => {
    if (!stopping) console.error(`[postgres pool] ${err.message}`);
  });
  try {
    await pool.query(`CREATE TABLE call_log (
      id bigserial PRIMARY KEY, business_id int NOT NULL, direction text NOT NULL, status text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now())`);
    await pool.query("CREATE INDEX call_log_active ON call_log (business_id, direction, status)");
    await pool.query(
      "CREATE INDEX call_log_platform_active ON call_log (id) WHERE status IN ('initiated', 'ringing', 'in-progress')",
    );

    // The old call_limiter: count active outbound calls of the business, then record the new one.
    const reserve = async (client: pg.PoolClient, businessId: number): Promise<number | null> => {
      const { rows } = await client.query<{ n: number }>(
        `SELECT COUNT(*)::int AS n FROM call_log WHERE business_id = $1 AND direction = 'outbound'
           AND status IN ('initiated', 'ringing', 'in-progress') AND created_at > now() - interval '30 minutes'`,
        [businessId],
      );
      if (rows[0]!.n >= CAP) return null;
      const inserted = await client.query<{ id: string }>(
        "INSERT INTO call_log (business_id, direction, status) VALUES ($1, 'outbound', 'initiated') RETURNING id",
        [businessId],
      );
      return Number(inserted.rows[0]!.id);
    };
    // The correct design: the check and the insert in one transaction under the business's lock,
    // then the platform's (always in that order: no deadlock). Advisory keys: (1, business), (2, 0).
    const reserveLocked = async (client: pg.PoolClient, businessId: number): Promise<number | null> => {
      await client.query("BEGIN");
      try {
        await client.query("SELECT pg_advisory_xact_lock(1, $1)", [businessId]);
        const business = await client.query<{ n: number }>(
          `SELECT COUNT(*)::int AS n FROM call_log WHERE business_id = $1 AND direction = 'outbound'
             AND status IN ('initiated', 'ringing', 'in-progress')`,
          [businessId],
        );
        if (business.rows[0]!.n >= CAP) {
          await client.query("ROLLBACK");
          return null;
        }
        await client.query("SELECT pg_advisory_xact_lock(2, 0)");
        const platform = await client.query<{ n: number }>(
          "SELECT COUNT(*)::int AS n FROM call_log WHERE status IN ('initiated', 'ringing', 'in-progress')",
        );
        if (platform.rows[0]!.n >= PLATFORM_CAP) {
          await client.query("ROLLBACK");
          return null;
        }
        const inserted = await client.query<{ id: string }>(
          "INSERT INTO call_log (business_id, direction, status) VALUES ($1, 'outbound', 'initiated') RETURNING id",
          [businessId],
        );
        await client.query("COMMIT");
        return Number(inserted.rows[0]!.id);
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        throw err;
      }
    };
    const reserveOf = design === "locked" ? reserveLocked : reserve;
    const release = (client: pg.PoolClient, id: number) =>
      client.query("UPDATE call_log SET status = 'completed' WHERE id = $1", [id]);

    const throughput = async (ops: number, base: number) => {
      const latencies: number[] = [];
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          const client = await pool.connect();
          try {
            for (let i = next++; i < ops; i = next++) {
              const t = performance.now();
              const id = await reserveOf(client, base + (i % BUSINESSES));
              if (id !== null) await release(client, id);
              latencies.push(performance.now() - t);
            }
          } finally {
            client.release();
          }
        }),
      );
      return { latencies, elapsedMs: performance.now() - started };
    };
    await throughput(BUSINESSES * 10, 1);
    const run = await throughput(OPS, 1);

    const violations: number[] = [];
    for (let t = 0; t < TRIALS; t++) {
      // Every attempt on its own connection, connected first, then all fired at once.
      const clients = await Promise.all(Array.from({ length: ATTEMPTS }, () => pool.connect()));
      try {
        const ids = await Promise.all(clients.map((c) => reserveOf(c, 500_000 + t)));
        violations.push(Math.max(0, ids.filter((id) => id !== null).length - CAP));
      } finally {
        for (const c of clients) c.release();
      }
    }
    return { ...summarise(run.latencies, run.elapsedMs, OPS), violations };
  } finally {
    stopping = true;
    await pool.end();
    await server.stop();
  }
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);

async function main(): Promise<void> {
  const workDir = await mkdtemp(path.join(tmpdir(), "prosaas-bench-admission-"));
  try {
    console.log(
      `admission benchmark: ${OPS} reserve+release cycles at concurrency ${CONCURRENCY} over ${BUSINESSES} businesses; ` +
        `${TRIALS} trials of ${ATTEMPTS} simultaneous attempts for one business (cap ${CAP}); data under ${STORAGE_DIR}\n`,
    );
    const dos = await durableObjects(workDir);
    const locked = await postgres("locked");
    const old = await postgres("count-then-insert");
    const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
    const violations = (f: Figures) => `${sum(f.violations)} [${f.violations.join(", ")}]`;
    const ratio = (a: number, b: number) => `${fmt(a / b, 2)}x`;
    const rows: string[][] = [
      ["", "Durable Objects", "Postgres locked (correct)", "Postgres COUNT+INSERT (old)", "DO / locked"],
      [
        "reserve+release per second",
        fmt(dos.opsPerSecond, 0),
        fmt(locked.opsPerSecond, 0),
        fmt(old.opsPerSecond, 0),
        ratio(dos.opsPerSecond, locked.opsPerSecond),
      ],
      ["p50 latency (ms)", fmt(dos.p50, 2), fmt(locked.p50, 2), fmt(old.p50, 2), ratio(dos.p50, locked.p50)],
      ["p99 latency (ms)", fmt(dos.p99, 2), fmt(locked.p99, 2), fmt(old.p99, 2), ratio(dos.p99, locked.p99)],
      [`cap violations (${TRIALS} x ${ATTEMPTS} at once)`, violations(dos), violations(locked), violations(old), "-"],
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i]!)).join("  |  "));
    console.log(
      [
        "",
        "One DO cycle (read from durable-objects/business/call-leases.ts; the caller is the Worker):",
        "  reserve: caller -> BusinessDO (1 call) -> CallCapacityDO.acquire (1 call, 1 write: the slot row)",
        "           -> BusinessDO writes the lease row (1 write). All on the caller's path: 2 object calls, 2 writes.",
        "           (The pending reservation is in memory, not a row; the alarm is cached, so no getAlarm round trip.)",
        "  release: caller -> BusinessDO (1 call, 1 write: lease row deleted + outbox row, one commit). On the path.",
        "           Off the path: CallCapacityDO.releaseMany (1 call per batch of up to 100 releases, 1 write there)",
        "           and the outbox rows deleted (1 write here).",
        "  Before this change: reserve = 3 writes on the path (pending row, platform slot, state update) and a getAlarm",
        "  round trip; release waited for CallCapacityDO.release (2 object calls, 3 writes on the path).",
        "",
        "Violations: calls admitted beyond the cap. Latency: one reserve+release cycle, measured where the caller runs",
        "(inside workerd for the DOs; in Node for Postgres). Same machine, loopback only, all stores on one filesystem.",
        "Try --storage-dir /dev/shm to take the disk out of all three.",
      ].join("\n"),
    );
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

await main();
