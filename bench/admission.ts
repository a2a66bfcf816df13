/**
 * Call admission, new design vs old, on this machine: `npm run bench:admission [-- --ops 2000
 * --rounds 3 --concurrency 20 --attempts 200 --trials 5 --designs do,locked,old]`. Figures only,
 * never pass/fail. Loopback only. The designs run side by side and alternate: each round measures
 * each design's cycles in turn (the first design rotating), so a machine shared with other work
 * slows all of them alike; the table gives medians over the rounds, and DO / locked is the median
 * of the per-round ratios.
 *
 * New: the real BusinessDO + CallCapacityDO in Miniflare (workerd), driven from inside a Worker
 *      through worker/calls/admission.ts; the Worker is bundled by `wrangler deploy --dry-run` first.
 * Old: the Flask system's design on embedded PostgreSQL 17 with `pg`: COUNT active outbound calls of
 *      the business (and all active calls, for the platform cap), then INSERT if under the caps (each
 *      worker on its own connection, as the old gunicorn workers were); release = UPDATE to completed.
 *      Fast because it is wrong.
 * Correct peer: the same on Postgres done right — one transaction: a per-business advisory
 *      transaction lock, COUNT the business's active calls, then the platform-wide lock and COUNT,
 *      then INSERT, COMMIT; release = UPDATE to completed. Same workload, same concurrency.
 *
 * Printed: reserve+release throughput and p50/p99 latency at the same concurrency, with the real
 * caps (3 per business, 50 platform-wide); cap violations when N attempts for one business arrive at
 * once (admitted beyond 3) and when N attempts spread over many businesses arrive at once (admitted
 * beyond 50), for all three; and what one DO cycle costs (object calls and storage writes; which are
 * on the caller's path), with the requests that reached CallCapacityDO during the run, counted.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
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
    /** The platform-cap trial: this many reserves at once, over this many businesses (2 each by default: under their cap). */
    "platform-attempts": { type: "string", default: "200" },
    "platform-businesses": { type: "string", default: "100" },
    /** Which designs to run (for quick iterations; the table shows "-" for the others). */
    designs: { type: "string", default: "do,locked,old" },
    /** Measured rounds per design; the designs alternate within each round. */
    rounds: { type: "string", default: "3" },
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
const PLATFORM_ATTEMPTS = Number(args["platform-attempts"]);
const PLATFORM_BUSINESSES = Number(args["platform-businesses"]);
const DESIGNS = new Set(args.designs.split(","));
const ROUNDS = Number(args.rounds);
const CAP = 3;
/** The platform cap: the default MAX_CONCURRENT_CALLS, in every design. */
const PLATFORM_CAP = 50;
if (
  ![OPS, CONCURRENCY, BUSINESSES, ATTEMPTS, TRIALS, PLATFORM_ATTEMPTS, PLATFORM_BUSINESSES, ROUNDS].every(
    (n) => Number.isInteger(n) && n > 0,
  ) ||
  Math.max(ATTEMPTS, PLATFORM_ATTEMPTS) > 350
) {
  throw new Error("every count must be a positive integer; attempts and platform-attempts at most 350");
}

/** One measured throughput run. */
interface Run {
  opsPerSecond: number;
  p50: number;
  p99: number;
  /** Reserves refused (by either cap). */
  refused: number;
  /** DOs only: requests that reached CallCapacityDO during the run. */
  platformRequests?: { acquire: number; releaseMany: number; reclaimRounds: number };
}

interface Trials {
  violations: number[];
  platformViolations: number[];
}

