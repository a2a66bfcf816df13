/**
 * Twilio voice webhooks against a bare route in the same Worker: `npm run bench:webhook [-- --clients
 * 100 --seconds 10 --rounds 3 --warmup-seconds 3 --step-seconds 5]`. Figures only, never
 * pass/fail. Loopback only, bounded.
 *
 * The real app (bench/webhook-worker.ts = worker/index.ts + one bare Hono route) runs in Miniflare
 * with its Durable Objects, against an embedded PostgreSQL 17 through the Neon WebSocket proxy.
 * Every request is signed by Twilio's own library (`twilio.getExpectedTwilioSignature`) over
 * https://PUBLIC_HOST + path, as Twilio signs it.
 *
 *   webhooks: N clients, each in a loop: POST /twilio/voice/incoming for a new CallSid (signature,
 *             business by number, admission in the BusinessDO + CallCapacityDO, call log insert,
 *             TwiML), then POST /twilio/voice/status `completed` for it, with the parameters
 *             Twilio sends (Direction, To, From, …) (signature, call log update, slot release).
 *             Each request's latency is recorded under its route.
 *   bare:     N clients POSTing the same incoming form to /__bench/bare (no signature, no DO, no DB).
 *   warm-up:  20 calls one at a time, then each side under the full load for --warmup-seconds, not
 *             measured: the rounds measure a warm runtime, not V8 compiling the app's code.
 *   rounds:   webhooks, their call logs written, then bare, `--rounds` times: a machine shared with
 *             other work slows both sides alike, and the ratio is the median of the rounds' ratios.
 *   steps:    N clients on each step of a webhook's work alone (bench/webhook-worker.ts): the
 *             signature check, opening a Postgres pool with one query, one BusinessDO call, an
 *             inbound admission and release — where the webhooks' time goes, under the same load.
 *
 * Printed: requests/s, p50, p99 and max per route, their ratios to the bare route (beside those of
 * the code before issue 16 #2's cuts, BASELINE), non-2xx answers and requests slower than 15 s
 * (Twilio's webhook timeout); then the steps.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import twilio from "twilio";
import { startBenchDatabase, startBenchWorker } from "./lib/bench-stack";

const { values: args } = parseArgs({
  options: {
    clients: { type: "string", default: "100" },
    seconds: { type: "string", default: "10" },
    /** Webhook phase + bare phase pairs; the ratios are medians over them. */
    rounds: { type: "string", default: "3" },
    /** Both sides under the full load before the rounds, not measured; 0 skips it. */
    "warmup-seconds": { type: "string", default: "3" },
    /** Per step phase; 0 skips the steps. */
    "step-seconds": { type: "string", default: "5" },
    "storage-dir": { type: "string", default: tmpdir() },
    /** Opens workerd's inspector on this port, to take a CPU profile while the bench runs. */
    "inspector-port": { type: "string" },
  },
});
const CLIENTS = Number(args.clients);
const SECONDS = Number(args.seconds);
const ROUNDS = Number(args.rounds);
const STORAGE_DIR = path.resolve(args["storage-dir"]);
const STEP_SECONDS = Number(args["step-seconds"]);
const WARMUP_SECONDS = Number(args["warmup-seconds"]);
if (
  !(Number.isInteger(CLIENTS) && CLIENTS > 0 && CLIENTS <= 1000 && SECONDS > 0 && SECONDS <= 600) ||
  !(Number.isInteger(ROUNDS) && ROUNDS > 0 && ROUNDS <= 20) ||
  !(STEP_SECONDS >= 0 && STEP_SECONDS <= 600) ||
  !(WARMUP_SECONDS >= 0 && WARMUP_SECONDS <= 600)
) {
  throw new Error("clients 1-1000, seconds 1-600, rounds 1-20, step-seconds 0-600, warmup-seconds 0-600");
}

/**
 * p99 / bare p99 of the code before issue 16 #2's cuts (commit a2e791c), measured with this script
 * (3 rounds, 100 clients, 10 s) on this machine, 2026-12-02 16:25 UTC, load average 1.3: see
 * bench/README.md for the whole table.
 */
const BASELINE = {
  label: "before (a2e791c)",
  incoming: 14.79 as number | null,
  status: 10.91 as number | null,
};

