/**
 * A WhatsApp broadcast on the local stack: `npm run bench:broadcast [-- --recipients 10000
 * --per-minute 6000 --timeout-minutes 20]`. Figures only, never pass/fail. Loopback only, bounded.
 *
 * The real Worker (worker/index.ts bundled by wrangler) runs in Miniflare with its Durable Objects
 * and queues (production's batch settings, worker/queues/definitions.ts), against an embedded
 * PostgreSQL 17 through the Neon WebSocket proxy, and one real shard node (`shard-node`, fake
 * session driver: WhatsApp's servers cannot run here) reached over HTTP like in production.
 *
 * The business's throttle is set straight in Postgres to a fast pace (`--per-minute`, above what
 * the settings API allows, so the run takes seconds, not hours); quiet hours off, daily cap high.
 * One broadcast to every lead is created through the API; when about a third has gone out, an
 * agent replies in an inbox conversation whose customer wrote a minute ago (or after 60 s if the
 * broadcast is slower than that).
 *
 * Printed: queue deliveries per sent message (default-queue messages handled, from the Worker's
 * own metrics, minus the broadcast's dispatch jobs), Postgres round trips per sent message
 * (transactions from pg_stat_database: every statement outside a transaction is its own), how long
 * the reply took to reach the shard, and duplicates (messages to one recipient beyond one, at the
 * shard: must be 0). The baseline measured on the previous design (re-enqueue on every throttle
 * refusal) is printed beside the figures, with the ratio; see bench/README.md.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { deriveShardSecret } from "../contracts/shard-signing";
import { freePort } from "../scripts/lib/embedded-postgres";
import { hashPassword } from "../worker/auth/password";
import { queueDefinitions } from "../worker/queues/definitions";
import { DISPATCH_CHUNK } from "../worker/services/broadcasts";
import { startBenchDatabase, startBenchWorker } from "./lib/bench-stack";

const { values: args } = parseArgs({
  options: {
    recipients: { type: "string", default: "10000" },
    "per-minute": { type: "string", default: "300" },
    /** The run stops here even if the broadcast is not done; the figures are per message sent so far. */
    "timeout-minutes": { type: "string", default: "5" },
    /** Where Postgres and the Durable Objects keep their data. */
    "storage-dir": { type: "string", default: tmpdir() },
  },
});
const RECIPIENTS = Number(args.recipients);
const PER_MINUTE = Number(args["per-minute"]);
const TIMEOUT_MS = Number(args["timeout-minutes"]) * 60_000;
const STORAGE_DIR = path.resolve(args["storage-dir"]);
if (![RECIPIENTS, PER_MINUTE, TIMEOUT_MS].every((n) => Number.isInteger(n) && n > 0) || RECIPIENTS > 50_000) {
  throw new Error("recipients (at most 50000), per-minute and timeout-minutes must be positive integers");
}

/**
 * The previous design (a GCRA permit asked by the send job, re-enqueue on every refusal, the stale
 * sweep re-enqueueing waiting rows), measured with this script before the send schedule replaced
 * it: see bench/README.md for the run. Printed beside this run's figures.
 */
const BASELINE = {
  label: "before: re-enqueue on refusal",
  /** 10,000 recipients at 300/min, first 5 minutes: 1,142 sent (3.8/s of 5/s), 3,655 deliveries. */
  deliveriesPerSent: 3.2 as number | null,
  roundTripsPerSent: 12.92 as number | null,
  /** The reply had not reached the shard 120 s after it was sent (behind ~3,000 queued messages). */
  replyMs: null as number | null,
  replyNote: "> 120,000 ms (did not arrive within the 120 s watched)",
};

const PUBLIC_HOST = "bench.edge.test";
const METRICS_TOKEN = "bench-metrics-token-0123456789";
const PASSWORD = "bench password 0123456789";
/** The Worker's master secret; shard 1 holds the key derived from it (per-shard keys, as in production). */
const SHARD_SECRET = `bench-shard-secret-${crypto.randomUUID()}`;
const SHARD_1_KEY = await deriveShardSecret(SHARD_SECRET, 1);
const REPLY_JID = "972509999999@s.whatsapp.net";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SHARD_NODE_DIR = path.resolve(import.meta.dirname, "../shard-node");

