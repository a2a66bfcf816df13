/**
 * A bulk call campaign on the local stack: `npm run bench:campaign [-- --leads 10000 --cap 3
 * --call-ms 0 --cps 1 --timeout-minutes 30 --terminal-only]`. Figures only, never pass/fail.
 * Loopback only, bounded.
 *
 * The real Worker (worker/index.ts bundled by wrangler) runs in Miniflare with its Durable Objects
 * and queues (batch settings from worker/queues/definitions.ts, i.e. production's), against an
 * embedded PostgreSQL 17 through the Neon WebSocket proxy, and the Twilio simulator
 * (scripts/twilio-simulator/). Every call it creates is answered at once and ended `--call-ms`
 * later; it posts the signed status callbacks our calls ask for (initiated, ringing, answered,
 * completed: what Twilio sends), or with `--terminal-only` only the `completed` one.
 * TWILIO_CALLS_PER_SECOND is `--cps` (Twilio's default for an account, and ours, is 1).
 *
 * Printed, beside the figures of the code before issue 16 #4 measured with this same script
 * (BASELINE below) and the ratio:
 *   - dial throughput; Postgres transactions per dial (pg_stat_database: every statement outside a
 *     transaction is its own; the status callbacks and the run's creation included), and which
 *     statements they were (pg_stat_statements, per dial);
 *   - slot occupancy: the time-weighted number of calls live at Twilio (from the simulator's own
 *     create and end times) over the cap, while the run still had leads to dial (from the first
 *     create to the last one);
 *   - the peak calls per second Twilio saw (most creations in any 1 s window) against the setting;
 *   - duplicates (calls per lead beyond one: must be 0) and the most concurrent calls (the
 *     BusinessDO's own count, sampled, and calls live at the simulator) against the cap.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { freePort } from "../scripts/lib/embedded-postgres";
import { isTerminal } from "../scripts/twilio-simulator/call-flow";
import { type FakeTwilioCall, startFakeTwilio } from "../scripts/twilio-simulator/server";
import { hashPassword } from "../worker/auth/password";
import { queueDefinitions } from "../worker/queues/definitions";
import { startBenchDatabase, startBenchWorker } from "./lib/bench-stack";

const { values: args } = parseArgs({
  options: {
    leads: { type: "string", default: "10000" },
    cap: { type: "string", default: "3" },
    /** How long each call lasts before its `completed` callback (0: answered and ended at once). */
    "call-ms": { type: "string", default: "0" },
    "timeout-minutes": { type: "string", default: "30" },
    /** TWILIO_CALLS_PER_SECOND for the Worker (Twilio's account default is 1). */
    cps: { type: "string", default: "1" },
    /** Only the `completed` callback per call (the bench before progress callbacks were counted). */
    "terminal-only": { type: "boolean", default: false },
    /** Where Postgres and the Durable Objects keep their data. */
    "storage-dir": { type: "string", default: tmpdir() },
  },
});
const LEADS = Number(args.leads);
const CAP = Number(args.cap);
const CALL_MS = Number(args["call-ms"]);
const TIMEOUT_MS = Number(args["timeout-minutes"]) * 60_000;
const STORAGE_DIR = path.resolve(args["storage-dir"]);
const CPS = Number(args.cps);
const TERMINAL_ONLY = args["terminal-only"] === true;
if (
  ![LEADS, CAP, TIMEOUT_MS, CPS].every((n) => Number.isInteger(n) && n > 0) ||
  LEADS > 20_000 ||
  !(Number.isInteger(CALL_MS) && CALL_MS >= 0 && CALL_MS <= 600_000)
) {
  throw new Error("leads (at most 20000), cap, cps and timeout-minutes must be positive integers; call-ms 0-600000");
}

/**
 * The code before issue 16 #4's cuts (commit a2e791c, in a worktree of its own with this script,
 * bench/lib/, scripts/lib/embedded-postgres.ts and the simulator copied in), measured with
 * `--leads 60 --cap 3 --call-ms 1000 --cps 10` on this machine, 2026-12-02 15:11 UTC, load ≈3.5
 * (2 cores shared with other sessions); the run and a repeat are in bench/README.md. Occupancy in %.
 */