const PUBLIC_HOST = "bench.edge.test";
const ACCOUNT_SID = `AC${"c".repeat(32)}`;
const AUTH_TOKEN = "bench-twilio-token-0123456789abcdef";
const BUSINESS_NUMBER = "+15550000002";
const TWILIO_TIMEOUT_MS = 15_000;

interface Series {
  latencies: number[];
  non2xx: number;
  /** Requests whose connection failed (no answer at all). */
  errors: number;
  overTimeout: number;
}
const series = (): Series => ({ latencies: [], non2xx: 0, errors: 0, overTimeout: 0 });

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
const p99Of = (s: Series) =>
  percentile(
    s.latencies.slice().sort((a, b) => a - b),
    99,
  );
const median = (xs: readonly number[]) => {
  const sorted = xs.slice().sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join("");

async function main(): Promise<void> {
  const workDir = await mkdtemp(path.join(tmpdir(), "prosaas-bench-webhook-"));
  const doDir = await mkdtemp(path.join(STORAGE_DIR, "prosaas-bench-do-"));
  const cleanups: (() => Promise<unknown>)[] = [
    () => rm(workDir, { recursive: true, force: true }),
    () => rm(doDir, { recursive: true, force: true }),
  ];
  try {
    console.log(
      `webhook benchmark: ${CLIENTS} concurrent clients, ${SECONDS} s per phase; data under ${STORAGE_DIR}\n`,
    );
    const postgres = await startBenchDatabase(STORAGE_DIR, "bench_webhook");
    cleanups.unshift(() => postgres.stop());
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    cleanups.unshift(() => client.end());
    const businessId = (
      await client.query<{ id: number }>(
        "INSERT INTO businesses (name, twilio_number, locale) VALUES ('Bench business', $1, 'en-US') RETURNING id",
        [BUSINESS_NUMBER],
      )
    ).rows[0]!.id;

    const mf = startBenchWorker({
      entry: "bench/webhook-worker.ts",
      name: "prosaas-bench-webhook",
      // Production's queues: what the webhooks leave for later goes through them.
      queues: true,
      ...(args["inspector-port"] ? { inspectorPort: Number(args["inspector-port"]) } : {}),
      workDir,
      doDir,
      bindings: {
        DATABASE_URL: postgres.url,
        NEON_WS_PROXY: postgres.wsProxy,
        PUBLIC_HOST,
        TWILIO_ACCOUNT_SID: ACCOUNT_SID,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
        // Room for every client's call at once: the bench measures the path, not refusals.
        MAX_CONCURRENT_CALLS: String(CLIENTS * 2),
      },
    });
    cleanups.unshift(() => mf.dispose());

    const post = async (pathAndQuery: string, params: Record<string, string>, sign: boolean, into: Series) => {
      const headers: Record<string, string> = { "Content-Type": "application/x-www-form-urlencoded" };
      if (sign) {
        headers["X-Twilio-Signature"] = twilio.getExpectedTwilioSignature(
          AUTH_TOKEN,
          `https://${PUBLIC_HOST}${pathAndQuery}`,
          params,
        );
      }
      // Twilio sends its form with a Content-Length; dispatchFetch alone would send it chunked, and
      // a chunked body makes the app's body limit (worker/middleware/request-policy.ts) count it
      // while reading, work no Twilio request causes.
      const body = new URLSearchParams(params).toString();
      headers["Content-Length"] = String(Buffer.byteLength(body));
      const t = performance.now();
      let status = 0;
      try {
        const res = await mf.dispatchFetch(`http://bench.local${pathAndQuery}`, { method: "POST", headers, body });
        await res.arrayBuffer();
        status = res.status;
      } catch {
        // The connection into workerd dropped (seen under heavy machine load): counted, not fatal.
        into.errors++;
      }
      const ms = performance.now() - t;
      into.latencies.push(ms);
      if (status !== 0 && (status < 200 || status > 299)) into.non2xx++;
      if (ms >= TWILIO_TIMEOUT_MS) into.overTimeout++;
    };
    /** The `completed` callback for an inbound call, with the parameters Twilio sends with it. */
    const completedForm = (callSid: string, from: string) => ({
      AccountSid: ACCOUNT_SID,
      ApiVersion: "2010-04-01",
      CallSid: callSid,
      CallStatus: "completed",
      CallbackSource: "call-progress-events",
      Called: BUSINESS_NUMBER,
      Caller: from,
      Direction: "inbound",
      From: from,
      To: BUSINESS_NUMBER,
      SequenceNumber: "3",
      CallDuration: "5",
      Timestamp: new Date().toUTCString(),
    });
    const incomingForm = (callSid: string) => ({
      CallSid: callSid,
      AccountSid: ACCOUNT_SID,
      To: BUSINESS_NUMBER,
      From: `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`,
      CallStatus: "ringing",
      Direction: "inbound",
    });

    const phase = async (body: (client: number) => Promise<void>, seconds = SECONDS): Promise<number> => {
      const until = performance.now() + seconds * 1000;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, i) => {
          while (performance.now() < until) await body(i);
        }),
      );
      return performance.now() - started;
    };

    let calls = 0;
    let written = 0;
    /** Waits until every call so far has its log `completed` in Postgres; how long it took. */
    const drain = async (): Promise<number> => {
      const started = performance.now();
      while (performance.now() - started < 120_000) {
        written = Number(
          (await client.query<{ n: string }>("SELECT count(*) AS n FROM call_logs WHERE status = 'completed'")).rows[0]!
            .n,
        );
        if (written >= calls) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return performance.now() - started;
    };
    /** One webhook client's turn: a new call, answered, then completed. */
    const webhookCall = async (into: { incoming: Series; status: Series }) => {
      const sid = `CA${hex(32)}`;
      const form = incomingForm(sid);
      calls++;
      await post("/twilio/voice/incoming", form, true, into.incoming);
      await post("/twilio/voice/status", completedForm(sid, form.From), true, into.status);
    };

    // Warm up, not measured: load the Worker and create the objects one call at a time, then both
    // sides under the full load for --warmup-seconds each, so the rounds measure a warm runtime
    // (the app's code compiled by V8, the objects' tables grown), not its first seconds.
    const warm = { incoming: series(), status: series(), bare: series() };
    for (let i = 0; i < 20; i++) await webhookCall(warm);
    if (WARMUP_SECONDS > 0) {
      await phase(() => webhookCall(warm), WARMUP_SECONDS);
      await drain();
      await phase(() => post("/__bench/bare", incomingForm(`CA${hex(32)}`), false, warm.bare), WARMUP_SECONDS);
    }
    if (warm.incoming.non2xx + warm.status.non2xx + warm.bare.non2xx + warm.incoming.errors > 0)
      throw new Error(`warm-up answered non-2xx: ${JSON.stringify({ ...warm, latencies: undefined })}`);

    // Rounds: each runs the webhook phase, waits for its writes, then the bare phase, so a machine
    // shared with other work slows both alike; the ratios are per round, the table's medians.
    const incoming = series();
    const status = series();
    const bare = series();
    let webhookMs = 0;
    let bareMs = 0;
    const perRound: { incoming: number; status: number; drainMs: number; peakConnections: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const r = { incoming: series(), status: series(), bare: series() };
      // Postgres connections open (sampled): every path opens its own per request or batch.
      let sampling = true;
      let peakConnections = 0;
      const sampler = (async () => {
        while (sampling) {
          const { rows } = await client.query<{ n: string }>(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()",
          );
          peakConnections = Math.max(peakConnections, Number(rows[0]!.n));
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      webhookMs += await phase(() => webhookCall(r));
      // Work the webhooks left for after their answers (writing the call logs) must be done before
      // the bare phase, or it would slow the bare route down too. How long it took is printed.
      const drainMs = await drain();
      sampling = false;
      await sampler;
      bareMs += await phase(async () => {
        await post("/__bench/bare", incomingForm(`CA${hex(32)}`), false, r.bare);
      });
      const bareP99 = p99Of(r.bare);
      perRound.push({
        incoming: p99Of(r.incoming) / bareP99,
        status: p99Of(r.status) / bareP99,
        drainMs,
        peakConnections,
      });
      for (const [all, one] of [
        [incoming, r.incoming],
        [status, r.status],
        [bare, r.bare],
      ] as const) {
        all.latencies.push(...one.latencies);
        all.non2xx += one.non2xx;
        all.errors += one.errors;
        all.overTimeout += one.overTimeout;
      }
    }
    const steps: [string, Series, number][] = [];
    if (STEP_SECONDS > 0) {
      for (const [name, pathAndQuery, sign] of [
        ["signature check (HMAC over the form)", "/__bench/step/signature", true],
        ["Postgres: open a pool, SELECT 1, close", "/__bench/step/postgres", false],
        ["one BusinessDO call (snapshot)", "/__bench/step/object", false],
        ["admission: reserve + release (BusinessDO + CallCapacityDO)", "/__bench/step/reserve", false],
      ] as const) {
        const s = series();
        const target =
          pathAndQuery.includes("/object") || pathAndQuery.includes("/reserve")
            ? `${pathAndQuery}?businessId=${businessId}`
            : pathAndQuery;
        const ms = await phase(async () => {
          await post(target, incomingForm(`CA${hex(32)}`), sign, s);
        }, STEP_SECONDS);
        steps.push([name, s, ms]);
      }
    }

    const fig = (s: Series, ms: number) => {
      const sorted = s.latencies.slice().sort((a, b) => a - b);
      return {
        rps: s.latencies.length / (ms / 1000),
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: sorted[sorted.length - 1] ?? Number.NaN,
        n: s.latencies.length,
        non2xx: s.non2xx,
        errors: s.errors,
        over: s.overTimeout,
      };
    };
    const b = fig(bare, bareMs);
    const rows: string[][] = [
      [
        "route",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "p99 / bare p99 (median of rounds)",
        BASELINE.label,
        "non-2xx",
        "no answer",
        ">= 15 s",
      ],
    ];
    for (const [name, s, ms, before, ratios] of [
      ["POST /twilio/voice/incoming", incoming, webhookMs, BASELINE.incoming, perRound.map((r) => r.incoming)],
      ["POST /twilio/voice/status", status, webhookMs, BASELINE.status, perRound.map((r) => r.status)],
      ["POST /__bench/bare", bare, bareMs, 1, perRound.map(() => 1)],
    ] as const) {
      const f = fig(s, ms);
      rows.push([
        name,
        String(f.n),
        f.rps.toFixed(0),
        f.p50.toFixed(1),
        f.p99.toFixed(1),
        f.max.toFixed(1),
        `${median(ratios).toFixed(2)}x`,
        before === null ? "-" : `${before.toFixed(2)}x`,
        String(f.non2xx),
        String(f.errors),
        String(f.over),
      ]);
    }
    const table = (rows: string[][]) => {
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i]!)).join("  |  "));
    };
    table(rows);
    if (steps.length > 0) {
      console.log(`\nWhere the time goes: each step alone, ${CLIENTS} clients, ${STEP_SECONDS} s each`);
      table([
        ["step", "requests", "req/s", "p50 ms", "p99 ms", "p99 / bare p99", "non-2xx"],
        ...steps.map(([name, s, ms]) => {
          const f = fig(s, ms);
          return [
            name,
            String(f.n),
            f.rps.toFixed(0),
            f.p50.toFixed(1),
            f.p99.toFixed(1),
            `${(f.p99 / b.p99).toFixed(2)}x`,
            String(f.non2xx + f.errors),
          ];
        }),
      ]);
    }
    const totals = await client.query<{ status: string; n: string }>(
      "SELECT status, COUNT(*) AS n FROM call_logs GROUP BY status ORDER BY status",
    );
    console.log(
      [
        "",
        `${ROUNDS} rounds, each: the webhook phase (each client runs incoming then status for one call, ${SECONDS} s; ` +
          "req/s is per route), its call logs written, then the bare phase; the table pools every round's requests.",
        `p99 / bare p99 per round: incoming ${perRound.map((r) => `${r.incoming.toFixed(2)}x`).join(", ")}; ` +
          `status ${perRound.map((r) => `${r.status.toFixed(2)}x`).join(", ")}.`,
        `Call logs written (completed) after each webhook phase: ${perRound.map((r) => `${r.drainMs.toFixed(0)} ms`).join(", ")}` +
          ` (${written} of ${calls} calls in all); peak Postgres connections during them: ` +
          `${Math.max(...perRound.map((r) => r.peakConnections))}.`,
        `Call logs after the run: ${totals.rows.map((r) => `${r.status} ${r.n}`).join(", ")}.`,
        "Latency is measured in Node around Miniflare's dispatchFetch (loopback HTTP into workerd), the same for all routes.",
      ].join("\n"),
    );
  } finally {
    for (const c of cleanups) await c().catch(() => {});
  }
}

await main();
