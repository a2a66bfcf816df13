/**
 * The WhatsApp send schedule (BusinessDO). The bugs guarded against: waiting sends re-queueing
 * themselves into chains of queue messages; a reply stuck behind a broadcast for hours; a
 * customer's messages overtaking each other; quiet hours holding an answer the customer is waiting
 * for; a settings change that does not release what it no longer holds; waiting that no API shows.
 *
 * The schedule's rules run on a virtual clock (SendSchedule in a real object's SQLite storage);
 * the user-visible behaviour runs end to end through a real shard node (fake driver).
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, inArray } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  MAX_IN_FLIGHT,
  type ScheduledSend,
  type SendPolicy,
  SendSchedule,
} from "../../durable-objects/business/send-schedule";
import { broadcasts, leads, waOutbound } from "../../worker/db/schema";
import { jobHandlers } from "../../worker/queues/handlers";
import { wallClockOf } from "../../worker/services/dates";
import { testDb } from "./helpers";
import { uniquePhone } from "./phones";
import { type Connected, connectedTenant, conversationWith, sentAtShard, setPace } from "./send-fixtures";

const { db, close } = testDb();
afterAll(close);

// ---- the rules, on a virtual clock ----

const base: SendPolicy = {
  perMinute: 20,
  dailyCap: 1000,
  quietStart: null,
  quietEnd: null,
  timezone: "Asia/Jerusalem",
};
let objectSeq = 0;

/** Runs `fn` against a fresh schedule in a real BusinessDO's SQLite storage. */
async function withSchedule<T>(fn: (s: SendSchedule) => T): Promise<T> {
  const stub = env.BUSINESS_DO.getByName(`send-schedule-unit:${++objectSeq}:${crypto.randomUUID()}`);
  return runInDurableObject(stub, (_, state) => fn(new SendSchedule(state.storage.sql)));
}

const item = (
  outboundId: number,
  recipient: string,
  origin: ScheduledSend["origin"],
  windowUntilMs: number | null = null,
): ScheduledSend => ({ outboundId, recipient, origin, originId: origin === "broadcast" ? 1 : null, windowUntilMs });

/** Runs the schedule's alarm to completion on a virtual clock; every send finishes at once. */
function drain(s: SendSchedule, policy: SendPolicy, t0: number, maxWakes = 1000) {
  const sent: { id: number; at: number }[] = [];
  let wakes = 0;
  let now: number | null = t0;
  while (now !== null && wakes < maxWakes) {
    wakes++;
    const { dispatch, nextAtMs } = s.due(policy, now);
    for (const id of dispatch) {
      sent.push({ id, at: now });
      s.finish(id);
    }
    now = nextAtMs;
  }
  return { sent, wakes };
}

