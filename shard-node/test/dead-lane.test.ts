/**
 * The dead lane, on a real shard process and a real HTTP edge on loopback: an event the edge keeps
 * refusing (4xx) is parked after OUTBOX_MAX_REFUSALS tries on its own, and the events of the same
 * business behind it are delivered. Before the dead lane, one refused event held its business's
 * lane forever.
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

const BUSINESS = 7;
const CHAT = "972500000007@s.whatsapp.net";
const idOf = (messageId: string) => messageEventId(BUSINESS, { chatJid: CHAT, messageId, fromMe: false });

async function openShard(edge: EdgeStub, extra: Record<string, string> = {}): Promise<ShardProcess> {
  const shard = await startShardProcess({
    BAILEYS_SHARD_ID: "1",
    EDGE_EVENTS_URL: edge.url,
    SHARD_DATA_DIR: tempDir(),
    SQLITE_SYNCHRONOUS: "NORMAL",
    OUTBOX_RETRY_BASE_MS: "10",
    OUTBOX_RETRY_MAX_MS: "50",
    OUTBOX_POLL_MS: "50",
    OUTBOX_MAX_REFUSALS: "3",
    ...extra,
  });
  running.push(shard);
  expect((await shard.request("POST", `/sessions/${BUSINESS}/start`, {})).status).toBe(200);
  await waitFor(async () => (await shard.request("GET", `/sessions/${BUSINESS}`)).body.state === "qr");
  await shard.request("POST", `/_fake/sessions/${BUSINESS}/pair`, { phoneNumber: "972500000007" });
  return shard;
}

async function inbound(shard: ShardProcess, ids: string[]): Promise<void> {
  const res = await shard.request("POST", `/_fake/sessions/${BUSINESS}/inbound`, {
    messages: ids.map((messageId) => ({ chatJid: CHAT, messageId, text: `text of ${messageId}` })),
  });
  expect(res.status).toBe(200);
}

describe("dead lane", () => {
  it("parks an event the edge refuses again and again, and delivers the business's events behind it", async () => {
    const edge = await startEdgeStub(TEST_SECRET);
    stubs.push(edge);
    edge.refuseIds.add(idOf("POISON"));
    const shard = await openShard(edge);

    await inbound(shard, ["GOOD-1", "POISON", "GOOD-2", "GOOD-3"]);

    await waitFor(() => edge.events.has(idOf("GOOD-3")), 15_000);
    expect(edge.events.has(idOf("GOOD-1"))).toBe(true);
    expect(edge.events.has(idOf("GOOD-2"))).toBe(true);
    expect(edge.events.has(idOf("POISON"))).toBe(false);

    const dead = (await shard.request("GET", `/_fake/sessions/${BUSINESS}/dead`)).body.dead;
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ eventId: idOf("POISON"), refusals: 3, lastStatus: 400 });
    expect(dead[0].lastError).toContain("validation_failed");
    expect(JSON.parse(dead[0].payload).text).toBe("text of POISON");

    const health = await shard.request("GET", "/health", undefined, {});
    expect(health.body.outbox).toMatchObject({ pending: 0, dead: 1 });

    // The lane keeps flowing after the park: a later message goes straight through.
    await inbound(shard, ["GOOD-4"]);
    await waitFor(() => edge.events.has(idOf("GOOD-4")), 10_000);
  });

  it("counts parked events in /metrics", async () => {
    const edge = await startEdgeStub(TEST_SECRET);
    stubs.push(edge);
    const shard = await openShard(edge, { METRICS_TOKEN: "metrics-token-for-tests" });
    // A raw event no edge accepts: the payload of a buggy older build.
    const add = await shard.request("POST", `/_fake/sessions/${BUSINESS}/raw-events`, {
      events: [{ eventId: "broken-1", payload: JSON.stringify({ id: "broken-1", type: "message.upsert" }) }],
    });
    expect(add.body).toEqual({ appended: 1 });
    await inbound(shard, ["AFTER"]);
    await waitFor(() => edge.events.has(idOf("AFTER")), 15_000);

    const res = await fetch(`${shard.baseUrl}/metrics`, {
      headers: { authorization: "Bearer metrics-token-for-tests" },
    });
    const text = await res.text();
    expect(text).toMatch(/^shard_outbox_events_parked_total\{shard="1"\} 1$/m);
    expect(text).toMatch(/^shard_outbox_dead_events\{shard="1"\} 1$/m);
  });

  it("never parks on answers that are not about the event (401, 429, 5xx): the event waits and then arrives", async () => {
    const edge = await startEdgeStub(TEST_SECRET);
    stubs.push(edge);
    const shard = await openShard(edge);
    for (const status of [401, 429, 503]) {
      edge.failWith = status;
      const before = edge.requests;
      await inbound(shard, [`WAIT-${status}`]);
      // Far more tries than OUTBOX_MAX_REFUSALS (3), none of which may park the event.
      await waitFor(() => edge.requests >= before + 8, 10_000);
      edge.failWith = undefined;
      await waitFor(() => edge.events.has(idOf(`WAIT-${status}`)), 10_000);
    }
    expect((await shard.request("GET", "/health", undefined, {})).body.outbox.dead).toBe(0);
  });
});
