/**
 * Shard node benchmark (loopback only, bounded): `npm run bench:shard` (from shard-node/).
 *
 *   1. RSS per idle session: N real Baileys sessions (BENCH_SESSIONS, default 100) logged in to a
 *      fake WhatsApp server running in a separate process, measured in this process (the shard).
 *   2. Restart time with N stored sessions: a shard child process (fake driver, BENCH_RESTART_SESSIONS,
 *      default 1000 stored paired sessions), from spawn until /health reports all of them open.
 *      Plus, from (1), the time for the in-process shard to bring N stored Baileys sessions to open.
 *   3. Outbox throughput: BENCH_EVENTS (default 20000) inbound events persisted with
 *      SQLITE_SYNCHRONOUS=FULL, then forwarded, signed, to a local HTTP receiver that verifies the
 *      signature and dedupes by id; events/s from the first append to the last event received.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { initAuthCreds, WA_CERT_DETAILS } from "@whiskeysockets/baileys";
import { parseConfig } from "../shard-node/src/config.js";
import type { FakeSession } from "../shard-node/src/sessions/fake-session.js";
import { createShard } from "../shard-node/src/shard.js";
import { SqliteAuthStore } from "../shard-node/src/store/auth-store.js";
import { openDb } from "../shard-node/src/store/db.js";
import { SessionRecords } from "../shard-node/src/store/session-records.js";
import { startEdgeStub } from "../shard-node/test/helpers/edge-stub.js";
import { freePort } from "../shard-node/test/helpers/shard-process.js";

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 100);
const RESTART_SESSIONS = Number(process.env.BENCH_RESTART_SESSIONS ?? 1000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const SECRET = "bench-shard-secret-0123456789";
const SHARD_NODE_DIR = fileURLToPath(new URL("../shard-node/", import.meta.url));

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const tempDirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
};
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

function settledMemory(): { rss: number; heap: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external };
}

/** Stores `n` paired sessions (creds with `me`, desired=running), as a shard leaves them at shutdown. */
function seedPairedSessions(dataDir: string, n: number, firstBusinessId = 1): void {
  const db = openDb({ dataDir, synchronous: "NORMAL" });
  const auth = new SqliteAuthStore(db);
  const records = new SessionRecords(db);
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const businessId = firstBusinessId + i;
      const creds = initAuthCreds();
      creds.me = { id: `97250${String(businessId).padStart(7, "0")}:5@s.whatsapp.net`, name: "bench" };
      auth.writeCreds(businessId, creds);
      records.setDesired(businessId, "running");
    }
  })();
  db.close();
}

function config(overrides: Record<string, string>) {
  return parseConfig({
    BAILEYS_PORT: "0",
    BAILEYS_HOST: "127.0.0.1",
    SHARD_SECRET: SECRET,
    EDGE_EVENTS_URL: "http://127.0.0.1:9/unused",
    SHARD_MAX_SESSIONS: String(Math.max(SESSIONS, RESTART_SESSIONS, 100)),
    LOG_LEVEL: "silent",
    ...overrides,
  });
}

async function benchBaileysIdleSessions(): Promise<{
  perSessionBytes: number;
  perSessionHeap: number;
  openMs: number;
}> {
  const fakeWa: ChildProcess = spawn(process.execPath, ["--import", "tsx", "../bench/shard-fake-wa.ts"], {
    cwd: SHARD_NODE_DIR,
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: fakeWa.stdout! }).once("line", resolve);
      fakeWa.once("exit", (code) => reject(new Error(`fake WhatsApp server exited (${code})`)));
    });
    const { url, rootPublicKeyHex } = JSON.parse(line) as { url: string; rootPublicKeyHex: string };
    WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(rootPublicKeyHex, "hex");

    const dataDir = tempDir("bench-baileys-");
    seedPairedSessions(dataDir, SESSIONS);
    const shard = createShard(
      config({ SHARD_SESSION_DRIVER: "baileys", WA_WEBSOCKET_URL: url, SHARD_DATA_DIR: dataDir }),
    );
    const before = settledMemory();
    const started = performance.now();
    await shard.start();
    await until("all Baileys sessions open", () => shard.manager.countsByState().open === SESSIONS, 120_000);
    const openMs = performance.now() - started;
    await sleep(3000);
    const after = settledMemory();
    await shard.shutdown();
    return {
      perSessionBytes: (after.rss - before.rss) / SESSIONS,
      perSessionHeap: (after.heap - before.heap) / SESSIONS,
      openMs,
    };
  } finally {
    fakeWa.kill("SIGTERM");
  }
}