describe("send schedule rules", () => {
  it("paces a burst: after the burst allowance one per interval, each message handed out once, no idle wake-ups", async () => {
    const t0 = Date.UTC(2026, 10, 22, 10, 0, 0);
    const { sent, wakes } = await withSchedule((s) => {
      s.add(Array.from({ length: 20 }, (_, i) => item(i + 1, `r${i}`, "broadcast")));
      return drain(s, base, t0);
    });
    expect(sent.map((x) => x.id)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(sent.filter((x) => x.at === t0)).toHaveLength(2); // the burst at 20/min
    const gaps = sent.slice(2).map((x, i) => x.at - sent[i + 1]!.at);
    // 3 s per message at 20/min (GCRA: no gap shorter than the interval after the burst).
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(2999);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(3001);
    for (const { at } of sent)
      expect(sent.filter((x) => x.at >= at && x.at < at + 60_000).length).toBeLessThanOrEqual(22);
    // One wake-up per slot (plus the first): waiting does not spin.
    expect(wakes).toBeLessThanOrEqual(20);
  });

  it("replies go first, then scheduled messages, then broadcasts; one customer's messages never overtake each other", async () => {
    const policy = { ...base, perMinute: 600 }; // burst 5
    const result = await withSchedule((s) => {
      s.add([
        item(1, "A", "broadcast"),
        item(2, "B", "broadcast"),
        item(3, "C", "broadcast"),
        item(4, "D", "scheduled"),
        item(5, "E", "reply"),
        item(6, "F", "broadcast"),
        item(7, "F", "reply"), // F's broadcast was written first: it goes first, lifted to a reply's rank
      ]);
      const t0 = Date.UTC(2026, 10, 22, 10, 0, 0);
      const first = s.due(policy, t0).dispatch;
      for (const id of first) s.finish(id);
      const second = s.due(policy, t0 + 60_000).dispatch;
      return { first, second };
    });
    // 7 waits for 6 (in flight to the same customer) even though it outranks 4, 1 and 2.
    expect(result.first).toEqual([5, 6, 4, 1, 2]);
    expect(result.second).toEqual([7, 3]);
  });

  it("quiet hours hold what the business starts until they end, but not a reply within the customer's 24-hour window", async () => {
    const policy = { ...base, perMinute: 600, quietStart: "22:00", quietEnd: "08:00" };
    const night = Date.UTC(2026, 10, 23, 2, 0, 0); // 04:00 in Jerusalem (UTC+2)
    const morning = Date.UTC(2026, 10, 23, 6, 0, 0); // 08:00
    const result = await withSchedule((s) => {
      s.add([
        item(1, "A", "broadcast"),
        item(2, "B", "reply", night + 3600_000), // wrote 23 h ago
        item(3, "C", "reply", null), // never wrote: the business starts this one
        item(4, "A", "reply", night + 60_000), // A wrote a minute ago: not held behind A's broadcast
        item(5, "D", "reminder"),
      ]);
      const atNight = s.due(policy, night);
      for (const id of atNight.dispatch) s.finish(id);
      const waiting = s.waiting(policy, [1, 3], night);
      const atMorning = s.due(policy, atNight.nextAtMs!);
      return { atNight, waiting, atMorning };
    });
    expect(result.atNight.dispatch).toEqual([2, 4]);
    expect(result.atNight.nextAtMs).toBe(morning);
    expect(result.waiting.map((w) => [w.outboundId, w.reason])).toEqual([
      [1, "quiet_hours"],
      [3, "quiet_hours"],
    ]);
    expect(new Date(result.waiting[0]!.expectedAt!).getTime()).toBeGreaterThanOrEqual(morning);
    // A's broadcast was lifted to a reply's rank by A's reply (written after it): it goes first.
    expect(result.atMorning.dispatch).toEqual([1, 3, 5]);
  });

  it("the daily cap sleeps until local midnight (one wake-up), then carries on", async () => {
    const policy = { ...base, perMinute: 600, dailyCap: 2 };
    const noon = Date.UTC(2026, 10, 24, 10, 0, 0); // 12:00 in Jerusalem
    const result = await withSchedule((s) => {
      s.add([item(1, "A", "broadcast"), item(2, "B", "broadcast"), item(3, "C", "broadcast")]);
      const first = s.due(policy, noon);
      for (const id of first.dispatch) s.finish(id);
      const explained = s.waiting(policy, [3], noon)[0]!;
      const next = s.due(policy, first.nextAtMs!);
      return { first, explained, next };
    });
    expect(result.first.dispatch).toEqual([1, 2]);
    expect(result.first.nextAtMs).toBe(Date.UTC(2026, 10, 24, 22, 0, 0)); // local midnight
    expect(result.explained.reason).toBe("daily_cap");
    expect(result.next.dispatch).toEqual([3]);
  });

  it("adding a message again keeps its place (no second chain); a delivery lost long ago is handed out once more", async () => {
    const t0 = Date.UTC(2026, 10, 22, 10, 0, 0);
    const result = await withSchedule((s) => {
      s.add([item(1, "A", "broadcast"), item(2, "B", "broadcast")]);
      const again = s.add([item(1, "A", "broadcast"), item(2, "B", "broadcast")], t0);
      const first = s.due({ ...base, perMinute: 60 }, t0).dispatch; // burst 5: both
      // The sweep, 20 minutes on, finds 1 still queued in Postgres: its delivery was lost.
      const swept = s.add([item(1, "A", "broadcast")], t0 + 10 * 60_000);
      const second = s.due({ ...base, perMinute: 60 }, t0 + 20 * 60_000).dispatch;
      return { again, first, swept, second, state: s.state() };
    });
    expect(result.again.added).toBe(0);
    expect(result.first).toEqual([1, 2]);
    expect(result.swept.added).toBe(0);
    // 2 is also past the lost mark (nobody finished it): both go back, once each.
    expect(result.second.sort()).toEqual([1, 2]);
  });

  it("never runs more than the in-flight bound ahead of the senders, but a reply still goes, on the fast lane", async () => {
    const policy = { ...base, perMinute: 6000 }; // 10 ms apart, burst 5
    const t0 = Date.UTC(2026, 10, 22, 10, 0, 0);
    const result = await withSchedule((s) => {
      s.add(Array.from({ length: MAX_IN_FLIGHT + 20 }, (_, i) => item(i + 1, `r${i}`, "broadcast")));
      const handedOut: number[] = [];
      // Nobody finishes: the senders are slow.
      for (let now = t0; now < t0 + 10_000; now += 10) handedOut.push(...s.due(policy, now).dispatch);
      s.add([item(1000, "customer", "reply", t0 + 3600_000)]);
      const withReply = s.due(policy, t0 + 20_000);
      s.finish(1000);
      s.finish(1);
      const afterFinish = s.due(policy, t0 + 30_000);
      return { handedOut, withReply, afterFinish };
    });
    expect(result.handedOut).toHaveLength(MAX_IN_FLIGHT);
    expect(result.withReply).toMatchObject({ dispatch: [1000], urgent: [1000] });
    expect(result.afterFinish).toMatchObject({ dispatch: [MAX_IN_FLIGHT + 1], urgent: [] });
  });

  it("a pause stops every slot until resumed; adding while paused says so", async () => {
    const t0 = Date.UTC(2026, 10, 22, 10, 0, 0);
    const result = await withSchedule((s) => {
      s.add([item(1, "A", "reply", t0 + 3600_000)]);
      s.pause("banned", t0);
      const paused = s.due(base, t0);
      const added = s.add([item(2, "B", "reply")]);
      s.resume();
      return { paused, added, resumed: s.due(base, t0 + 1000).dispatch };
    });
    expect(result.paused).toEqual({ dispatch: [], urgent: [], nextAtMs: null });
    expect(result.added).toEqual({ added: 0, paused: "banned" });
    expect(result.resumed).toEqual([1]);
  });
});

// ---- end to end: what a user sees ----

const pad = (n: number) => String(n).padStart(2, "0");
/** Quiet hours around now in the tenant's timezone (Asia/Jerusalem). */
function quietNow() {
  const hour = wallClockOf(new Date(), "Asia/Jerusalem").hour;
  return { waQuietHoursStart: `${pad((hour + 23) % 24)}:00`, waQuietHoursEnd: `${pad((hour + 3) % 24)}:00` };
}

async function outbound(id: number) {
  const [row] = await db.select().from(waOutbound).where(eq(waOutbound.id, id));
  return row!;
}

async function seedLeads(businessId: number, tag: string, n: number): Promise<number[]> {
  const rows = await db
    .insert(leads)
    .values(
      Array.from({ length: n }, (_, i) => ({ businessId, firstName: `L${i}`, phoneE164: uniquePhone(), tags: [tag] })),
    )
    .returning({ id: leads.id });
  return rows.map((r) => r.id);
}

async function reply(c: Connected, conversationId: number, text: string): Promise<number> {
  const res = await c.tenant.agent.request("POST", `/api/whatsapp/conversations/${conversationId}/reply`, { text });
  expect(res.status).toBe(202);
  return ((await res.json()) as { outboundId: number }).outboundId;
}

async function broadcastRows(broadcastId: number) {
  return db
    .select()
    .from(waOutbound)
    .where(inArray(waOutbound.originId, [broadcastId]))
    .then((rows) => rows.filter((r) => r.origin === "broadcast"));
}

const WAIT = { timeout: 30_000, interval: 100 };

describe("what a user sees", () => {
  let c: Connected;
  beforeAll(async () => {
    c = await connectedTenant(db, "Schedule business");
  });
  afterEach(() => vi.restoreAllMocks());

  it("a reply overtakes a broadcast waiting for its slots; one customer's replies arrive in the order written; the broadcast shows what waits and why", async () => {
    await setPace(db, c.tenant.businessId, 30); // one per 2 s after a burst of 3
    const tag = `prio-${crypto.randomUUID().slice(0, 8)}`;
    await seedLeads(c.tenant.businessId, tag, 20);
    const created = await c.tenant.admin.request("POST", "/api/broadcasts", {
      name: "Slow",
      template: "Hi",
      audience: { tag },
    });
    expect(created.status).toBe(201);
    const broadcastId = ((await created.json()) as { broadcast: { id: number } }).broadcast.id;
    await vi.waitFor(async () => expect(await broadcastRows(broadcastId)).toHaveLength(20), WAIT);

    const conversation = await conversationWith(db, c.tenant.businessId, 60_000);
    const first = await reply(c, conversation.id, "first answer");
    const second = await reply(c, conversation.id, "second answer");
    await vi.waitFor(async () => expect((await outbound(second)).status).toBe("sent"), WAIT);
    expect((await outbound(first)).status).toBe("sent");

    const sent = await sentAtShard(c);
    const mine = sent.filter((m) => m.chatJid === conversation.chatJid).map((m) => m.text);
    expect(mine).toEqual(["first answer", "second answer"]);
    // The replies did not wait for the broadcast: most of it is still waiting.
    const broadcastSent = (await broadcastRows(broadcastId)).filter((r) => r.status === "sent").length;
    expect(broadcastSent).toBeLessThan(20);

    const view = (await (await c.tenant.agent.request("GET", `/api/broadcasts/${broadcastId}`)).json()) as {
      progress: { queued: number; waiting: { count: number; reason: string; nextAt: string; lastAt: string } | null };
    };
    expect(view.progress.waiting).toMatchObject({ reason: "rate" });
    expect(view.progress.waiting!.count).toBeGreaterThan(0);
    expect(new Date(view.progress.waiting!.lastAt).getTime()).toBeGreaterThan(Date.now());
    expect((await c.tenant.admin.request("POST", `/api/broadcasts/${broadcastId}/cancel`)).status).toBe(200);
  });

  it("quiet hours hold a message the business starts, shown in the thread with the reason and time; not a reply within 24 h; clearing them releases at once", async () => {
    await setPace(db, c.tenant.businessId, 600);
    const quiet = quietNow();
    expect((await c.tenant.owner.request("PATCH", "/api/settings", quiet)).status).toBe(200);

    const recent = await conversationWith(db, c.tenant.businessId, 60_000);
    const answered = await reply(c, recent.id, "answer in quiet hours");
    await vi.waitFor(async () => expect((await outbound(answered)).status).toBe("sent"), WAIT);

    const stale = await conversationWith(db, c.tenant.businessId, 2 * 24 * 3600_000);
    const held = await reply(c, stale.id, "business-initiated in quiet hours");
    const thread = async () =>
      (await (await c.tenant.agent.request("GET", `/api/whatsapp/conversations/${stale.id}/messages`)).json()) as {
        waiting: { outboundId: number; text: string; reason: string; expectedAt: string | null }[];
      };
    const shown = (await thread()).waiting;
    expect(shown.map((w) => [w.outboundId, w.text, w.reason])).toEqual([
      [held, "business-initiated in quiet hours", "quiet_hours"],
    ]);
    // Expected when quiet hours end: whole hours ahead, local time.
    expect(new Date(shown[0]!.expectedAt!).getTime()).toBeGreaterThan(Date.now() + 30 * 60_000);
    // The object's alarm, run now, hands out nothing for it.
    await runDurableObjectAlarm(env.BUSINESS_DO.getByName(`business:${c.tenant.businessId}`));
    expect((await outbound(held)).status).toBe("queued");

    expect(
      (await c.tenant.owner.request("PATCH", "/api/settings", { waQuietHoursStart: null, waQuietHoursEnd: null }))
        .status,
    ).toBe(200);
    await vi.waitFor(async () => expect((await outbound(held)).status).toBe("sent"), { timeout: 10_000, interval: 50 });
    expect((await thread()).waiting).toEqual([]);
  });

  it("each message gets one queue delivery: none while it waits, one when its slot comes", async () => {
    const deliveries = vi.spyOn(jobHandlers, "whatsapp.send");
    await setPace(db, c.tenant.businessId, 600);
    expect((await c.tenant.owner.request("PATCH", "/api/settings", quietNow())).status).toBe(200);
    const tag = `once-${crypto.randomUUID().slice(0, 8)}`;
    await seedLeads(c.tenant.businessId, tag, 8);
    const created = await c.tenant.admin.request("POST", "/api/broadcasts", {
      name: "Once",
      template: "Hi",
      audience: { tag },
    });
    const broadcastId = ((await created.json()) as { broadcast: { id: number } }).broadcast.id;
    await vi.waitFor(async () => expect(await broadcastRows(broadcastId)).toHaveLength(8), WAIT);
    const ids = new Set((await broadcastRows(broadcastId)).map((r) => r.id));
    const mine = () => deliveries.mock.calls.filter(([job]) => ids.has(job.outboundId)).length;

    // Quiet hours: the alarm runs and nothing of this broadcast is delivered.
    const stub = env.BUSINESS_DO.getByName(`business:${c.tenant.businessId}`);
    for (let i = 0; i < 3; i++) await runDurableObjectAlarm(stub);
    expect(mine()).toBe(0);
    const view = (await (await c.tenant.agent.request("GET", `/api/broadcasts/${broadcastId}`)).json()) as {
      progress: { queued: number; waiting: { count: number; reason: string } | null };
    };
    expect(view.progress).toMatchObject({ queued: 8, waiting: { count: 8, reason: "quiet_hours" } });

    expect(
      (await c.tenant.owner.request("PATCH", "/api/settings", { waQuietHoursStart: null, waQuietHoursEnd: null }))
        .status,
    ).toBe(200);
    await vi.waitFor(async () => {
      const [b] = await db.select().from(broadcasts).where(eq(broadcasts.id, broadcastId));
      expect(b!.status).toBe("completed");
    }, WAIT);
    expect(mine()).toBe(8);
    const texts = (await sentAtShard(c)).filter((m) => m.text === "Hi");
    const recipients = (await broadcastRows(broadcastId)).map((r) => `${r.to}@s.whatsapp.net`);
    for (const jid of recipients) expect(texts.filter((m) => m.chatJid === jid)).toHaveLength(1);
  });
});
