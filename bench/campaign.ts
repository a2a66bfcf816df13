/**
 * A bulk call campaign on the local stack: `npm run bench:campaign [-- --leads 10000 --cap 3
 * --call-ms 0 --timeout-minutes 30]`. Figures only, never pass/fail. Loopback only, bounded.
 *
 * The real Worker (worker/index.ts bundled by wrangler) runs in Miniflare with its Durable Objects
 * and queues (batch settings from worker/queues/definitions.ts, i.e. production's), against an
 * embedded PostgreSQL 17 through the Neon WebSocket proxy, and the Twilio simulator
 * (scripts/twilio-simulator/) which "answers instantly": every call it creates is ended at once
 * by a signed `completed` status callback to the Worker over HTTP, as Twilio would send it (or after
 * `--call-ms`, so that calls overlap and the cap is what limits the pace).
 *
 * Printed: time to create a run of N leads and queue its jobs (one request); dial throughput;
 * database transactions per dial (every statement the dial path runs is its own transaction, so
 * this counts round trips; from pg_stat_database, including the status callback's own update);
 * duplicates (calls per lead beyond one: must be 0); the most concurrent calls observed for the
 * business (the BusinessDO's own count, sampled, and calls live at the fake) against its cap.
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
    /** Where Postgres and the Durable Objects keep their data. */
    "storage-dir": { type: "string", default: tmpdir() },
  },
});
const LEADS = Number(args.leads);
const CAP = Number(args.cap);
const CALL_MS = Number(args["call-ms"]);
const TIMEOUT_MS = Number(args["timeout-minutes"]) * 60_000;
const STORAGE_DIR = path.resolve(args["storage-dir"]);
if (
  ![LEADS, CAP, TIMEOUT_MS].every((n) => Number.isInteger(n) && n > 0) ||
  LEADS > 20_000 ||
  !(Number.isInteger(CALL_MS) && CALL_MS >= 0 && CALL_MS <= 600_000)
) {
  throw new Error("leads (at most 20000), cap and timeout-minutes must be positive integers; call-ms 0-600000");
}

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

async function main(): Promise<void> {
  const workDir = await mkdtemp(path.join(tmpdir(), "prosaas-bench-campaign-"));
  const doDir = await mkdtemp(path.join(STORAGE_DIR, "prosaas-bench-do-"));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(workDir, { recursive: true, force: true })];
  cleanups.push(() => rm(doDir, { recursive: true, force: true }));
  try {
    console.log(
      `campaign benchmark: ${LEADS} leads, business cap ${CAP}, calls last ${CALL_MS} ms; data under ${STORAGE_DIR}\n`,
    );
    const postgres = await startBenchDatabase(STORAGE_DIR, "bench_campaign");
    cleanups.unshift(() => postgres.stop());

    // ---- Twilio: the simulator answers every call at once and ends it after --call-ms, with a
    // signed `completed` callback to the Worker (only that one: the figures are about the dial path) ----
    const accountSid = `AC${"b".repeat(32)}`;
    const authToken = "bench-twilio-token-0123456789abcdef";
    const workerPort = await freePort();
    const created: FakeTwilioCall[] = [];
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
        terminalCallbacksOnly: true,
      },
      // The callback URLs say https://PUBLIC_HOST/…: delivered to Miniflare's port, signed as given.
      callbackOrigin: `http://127.0.0.1:${workerPort}`,
      onCreate: (call) => {
        created.push(call);
        live++;
        maxLive = Math.max(maxLive, live);
      },
      onStatus: (_call, status) => {
        // The call is over at Twilio the moment it sends its terminal callback.
        if (isTerminal(status)) live--;
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
        METRICS_TOKEN,
      },
    });
    const worker = mf;
    cleanups.unshift(() => worker.dispose());

    // ---- a business, its owner, N leads ----
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    cleanups.unshift(() => client.end());
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

    const rows: [string, string][] = [
      ["run status", `${status} (jobs: ${jobs.join(", ")})`],
      [`create ${LEADS} leads' run + queue jobs (1 request)`, `${createMs.toFixed(0)} ms (${body.queued} jobs queued)`],
      ["dials", `${dials} in ${(dialMs / 1000).toFixed(1)} s`],
      ["dial throughput", `${(dials / (dialMs / 1000)).toFixed(1)} dials/s`],
      [
        "DB transactions (= round trips) per dial",
        `${(xacts / Math.max(1, dials)).toFixed(2)} (${xacts} in all, incl. the run's creation and status callbacks)`,
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
        `${(highMessages / Math.max(1, dials)).toFixed(2)} (duplicates from kicks and slot waits are acked after one claim attempt)`,
      ],
      [
        "status callbacks refused",
        String(created.filter((c) => c.callbacks.some((cb) => cb.httpStatus !== 204)).length),
      ],
    ];
    const width = Math.max(...rows.map((r) => r[0].length));
    for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
    console.log(
      [
        "",
        `Queues use production's batch settings (high: batch ${queueDefinitions.high.maxBatchSize}, timeout ` +
          `${queueDefinitions.high.maxBatchTimeoutSeconds} s). Every call is ended by one \`completed\` callback ${CALL_MS} ms after`,
        "Twilio creates it; at 0 ms, throughput is bounded by the dial path itself (claim, admission, create, confirm) and",
        "the next job queued when a call ends, and calls rarely overlap; with --call-ms the cap sets the pace.",
        "One workerd process, one Postgres, on this machine: figures are relative.",
      ].join("\n"),
    );
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((err) => console.error(`[cleanup] ${String(err)}`));
  }
}

await main();