const BASELINE = {
  label: "before (a2e791c)",
  xactsPerDial: 16.58 as number | null,
  occupancy: 75.6 as number | null,
  dialsPerSecond: 2.16 as number | null,
};

const PUBLIC_HOST = "bench.edge.test";
const METRICS_TOKEN = "bench-metrics-token-0123456789";
const PASSWORD = "bench password 0123456789";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function dbStats(client: pg.Client): Promise<{ xacts: number; sessions: number }> {
  const { rows } = await client.query<{ xacts: string; sessions: string }>(
    "SELECT xact_commit + xact_rollback AS xacts, sessions FROM pg_stat_database WHERE datname = current_database()",
  );
  return { xacts: Number(rows[0]!.xacts), sessions: Number(rows[0]!.sessions) };
}

/** Time-weighted calls live over [from, to] divided by the cap. */
function occupancy(calls: { start: number; end: number }[], from: number, to: number, cap: number): number {
  if (to <= from) return Number.NaN;
  let busy = 0;
  for (const c of calls) busy += Math.max(0, Math.min(c.end, to) - Math.max(c.start, from));
  return busy / ((to - from) * cap);
}

/** Most creations in any window of `windowMs` (sorted times). */
function peakInWindow(sorted: number[], windowMs: number): number {
  let peak = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= windowMs) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}

/** BASELINE was measured with these flags: a ratio is printed only for a run with the same ones. */
const SAME_AS_BASELINE = LEADS === 60 && CAP === 3 && CALL_MS === 1000 && CPS === 10 && !TERMINAL_ONLY;
const ratio = (now: number, before: number | null) =>
  before === null || !SAME_AS_BASELINE || !Number.isFinite(now)
    ? ""
    : `  (×${(now / before).toFixed(2)} of before: ${before})`;