async function benchRestart(): Promise<{ ms: number }> {
  const dataDir = tempDir("bench-restart-");
  seedPairedSessions(dataDir, RESTART_SESSIONS);
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: SHARD_NODE_DIR,
    env: {
      PATH: process.env.PATH ?? "",
      BAILEYS_PORT: String(port),
      BAILEYS_HOST: "127.0.0.1",
      SHARD_SECRET: SECRET,
      EDGE_EVENTS_URL: "http://127.0.0.1:9/unused",
      SHARD_DATA_DIR: dataDir,
      SHARD_SESSION_DRIVER: "fake",
      SHARD_MAX_SESSIONS: String(RESTART_SESSIONS),
      LOG_LEVEL: "error",
    },
    stdio: "ignore",
  });
  try {
    await until(
      "all stored sessions open after restart",
      async () => {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/health`);
          const body = (await res.json()) as { sessions: { byState: { open: number } } };
          return body.sessions.byState.open === RESTART_SESSIONS;
        } catch {
          return false;
        }
      },
      60_000,
    );
    return { ms: performance.now() - started };
  } finally {
    child.kill("SIGKILL");
  }
}

async function benchOutbox(): Promise<{ appendPerSec: number; endToEndPerSec: number; duplicates: number }> {
  const stub = await startEdgeStub(SECRET);
  const dataDir = tempDir("bench-outbox-");
  const businesses = 10;
  seedPairedSessions(dataDir, businesses);
  const shard = createShard(
    config({
      SHARD_SESSION_DRIVER: "fake",
      SHARD_DATA_DIR: dataDir,
      EDGE_EVENTS_URL: stub.url,
      SQLITE_SYNCHRONOUS: "FULL",
      OUTBOX_BATCH_SIZE: "200",
      OUTBOX_CONCURRENCY: "4",
    }),
  );
  try {
    await shard.start();
    await until("sessions open", () => shard.manager.countsByState().open === businesses, 10_000);
    const baseline = stub.events.size;
    const perBatch = 50;
    const started = performance.now();
    let injected = 0;
    for (let i = 0; injected < EVENTS; i++) {
      const businessId = (i % businesses) + 1;
      const session = shard.manager.get(businessId) as FakeSession;
      const messages = [];
      for (let j = 0; j < perBatch && injected < EVENTS; j++, injected++) {
        messages.push({
          key: { remoteJid: "972500000001@s.whatsapp.net", id: `B${injected}`, fromMe: false },
          message: { conversation: `bench message ${injected}` },
          messageTimestamp: 1_800_000_000,
        });
      }
      // One Baileys upsert batch = one fsynced transaction, as in production.
      session.simulateInbound(messages, "notify");
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    const appendSeconds = (performance.now() - started) / 1000;
    await until("all events received", () => stub.events.size - baseline >= EVENTS, 120_000);
    const seconds = (performance.now() - started) / 1000;
    return { appendPerSec: EVENTS / appendSeconds, endToEndPerSec: EVENTS / seconds, duplicates: stub.duplicates };
  } finally {
    await shard.shutdown();
    await stub.close();
  }
}

console.log(`shard-node benchmark (Node ${process.version}, loopback only)\n`);

const idle = await benchBaileysIdleSessions();
console.log(
  `RSS per idle session: ${mb(idle.perSessionBytes)} (JS heap + external: ${mb(idle.perSessionHeap)}) — ${SESSIONS} real Baileys sessions logged in to a fake WhatsApp server in another process; no history, no contacts`,
);
console.log(`  in-process boot → ${SESSIONS} stored Baileys sessions open: ${(idle.openMs / 1000).toFixed(2)} s`);

const restart = await benchRestart();
console.log(
  `Restart time with ${RESTART_SESSIONS} stored sessions (fake driver, process spawn → all open per /health): ${(restart.ms / 1000).toFixed(2)} s`,
);

const outbox = await benchOutbox();
console.log(
  `Outbox, SQLITE_SYNCHRONOUS=FULL, ${EVENTS} events in batches of 50 over 10 businesses: ` +
    `${Math.round(outbox.appendPerSec)} events/s persisted, ${Math.round(outbox.endToEndPerSec)} events/s delivered end to end ` +
    `(signed, to a verifying receiver in this process; ${outbox.duplicates} duplicates)`,
);
for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
process.exit(0);
