/**
 * The outbox promise, tested on a real shard process and a real HTTP edge stub on loopback:
 * nothing acknowledged by the shard is ever lost, whether the shard is SIGKILLed mid-forward or the
 * edge answers 500 for a while. The stub dedupes by event id and counts duplicates: redelivery is
 * allowed (at-least-once), loss and reordering within a business are not.
 */
import { afterEach, describe, expect, it } from "vitest";
import { messageEventId } from "../../contracts/shard-events.js";
import { TEST_SECRET, tempDir } from "./helpers/config.js";
import { type EdgeStub, startEdgeStub } from "./helpers/edge-stub.js";
import { waitFor } from "./helpers/fake-wa-server.js";
import { type ShardProcess, startShardProcess } from "./helpers/shard-process.js";

const running: ShardProcess[] = [];
const stubs: EdgeStub[] = [];

afterEach(async () => {
  for (const p of running.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill("SIGKILL");
      await p.exited;
    }
  }
  for (const s of stubs.splice(0)) await s.close();
});

const BUSINESSES = [101, 102, 103];
const chat = (b: number) => `9725000${b}@s.whatsapp.net`;

async function pairAll(shard: ShardProcess): Promise<void> {
  for (const b of BUSINESSES) {
    expect((await shard.request("POST", `/sessions/${b}/start`, {})).status).toBe(200);
    await waitFor(async () => (await shard.request("GET", `/sessions/${b}`)).body.state === "qr");
    await shard.request("POST", `/_fake/sessions/${b}/pair`, { phoneNumber: `97250000${b}` });
  }
}

/** Injects `count` messages per business in batches; returns each business's ids in order. */
async function inject(shard: ShardProcess, count: number, prefix: string, batch = 20): Promise<Map<number, string[]>> {
  const ids = new Map<number, string[]>(BUSINESSES.map((b) => [b, []]));
  for (let i = 0; i < count; i += batch) {
    for (const b of BUSINESSES) {
      const messages = [];
      for (let j = i; j < Math.min(count, i + batch); j++) {
        const messageId = `${prefix}-${b}-${j}`;
        messages.push({ chatJid: chat(b), messageId, text: `message ${j}` });
        ids.get(b)!.push(messageEventId(b, { chatJid: chat(b), messageId, fromMe: false }));
      }
      const res = await shard.request("POST", `/_fake/sessions/${b}/inbound`, {
        // The first batch arrives as history ("append"), the rest live ("notify"): both are kept.
        upsertType: i === 0 ? "append" : "notify",
        messages,
      });
      expect(res.status).toBe(200);
    }
  }
  return ids;
}

/** Per business, the order in which the edge first saw each message. */
function firstSeenOrder(stub: EdgeStub, businessId: number): string[] {
  return [...stub.events.values()]
    .filter((e) => e.businessId === businessId && e.type === "message.upsert")
    .map((e) => e.id);
}

describe("outbox durability (real shard process)", () => {
  it("delivers every event exactly once by id after a SIGKILL mid-forward and a restart", async () => {
    const stub = await startEdgeStub(TEST_SECRET, { delayMs: 15 });
    stubs.push(stub);
    const dataDir = tempDir();
    const env = {
      SHARD_DATA_DIR: dataDir,
      EDGE_EVENTS_URL: stub.url,
      OUTBOX_BATCH_SIZE: "10",
      OUTBOX_CONCURRENCY: "2",
      OUTBOX_RETRY_BASE_MS: "20",
      OUTBOX_RETRY_MAX_MS: "200",
      OUTBOX_POLL_MS: "100",
    };
    const first = await startShardProcess(env);
    running.push(first);
    await pairAll(first);
    const ids = await inject(first, 200, "k");

    // Forwarding is slow (15 ms per batch of 10, 2 lanes at once): kill while it is mid-way.
    await waitFor(() => stub.events.size > 60, 10_000, 5);
    first.child.kill("SIGKILL");
    await first.exited;
    const total = BUSINESSES.reduce((n, b) => n + ids.get(b)!.length, 0);
    const deliveredBeforeKill = [...stub.events.values()].filter((e) => e.type === "message.upsert").length;
    expect(deliveredBeforeKill).toBeLessThan(total);

    const second = await startShardProcess(env);
    running.push(second);
    await waitFor(() => BUSINESSES.every((b) => ids.get(b)!.every((id) => stub.events.has(id))), 20_000, 20);
    for (const b of BUSINESSES) {
      // Every message the shard acknowledged reached the edge, in the order WhatsApp gave them.
      expect(firstSeenOrder(stub, b)).toEqual(ids.get(b));
    }
    const health = await second.request("GET", "/health", undefined, {});
    await waitFor(async () => (await second.request("GET", "/health", undefined, {})).body.outbox.pending === 0, 5000);
    expect(health.body.sessions.byState.open).toBe(3);
    // Redelivery after the kill is allowed (the edge dedupes), but it is bounded by what was in
    // flight when the process died: 2 lanes × batches of 10.
    expect(stub.duplicates).toBeLessThanOrEqual(2 * 10);
    console.log(
      `SIGKILL test: ${total} messages, ${deliveredBeforeKill} delivered before the kill, ${stub.duplicates} duplicates`,
    );
  });

  it("retries with backoff while the edge answers 500, and loses nothing", async () => {
    const stub = await startEdgeStub(TEST_SECRET);
    stubs.push(stub);
    stub.failWith = 500;
    const shard = await startShardProcess({
      SHARD_DATA_DIR: tempDir(),
      EDGE_EVENTS_URL: stub.url,
      OUTBOX_RETRY_BASE_MS: "50",
      OUTBOX_RETRY_MAX_MS: "400",
      OUTBOX_POLL_MS: "100",
    });
    running.push(shard);
    await pairAll(shard);
    const ids = await inject(shard, 30, "e");

    const outage = 1500;
    await new Promise((r) => setTimeout(r, outage));
    const failedRequests = stub.requests;
    // Retried, but backing off: 3 lanes, capped at 400 ms, over 1.5 s → a few dozen at most.
    expect(failedRequests).toBeGreaterThanOrEqual(6);
    expect(failedRequests).toBeLessThan(60);
    expect(stub.events.size).toBe(0);
    const pending = (await shard.request("GET", "/health", undefined, {})).body.outbox.pending;
    expect(pending).toBeGreaterThanOrEqual(90);

    stub.failWith = undefined;
    await waitFor(() => BUSINESSES.every((b) => ids.get(b)!.every((id) => stub.events.has(id))), 10_000);
    for (const b of BUSINESSES) expect(firstSeenOrder(stub, b)).toEqual(ids.get(b));
    expect(stub.duplicates).toBe(0);
  });

  it("answers a bad shard secret with 401 and bad input with 400 over real HTTP", async () => {
    const stub = await startEdgeStub(TEST_SECRET);
    stubs.push(stub);
    const shard = await startShardProcess({ SHARD_DATA_DIR: tempDir(), EDGE_EVENTS_URL: stub.url });
    running.push(shard);
    const bad = await shard.request("POST", "/sessions/1/start", {}, { authorization: "Bearer wrong-secret-wrong" });
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe("unauthorized");
    const invalid = await shard.request("POST", "/sessions/1/messages", { to: 5 });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.message).toContain("to");

    // SIGTERM is a graceful stop: exit code 0.
    shard.child.kill("SIGTERM");
    expect(await shard.exited).toBe(0);
  });
});