/** One shard node with the fake session driver, like tests/setup/shard-nodes.ts. */
async function startShard(dataDir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: SHARD_NODE_DIR,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      BAILEYS_SHARD_ID: "1",
      BAILEYS_HOST: "127.0.0.1",
      BAILEYS_PORT: String(port),
      SHARD_SECRET: SHARD_1_KEY,
      SHARD_SESSION_DRIVER: "fake",
      SHARD_DATA_DIR: dataDir,
      // Events (our own sends' echoes) are not needed here: they wait in the shard's outbox.
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
  // Generous: on a loaded machine a tsx start takes a while.
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`shard node exited:\n${out}`);
    if (Date.now() > deadline) throw new Error(`shard node not healthy:\n${out}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {}
    await sleep(100);
  }
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
      }),
  };
}

async function xacts(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ xacts: string }>(
    "SELECT xact_commit + xact_rollback AS xacts FROM pg_stat_database WHERE datname = current_database()",
  );
  return Number(rows[0]!.xacts);
}

async function main(): Promise<void> {
  const workDir = await mkdtemp(path.join(tmpdir(), "prosaas-bench-broadcast-"));
  const doDir = await mkdtemp(path.join(STORAGE_DIR, "prosaas-bench-do-"));
  const cleanups: (() => Promise<unknown>)[] = [
    () => rm(workDir, { recursive: true, force: true }),
    () => rm(doDir, { recursive: true, force: true }),
  ];
  try {
    console.log(
      `broadcast benchmark: ${RECIPIENTS} recipients at ${PER_MINUTE}/min (min spacing ${(60_000 / PER_MINUTE).toFixed(1)} ms)\n`,
    );
    const postgres = await startBenchDatabase(STORAGE_DIR, "bench_broadcast");
    cleanups.unshift(() => postgres.stop());
    const shard = await startShard(path.join(workDir, "shard"));
    cleanups.unshift(() => shard.stop());

    const mf = startBenchWorker({
      entry: "worker/index.ts",
      name: "prosaas-bench-broadcast",
      workDir,
      doDir,
      queues: true,
      bindings: {
        DATABASE_URL: postgres.url,
        NEON_WS_PROXY: postgres.wsProxy,
        PUBLIC_HOST,
        METRICS_TOKEN,
        SHARD_SECRET,
        BAILEYS_NUM_SHARDS: "1",
        BAILEYS_SHARD_1_URL: shard.url,
      },
    });
    cleanups.unshift(() => mf.dispose());
    const call = (p: string, init: RequestInit = {}) => mf.dispatchFetch(`http://bench.local${p}`, init as never);

    // ---- a business, its owner, N leads, a fast throttle ----
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
    await client.query(
      `INSERT INTO business_settings (business_id, wa_messages_per_minute, wa_daily_cap, wa_quiet_hours_start, wa_quiet_hours_end)
       VALUES ($1, $2, 1000000, NULL, NULL)`,
      [businessId, PER_MINUTE],
    );
    const ownerId = Number(
      (
        await client.query<{ id: number }>(
          "INSERT INTO users (business_id, email, name, role, password_hash) VALUES ($1, 'owner@bench.test', 'Owner', 'owner', $2) RETURNING id",
          [businessId, await hashPassword(PASSWORD, 100_000)],
        )
      ).rows[0]!.id,
    );
    await client.query(
      `INSERT INTO leads (business_id, first_name, phone_e164, tags)
       SELECT $1, 'Lead ' || n, '+1555' || lpad(n::text, 7, '0'), ARRAY['bench'] FROM generate_series(1, $2::int) n`,
      [businessId, RECIPIENTS],
    );
    // The inbox conversation the agent replies in: its customer wrote a minute ago.
    const conversationId = Number(
      (
        await client.query<{ id: number }>(
          `INSERT INTO wa_conversations (business_id, chat_jid, last_message_at, last_message_preview)
           VALUES ($1, $2, now() - interval '1 minute', 'is the sale still on?') RETURNING id`,
          [businessId, REPLY_JID],
        )
      ).rows[0]!.id,
    );
    await client.query(
      `INSERT INTO wa_messages (business_id, conversation_id, chat_jid, wa_message_id, from_me, text, status, sent_at)
       VALUES ($1, $2, $3, 'BENCHINBOUND1', false, 'is the sale still on?', 'sent', now() - interval '1 minute')`,
      [businessId, conversationId, REPLY_JID],
    );
    void ownerId;

    const login = await call("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "owner@bench.test", password: PASSWORD }),
    });
    if (login.status !== 200) throw new Error(`login failed: ${login.status} ${await login.text()}`);
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    await login.arrayBuffer();
    const api = async (method: string, p: string, body?: unknown) => {
      const res = await call(p, {
        method,
        headers: { Cookie: cookie, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    };

    // ---- WhatsApp connected: QR on the fake phone, paired ----
    const connected = await api("POST", "/api/whatsapp/connect");
    if (connected.status !== 200) throw new Error(`connect failed: ${JSON.stringify(connected)}`);
    const paired = await fetch(`${shard.url}/_fake/sessions/${businessId}/pair`, {
      method: "POST",
      headers: { Authorization: `Bearer ${SHARD_1_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ phoneNumber: "972500000001" }),
    });
    if (!paired.ok) throw new Error(`pairing failed: ${paired.status} ${await paired.text()}`);

    await sleep(1500); // let the set-up's connections close and report their statistics
    const metricsBefore = await defaultQueueMessages(call);
    const before = await xacts(client);
    let monitorQueries = 0;
    const countSent = async () => {
      monitorQueries++;
      return Number(
        (
          await client.query<{ n: string }>(
            "SELECT count(*) AS n FROM wa_outbound WHERE business_id = $1 AND origin = 'broadcast' AND status = 'sent'",
            [businessId],
          )
        ).rows[0]!.n,
      );
    };

    // ---- the broadcast (one request) ----
    const t0 = performance.now();
    const created = await api("POST", "/api/broadcasts", {
      name: "Benchmark",
      template: "Hi {first_name}, the sale is on",
      audience: { tag: "bench" },
    });
    if (created.status !== 201) throw new Error(`create failed: ${JSON.stringify(created)}`);
    const broadcastId = created.body.broadcast.id as number;

    // ---- a reply mid-broadcast ----
    let replyMs: number | null = null;
    let replyNote = "not sent (the run ended first)";
    const deadline = Date.now() + TIMEOUT_MS;
    let sent = 0;
    let lastReport = Date.now();
    let status = "running";
    let replied = false;
    while (Date.now() < deadline) {
      await sleep(replied ? 1000 : 250);
      sent = await countSent();
      if (!replied && (sent >= RECIPIENTS / 3 || performance.now() - t0 > 60_000)) {
        replied = true;
        const r0 = performance.now();
        const reply = await api("POST", `/api/whatsapp/conversations/${conversationId}/reply`, {
          text: "yes, until Sunday",
        });
        if (reply.status !== 202) throw new Error(`reply failed: ${JSON.stringify(reply)}`);
        const outboundId = reply.body.outboundId as number;
        replyNote = "did not reach the shard within 120 s";
        while (performance.now() - r0 < 120_000) {
          monitorQueries++;
          const row = await client.query<{ status: string }>("SELECT status FROM wa_outbound WHERE id = $1", [
            outboundId,
          ]);
          if (row.rows[0]!.status === "sent") {
            replyMs = performance.now() - r0;
            replyNote = `${replyMs.toFixed(0)} ms (sent when ${sent} of ${RECIPIENTS} had gone out)`;
            break;
          }
          await sleep(20);
        }
      }
      monitorQueries++;
      status = (await client.query<{ status: string }>("SELECT status FROM broadcasts WHERE id = $1", [broadcastId]))
        .rows[0]!.status;
      if (status !== "running") break;
      if (Date.now() - lastReport > 15_000) {
        lastReport = Date.now();
        console.log(`  … ${sent} sent (${(sent / ((performance.now() - t0) / 1000)).toFixed(1)}/s)`);
      }
    }
    const elapsed = performance.now() - t0;
    sent = await countSent();
    await sleep(2000); // connections close after their batch: let them report their statistics
    const after = await xacts(client);
    const deliveries = (await defaultQueueMessages(call)) - metricsBefore - Math.ceil(RECIPIENTS / DISPATCH_CHUNK);
    const roundTrips = after - before - monitorQueries - 2;

    const atShard = (
      (await (
        await fetch(`${shard.url}/_fake/sessions/${businessId}/sent`, {
          headers: { Authorization: `Bearer ${SHARD_1_KEY}` },
        })
      ).json()) as { sent: { chatJid: string; text: string }[] }
    ).sent;
    const perRecipient = new Map<string, number>();
    for (const m of atShard) {
      const key = `${m.chatJid}|${m.text}`;
      perRecipient.set(key, (perRecipient.get(key) ?? 0) + 1);
    }
    const duplicates = [...perRecipient.values()].reduce((n, c) => n + c - 1, 0);

    const perSent = deliveries / Math.max(1, sent);
    const rtPerSent = roundTrips / Math.max(1, sent);
    const ratio = (ours: number | null, base: number | null) =>
      ours === null || base === null ? "" : `  (×${(ours / base).toFixed(2)} of before)`;
    const fmt = (n: number | null, digits: number) => (n === null ? "not measured" : n.toFixed(digits));
    const rows: [string, string][] = [
      ["broadcast status", `${status} after ${(elapsed / 1000).toFixed(1)} s`],
      [
        "sent",
        `${sent} of ${RECIPIENTS} (${(sent / (elapsed / 1000)).toFixed(1)}/s; pace allows ${(PER_MINUTE / 60).toFixed(1)}/s)`,
      ],
      [
        "queue deliveries per sent message",
        `${perSent.toFixed(2)} (${deliveries} deliveries)${ratio(perSent, BASELINE.deliveriesPerSent)}`,
      ],
      [`  ${BASELINE.label}`, fmt(BASELINE.deliveriesPerSent, 2)],
      [
        "Postgres round trips per sent message",
        `${rtPerSent.toFixed(2)} (${roundTrips} transactions)${ratio(rtPerSent, BASELINE.roundTripsPerSent)}`,
      ],
      [`  ${BASELINE.label}`, fmt(BASELINE.roundTripsPerSent, 2)],
      [
        "inbox reply mid-broadcast → shard",
        `${replyNote} (target ≤ ${(2000 + 60_000 / PER_MINUTE).toFixed(0)} ms)${ratio(replyMs, BASELINE.replyMs)}`,
      ],
      [`  ${BASELINE.label}`, BASELINE.replyMs === null ? BASELINE.replyNote : `${BASELINE.replyMs.toFixed(0)} ms`],
      ["duplicates at the shard (beyond one per recipient)", String(duplicates)],
    ];
    const width = Math.max(...rows.map((r) => r[0].length));
    for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
    console.log(
      [
        "",
        `Default queue: batch ${queueDefinitions.default.maxBatchSize}, timeout ${queueDefinitions.default.maxBatchTimeoutSeconds} s (production's).`,
        "Deliveries = default-queue messages handled (ack, retry, dead letter) minus the broadcast's dispatch jobs.",
        "Round trips include the broadcast's creation and dispatch. One workerd, one Postgres, one shard on this machine.",
      ].join("\n"),
    );
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((err) => console.error(`[cleanup] ${String(err)}`));
  }
}

/** Default-queue messages the Worker has handled, from its own metrics. */
async function defaultQueueMessages(
  call: (p: string, init?: RequestInit) => Promise<{ text(): Promise<string> }>,
): Promise<number> {
  const res = await call("/metrics", { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
  const text = await res.text();
  return [...text.matchAll(/^prosaas_queue_messages_total\{([^}]*)\} (\d+)/gm)]
    .filter((m) => m[1]!.includes('queue="default"'))
    .reduce((n, m) => n + Number(m[2]), 0);
}

await main();