async function main(): Promise<void> {
  const workDir = await mkdtemp(path.join(tmpdir(), "prosaas-bench-campaign-"));
  const doDir = await mkdtemp(path.join(STORAGE_DIR, "prosaas-bench-do-"));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(workDir, { recursive: true, force: true })];
  cleanups.push(() => rm(doDir, { recursive: true, force: true }));
  try {
    console.log(
      `campaign benchmark: ${LEADS} leads, business cap ${CAP}, calls last ${CALL_MS} ms, ` +
        `TWILIO_CALLS_PER_SECOND=${CPS}, ${TERMINAL_ONLY ? "terminal callbacks only" : "every progress callback"}; ` +
        `data under ${STORAGE_DIR}\n`,
    );
    const postgres = await startBenchDatabase(STORAGE_DIR, "bench_campaign", {
      shared_preload_libraries: "pg_stat_statements",
    });
    cleanups.unshift(() => postgres.stop());

    // ---- Twilio: the simulator answers every call at once and ends it after --call-ms, with the
    // signed callbacks the call asked for (or only `completed`) ----
    const accountSid = `AC${"b".repeat(32)}`;
    const authToken = "bench-twilio-token-0123456789abcdef";
    const workerPort = await freePort();
    const created: FakeTwilioCall[] = [];
    /** Per CallSid: when the simulator created the call and when it ended it (performance.now()). */
    const lifetimes = new Map<string, { start: number; end: number }>();
    let live = 0;
    let maxLive = 0;
    const fake = await startFakeTwilio({
      accountSid,
      authToken,
      flow: {
        auto: true,
        initiateMs: 0,
        ringMs: 0,
        talkMs: CALL_MS,
        noAnswerRate: 0,
        busyRate: 0,
        failedRate: 0,
        machineRate: 0,
        terminalCallbacksOnly: TERMINAL_ONLY,
      },
      // The callback URLs say https://PUBLIC_HOST/…: delivered to Miniflare's port, signed as given.
      callbackOrigin: `http://127.0.0.1:${workerPort}`,
      onCreate: (call) => {
        created.push(call);
        lifetimes.set(call.sid, { start: performance.now(), end: Number.POSITIVE_INFINITY });
        live++;
        maxLive = Math.max(maxLive, live);
      },
      onStatus: (call, status) => {
        // The call is over at Twilio the moment it sends its terminal callback.
        if (isTerminal(status)) {
          live--;
          const life = lifetimes.get(call.sid);
          if (life) life.end = performance.now();
        }
      },
      log: (line) => console.error(`  twilio simulator: ${line}`),
    });
    cleanups.unshift(() => fake.close());

    // ---- the Worker ----
    const mf = startBenchWorker({
      entry: "worker/index.ts",
      name: "prosaas-bench-campaign",
      workDir,
      doDir,
      port: workerPort,
      queues: true,
      bindings: {
        DATABASE_URL: postgres.url,
        NEON_WS_PROXY: postgres.wsProxy,
        PUBLIC_HOST,
        TWILIO_API_BASE_URL: fake.url,
        TWILIO_ACCOUNT_SID: accountSid,
        TWILIO_AUTH_TOKEN: authToken,
        TWILIO_CALLS_PER_SECOND: String(CPS),
        METRICS_TOKEN,
      },
    });
    const worker = mf;
    cleanups.unshift(() => worker.dispose());

    // ---- a business, its owner, N leads ----
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    cleanups.unshift(() => client.end());
    await client.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    const businessId = Number(
      (
        await client.query<{ id: number }>(
          "INSERT INTO businesses (name, twilio_number) VALUES ('Bench business', '+15550000001') RETURNING id",
        )
      ).rows[0]!.id,
    );
    await client.query("INSERT INTO business_settings (business_id, outbound_call_cap) VALUES ($1, $2)", [
      businessId,
      CAP,
    ]);
    await client.query(
      "INSERT INTO users (business_id, email, name, role, password_hash) VALUES ($1, 'owner@bench.test', 'Owner', 'owner', $2)",
      [businessId, await hashPassword(PASSWORD, 100_000)],
    );
    await client.query(
      `INSERT INTO leads (business_id, first_name, phone_e164)
       SELECT $1, 'Lead ' || n, '+1555' || lpad(n::text, 7, '0') FROM generate_series(1, $2::int) n`,
      [businessId, LEADS],
    );
    const login = await worker.dispatchFetch("http://bench.local/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "owner@bench.test", password: PASSWORD }),
    });
    if (login.status !== 200) throw new Error(`login failed: ${login.status} ${await login.text()}`);
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    await login.arrayBuffer();

    const slots = await worker.getDurableObjectNamespace("BUSINESS_DO");
    const businessObject = slots.get(slots.idFromName(`business:${businessId}`)) as unknown as {
      callSlotsSnapshot(id: number): Promise<{ outboundActive: number }>;
    };
    await businessObject.callSlotsSnapshot(businessId);

    // ---- create the run (one request) ----
    await sleep(1500); // let the sign-in's connections close and report their statistics
    await client.query("SELECT pg_stat_statements_reset()");
    const before = await dbStats(client);
    let monitorQueries = 0;
    const t0 = performance.now();
    const res = await worker.dispatchFetch("http://bench.local/api/campaigns", {
      method: "POST",
      headers: { Cookie: cookie, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "Benchmark", audience: {} }),
    });
    const createMs = performance.now() - t0;
    const body = (await res.json()) as { campaign: { id: number }; queued: number };
    if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(body)}`);
    const runId = body.campaign.id;

    // ---- dial until the run completes, sampling the business's active calls ----
    let maxActive = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        try {
          maxActive = Math.max(maxActive, (await businessObject.callSlotsSnapshot(businessId)).outboundActive);
        } catch {
          // a sample lost to shutdown
        }
        await sleep(20);
      }
    })();
    const deadline = Date.now() + TIMEOUT_MS;
    let status = "queued";
    let lastReport = Date.now();
    while (Date.now() < deadline) {
      await sleep(500);
      monitorQueries++;
      status = (await client.query<{ status: string }>("SELECT status FROM outbound_call_runs WHERE id = $1", [runId]))
        .rows[0]!.status;
      if (status !== "queued" && status !== "running") break;
      if (Date.now() - lastReport > 15_000) {
        lastReport = Date.now();
        const rate = created.length / ((performance.now() - t0) / 1000);
        console.log(`  … ${created.length} dialed (${rate.toFixed(1)}/s)`);
      }
    }
    const dialMs = performance.now() - t0;
    sampling = false;
    await sampler;
    await fake.settle();
    await sleep(2000); // connections close after their batch: let them report their statistics
    const after = await dbStats(client);

    // ---- figures ----
    const perLead = new Map<string, number>();
    for (const c of created) perLead.set(c.to, (perLead.get(c.to) ?? 0) + 1);
    const duplicates = [...perLead.values()].reduce((n, calls) => n + calls - 1, 0);
    const dbDuplicates = Number(
      (
        await client.query<{ n: string }>(
          `SELECT count(*) AS n FROM (SELECT outbound_job_id FROM call_logs WHERE call_sid IS NOT NULL
             AND outbound_job_id IS NOT NULL GROUP BY outbound_job_id HAVING count(*) > 1) d`,
        )
      ).rows[0]!.n,
    );
    const jobs = (
      await client.query<{ status: string; n: string }>(
        "SELECT status, count(*) AS n FROM outbound_call_jobs WHERE run_id = $1 GROUP BY status ORDER BY status",
        [runId],
      )
    ).rows.map((r) => `${r.status} ${r.n}`);
    const metrics = await (
      await worker.dispatchFetch("http://bench.local/metrics", {
        headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
      })
    ).text();
    const counter = (name: string) =>
      [...metrics.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, "gm"))].reduce((n, m) => n + Number(m[1]), 0);
    const slotWaits = counter("prosaas_campaign_slot_waits_total");
    const highMessages = [...metrics.matchAll(/^prosaas_queue_messages_total\{([^}]*)\} (\d+)/gm)]
      .filter((m) => m[1]!.includes('queue="high"'))
      .reduce((n, m) => n + Number(m[2]), 0);
    const dials = created.length;
    const xacts = after.xacts - before.xacts - monitorQueries - 2; // the two dbStats reads themselves
    const statements = (
      await client.query<{ calls: string; query: string; ms: number }>(
        `SELECT calls, query, mean_exec_time AS ms FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND query NOT LIKE '%pg_stat%' AND query NOT LIKE 'SELECT status FROM outbound_call_runs WHERE id = $1'
         ORDER BY calls DESC`,
      )
    ).rows;

    // Occupancy while there were leads left to dial: from the first create to the last.
    const lives = [...lifetimes.values()];
    const starts = lives.map((l) => l.start).sort((a, b) => a - b);
    const firstCreate = starts[0] ?? Number.NaN;
    const lastCreate = starts[starts.length - 1] ?? Number.NaN;
    const lastEnd = Math.max(...lives.map((l) => (Number.isFinite(l.end) ? l.end : 0)));
    const occupied = occupancy(lives, firstCreate, lastCreate, CAP);
    const occupiedToEnd = occupancy(lives, firstCreate, lastEnd, CAP);
    const peakCps = peakInWindow(starts, 1000);
    // How long a slot stayed empty: from each call's end to the next create (while leads were left).
    const ends = lives
      .map((l) => l.end)
      .filter((e) => Number.isFinite(e) && e < lastCreate)
      .sort((a, b) => a - b);
    const gaps: number[] = [];
    let next = 0;
    for (const e of ends) {
      while (next < starts.length && starts[next]! < e) next++;
      if (next < starts.length) gaps.push(starts[next++]! - e);
    }
    gaps.sort((a, b) => a - b);
    const gapAt = (q: number) => gaps[Math.min(gaps.length - 1, Math.floor(q * gaps.length))] ?? Number.NaN;
    const minGap = starts.slice(1).reduce((m, t, i) => Math.min(m, t - starts[i]!), Number.POSITIVE_INFINITY);

    const rows: [string, string][] = [
      ["run status", `${status} (jobs: ${jobs.join(", ")})`],
      [`create ${LEADS} leads' run + queue jobs (1 request)`, `${createMs.toFixed(0)} ms (${body.queued} jobs queued)`],
      ["dials", `${dials} in ${(dialMs / 1000).toFixed(1)} s`],
      [
        "dial throughput",
        `${(dials / (dialMs / 1000)).toFixed(2)} dials/s${ratio(dials / (dialMs / 1000), BASELINE.dialsPerSecond)}`,
      ],
      [
        "Postgres transactions per dial",
        `${(xacts / Math.max(1, dials)).toFixed(2)} (${xacts} in all, incl. the run's creation and status callbacks)` +
          ratio(xacts / Math.max(1, dials), BASELINE.xactsPerDial),
      ],
      [
        "slot occupancy (calls live at Twilio / cap)",
        `${(occupied * 100).toFixed(1)}% first to last create (${((lastCreate - firstCreate) / 1000).toFixed(1)} s); ` +
          `${(occupiedToEnd * 100).toFixed(1)}% to the last call's end` +
          ratio(occupied * 100, BASELINE.occupancy),
      ],
      [
        "a slot's refill: call end → next create",
        `p50 ${gapAt(0.5).toFixed(0)} ms, p90 ${gapAt(0.9).toFixed(0)} ms, max ${(gaps[gaps.length - 1] ?? Number.NaN).toFixed(0)} ms (${gaps.length} refills)`,
      ],
      [
        "peak calls created in any 1 s (Twilio's view)",
        `${peakCps} (TWILIO_CALLS_PER_SECOND=${CPS}; closest two creates ${minGap.toFixed(0)} ms apart)`,
      ],
      ["DB connections opened per dial", ((after.sessions - before.sessions) / Math.max(1, dials)).toFixed(2)],
      ["duplicates (calls per lead beyond one)", `${duplicates} at Twilio, ${dbDuplicates} in call logs`],
      ["max concurrent calls, business (BusinessDO samples)", `${maxActive} (cap ${CAP})`],
      ["max concurrent calls live at Twilio", `${maxLive} (cap ${CAP})`],
      [
        "slot waits (re-queued for lack of a slot)",
        `${slotWaits} (${(slotWaits / Math.max(1, dials)).toFixed(2)} per dial)`,
      ],
      [
        "high-queue messages handled per dial",
        `${(highMessages / Math.max(1, dials)).toFixed(2)} (dials, their duplicates and slot waits, and any call log batches)`,
      ],
      [
        "status callbacks refused",
        String(created.filter((c) => c.callbacks.some((cb) => cb.httpStatus !== 204)).length),
      ],
    ];
    const width = Math.max(...rows.map((r) => r[0].length));
    for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
    console.log(
      "\nStatements per dial (pg_stat_statements; BEGIN/COMMIT wrap a transaction's statements), mean time in Postgres:",
    );
    for (const st of statements.slice(0, 25)) {
      const text = st.query.replace(/\s+/g, " ").slice(0, 140);
      console.log(
        `  ${(Number(st.calls) / Math.max(1, dials)).toFixed(2).padStart(6)}  ${Number(st.ms).toFixed(2).padStart(6)} ms  ${text}`,
      );
    }
    console.log(
      [
        "",
        `Queues use production's batch settings (high: batch ${queueDefinitions.high.maxBatchSize}, timeout ` +
          `${queueDefinitions.high.maxBatchTimeoutSeconds} s). Every call is answered at once and ended ${CALL_MS} ms after Twilio`,
        `creates it, with ${TERMINAL_ONLY ? "only its `completed` callback" : "its initiated, ringing, in-progress and completed callbacks"}.`,
        "Transactions include one per Postgres connection opened (a backend's start is a transaction in pg_stat_database);",
        "a pooler in front of Postgres (Neon's) would not start a backend per connection.",
        "One workerd process, one Postgres, the simulator and the WebSocket proxy on this machine: figures are relative.",
      ].join("\n"),
    );
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((err) => console.error(`[cleanup] ${String(err)}`));
  }
}

await main();