/** A design under test, started once and measured in rounds alternating with the others. */
interface Design {
  throughput(): Promise<Run>;
  trials(): Promise<Trials>;
  stop(): Promise<void>;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summarise(latencies: number[], elapsedMs: number, ops: number) {
  const sorted = latencies.slice().sort((a, b) => a - b);
  return { opsPerSecond: ops / (elapsedMs / 1000), p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

async function durableObjects(workDir: string): Promise<Design> {
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
    // The real caps: 3 per business (the default), 50 platform-wide (the default).
    bindings: {
      ENVIRONMENT: "test",
      MAX_CONCURRENT_CALLS: String(PLATFORM_CAP),
      BUSINESS_CALL_CAP_DEFAULT: String(CAP),
    },
  });
  const get = async <T>(pathAndQuery: string): Promise<T> => {
    const res = await mf.dispatchFetch(`http://bench.local${pathAndQuery}`);
    if (!res.ok) throw new Error(`${pathAndQuery}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  type WorkerRun = {
    elapsedMs: number;
    latencies: number[];
    refused: number;
    platformRequests: NonNullable<Run["platformRequests"]>;
  };
  const run = async (ops: number) => {
    const r = await get<WorkerRun>(`/throughput?ops=${ops}&concurrency=${CONCURRENCY}&businesses=${BUSINESSES}&base=1`);
    return { ...summarise(r.latencies, r.elapsedMs, ops), refused: r.refused, platformRequests: r.platformRequests };
  };
  // Warm up: load the Worker and create the objects.
  await run(BUSINESSES * 10);
  return {
    throughput: () => run(OPS),
    async trials() {
      const violations: number[] = [];
      for (let t = 0; t < TRIALS; t++) {
        const v = await get<{ admitted: number }>(`/violations?attempts=${ATTEMPTS}&business=${500_000 + t}`);
        violations.push(Math.max(0, v.admitted - CAP));
      }
      const platformViolations: number[] = [];
      for (let t = 0; t < TRIALS; t++) {
        const v = await get<{ admitted: number }>(
          `/platform-violations?attempts=${PLATFORM_ATTEMPTS}&businesses=${PLATFORM_BUSINESSES}&base=${600_000 + t * 1000}`,
        );
        platformViolations.push(Math.max(0, v.admitted - PLATFORM_CAP));
      }
      return { violations, platformViolations };
    },
    async stop() {
      await mf.dispose();
      await rm(storage, { recursive: true, force: true });
    },
  };
}

async function postgres(design: "count-then-insert" | "locked"): Promise<Design> {
  const server = await startTempPostgres({
    storageDir: STORAGE_DIR,
    database: design === "locked" ? "bench_admission_locked" : "bench_admission",
  });
  const pool = new pg.Pool({
    connectionString: server.url,
    max: Math.max(CONCURRENCY, ATTEMPTS, PLATFORM_ATTEMPTS) + 2,
  });
  let stopping = false;
  // pool.end() does not wait for sockets to close, so the server's shutdown notice can reach idle clients.
  pool.on("error", (err) => {
    if (!stopping) console.error(`[postgres pool] ${err.message}`);
  });
  await pool.query(`CREATE TABLE call_log (
    id bigserial PRIMARY KEY, business_id int NOT NULL, direction text NOT NULL, status text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now())`);
  await pool.query("CREATE INDEX call_log_active ON call_log (business_id, direction, status)");
  await pool.query(
    "CREATE INDEX call_log_platform_active ON call_log (id) WHERE status IN ('initiated', 'ringing', 'in-progress')",
  );

  // The old call_limiter: count active outbound calls of the business (and all active calls, for
  // the platform cap), then record the new one.
  const reserve = async (client: pg.PoolClient, businessId: number): Promise<number | null> => {
    const { rows } = await client.query<{ n: number }>(
      `SELECT COUNT(*)::int AS n FROM call_log WHERE business_id = $1 AND direction = 'outbound'
         AND status IN ('initiated', 'ringing', 'in-progress') AND created_at > now() - interval '30 minutes'`,
      [businessId],
    );
    if (rows[0]!.n >= CAP) return null;
    const platform = await client.query<{ n: number }>(
      "SELECT COUNT(*)::int AS n FROM call_log WHERE status IN ('initiated', 'ringing', 'in-progress')",
    );
    if (platform.rows[0]!.n >= PLATFORM_CAP) return null;
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

  const run = async (ops: number): Promise<Run> => {
    const latencies: number[] = [];
    let next = 0;
    let refused = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        const client = await pool.connect();
        try {
          for (let i = next++; i < ops; i = next++) {
            const t = performance.now();
            const id = await reserveOf(client, 1 + (i % BUSINESSES));
            if (id !== null) await release(client, id);
            else refused++;
            latencies.push(performance.now() - t);
          }
        } finally {
          client.release();
        }
      }),
    );
    return { ...summarise(latencies, performance.now() - started, ops), refused };
  };
  /** `attempts` reserves, each on its own connection (connected first), fired at once; returns the ids admitted. */
  const atOnce = async (attempts: number, businessOf: (i: number) => number) => {
    const clients = await Promise.all(Array.from({ length: attempts }, () => pool.connect()));
    try {
      const ids = await Promise.all(clients.map((c, i) => reserveOf(c, businessOf(i))));
      return ids.filter((id): id is number => id !== null);
    } finally {
      for (const c of clients) c.release();
    }
  };
  await run(BUSINESSES * 10);
  return {
    throughput: () => run(OPS),
    async trials() {
      const violations: number[] = [];
      for (let t = 0; t < TRIALS; t++) {
        const ids = await atOnce(ATTEMPTS, () => 500_000 + t);
        violations.push(Math.max(0, ids.length - CAP));
        // Their calls end, as in the DO trial: the platform trial below starts from nothing held.
        await pool.query("UPDATE call_log SET status = 'completed' WHERE id = ANY($1)", [ids]);
      }
      const platformViolations: number[] = [];
      for (let t = 0; t < TRIALS; t++) {
        const ids = await atOnce(PLATFORM_ATTEMPTS, (i) => 600_000 + t * 1000 + (i % PLATFORM_BUSINESSES));
        platformViolations.push(Math.max(0, ids.length - PLATFORM_CAP));
        await pool.query("UPDATE call_log SET status = 'completed' WHERE id = ANY($1)", [ids]);
      }
      return { violations, platformViolations };
    },
    async stop() {
      stopping = true;
      await pool.end();
      await server.stop();
    },
  };
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);
const loadAverage = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(" ");

const median = (values: number[]) => {
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

type DesignName = "do" | "locked" | "old";

async function main(): Promise<void> {
  const workDir = await mkdtemp(path.join(tmpdir(), "prosaas-bench-admission-"));
  const started: Partial<Record<DesignName, Design>> = {};
  try {
    console.log(
      `admission benchmark: ${ROUNDS} rounds of ${OPS} reserve+release cycles per design (designs alternate, so the ` +
        `machine's noise hits each alike) at concurrency ${CONCURRENCY} over ${BUSINESSES} businesses; ` +
        `${TRIALS} trials of ${ATTEMPTS} simultaneous attempts for one business (cap ${CAP}) and of ` +
        `${PLATFORM_ATTEMPTS} over ${PLATFORM_BUSINESSES} businesses (platform cap ${PLATFORM_CAP}); data under ${STORAGE_DIR}\n`,
    );
    const names = (["do", "locked", "old"] as const).filter((n) => DESIGNS.has(n));
    for (const name of names) {
      started[name] =
        name === "do"
          ? await durableObjects(workDir)
          : await postgres(name === "locked" ? "locked" : "count-then-insert");
    }
    const runs: Record<DesignName, Run[]> = { do: [], locked: [], old: [] };
    for (let round = 0; round < ROUNDS; round++) {
      // Each round starts with a different design, so none always runs first.
      const order = names.map((_, i) => names[(i + round) % names.length]!);
      for (const name of order) runs[name].push(await started[name]!.throughput());
      const line = order.map(
        (n) => `${n} ${fmt(runs[n].at(-1)!.opsPerSecond, 0)}/s p99 ${fmt(runs[n].at(-1)!.p99, 1)} ms`,
      );
      console.log(`round ${round + 1} (load ${loadAverage()}): ${line.join(", ")}`);
    }
    const trials: Partial<Record<DesignName, Trials>> = {};
    for (const name of names) trials[name] = await started[name]!.trials();
    console.log("");

    const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
    const col = (name: DesignName, show: (runs: Run[], t: Trials) => string) =>
      runs[name].length > 0 ? show(runs[name], trials[name]!) : "-";
    const mid = (pick: (r: Run) => number) => (rs: Run[]) => median(rs.map(pick));
    /** The median of the per-round ratios DO / locked (both measured in the same round). */
    const ratio = (pick: (r: Run) => number) =>
      runs.do.length > 0 && runs.locked.length > 0
        ? `${fmt(median(runs.do.map((r, i) => pick(r) / pick(runs.locked[i]!))), 2)}x`
        : "-";
    const row = (label: string, show: (runs: Run[], t: Trials) => string, r = "-") => [
      label,
      col("do", show),
      col("locked", show),
      col("old", show),
      r,
    ];
    const rows: string[][] = [
      ["", "Durable Objects", "Postgres locked (correct)", "Postgres COUNT+INSERT (old)", "DO / locked"],
      row(
        "reserve+release per second",
        (rs) => fmt(mid((r) => r.opsPerSecond)(rs), 0),
        ratio((r) => r.opsPerSecond),
      ),
      row(
        "p50 latency (ms)",
        (rs) => fmt(mid((r) => r.p50)(rs), 2),
        ratio((r) => r.p50),
      ),
      row(
        "p99 latency (ms)",
        (rs) => fmt(mid((r) => r.p99)(rs), 2),
        ratio((r) => r.p99),
      ),
      row(`refused of ${ROUNDS} x ${OPS} (either cap)`, (rs) => String(sum(rs.map((r) => r.refused)))),
      row(
        `business cap violations (${TRIALS} x ${ATTEMPTS} at once)`,
        (_, t) => `${sum(t.violations)} [${t.violations.join(", ")}]`,
      ),
      row(
        `platform cap violations (${TRIALS} x ${PLATFORM_ATTEMPTS} at once)`,
        (_, t) => `${sum(t.platformViolations)} [${t.platformViolations.join(", ")}]`,
      ),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i]!)).join("  |  "));
    if (runs.do.length > 0 && runs.locked.length > 0) {
      const perRound = (pick: (r: Run) => number) =>
        runs.do.map((r, i) => `${fmt(pick(r) / pick(runs.locked[i]!), 2)}x`).join(", ");
      console.log(
        `(medians over ${ROUNDS} rounds; DO / locked per round: throughput ${perRound((r) => r.opsPerSecond)}; ` +
          `p99 ${perRound((r) => r.p99)})`,
      );
    }
    const requests = runs.do.map((r) => r.platformRequests!);
    const measured =
      requests.length > 0
        ? `  Measured in this run: ${sum(requests.map((r) => r.acquire))} acquire, ${sum(requests.map((r) => r.releaseMany))} releaseMany, ` +
          `${sum(requests.map((r) => r.reclaimRounds))} reclaim rounds reached CallCapacityDO over ${ROUNDS * OPS} cycles ` +
          `(${fmt(sum(requests.map((r) => r.acquire + r.releaseMany)) / (ROUNDS * OPS), 3)} calls to it per cycle).`
        : "  (DOs not run: no measured platform requests.)";
    console.log(
      [
        "",
        "One DO cycle (read from durable-objects/business/call-leases.ts and platform-block.ts; the caller is the Worker):",
        "  reserve: caller -> BusinessDO (1 call, 1 write: the lease row + its platform slot marked in use, one commit),",
        "           when the business holds an idle platform slot (its block). Otherwise + CallCapacityDO.acquire",
        "           (1 call, 1 write there), the new slot written here in the same commit as the lease. All on the path.",
        "  release: caller -> BusinessDO (1 call, 1 write: lease row deleted + slot kept idle, one commit). On the path.",
        "           No platform call while the business keeps the slot (idle for at most 10 s, none while others",
        "           wait); a slot not kept goes back off the path (outbox row in the same commit; CallCapacityDO.releaseMany",
        "           in the background, 1 call and 1 write there per batch; the outbox rows deleted here, 1 write).",
        measured,
        "  Before blocks: reserve = 2 object calls and 2 writes on the path (the platform slot, the lease); release = 1",
        "  write on the path and a releaseMany per batch off it. Before that: reserve 3 writes + a getAlarm round trip;",
        "  release waited for CallCapacityDO.release (2 object calls, 3 writes on the path).",
        "",
        "Violations: calls admitted beyond the cap. Latency: one reserve+release cycle, measured where the caller runs",
        "(inside workerd for the DOs; in Node for Postgres). Same machine, loopback only, all stores on one filesystem.",
        "Locally workerd commits each Durable Object's SQLite transaction with an fsync of its WAL on its one thread, so",
        "on disk a cycle costs 2 serial fsyncs (reserve, release); Postgres commits from 20 backends share WAL flushes.",
        "Try --storage-dir /dev/shm to take the disk out of all three.",
      ].join("\n"),
    );
  } finally {
    for (const design of Object.values(started)) await design.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

await main();
