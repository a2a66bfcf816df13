/**
 * Scheduled messages: create / list / cancel through the API, and the minute cron's dispatch.
 * The bugs guarded against: a message sent twice when cron runs overlap or a job is redelivered;
 * a raw "{first_name}" reaching a customer; a bad request writing half a record; one business
 * reaching another's leads or messages.
 */
import { env } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { appointments, scheduledMessages, waOutbound } from "../../worker/db/schema";
import { handleScheduled } from "../../worker/scheduled";
import { resolveLocalDateTime, wallClockOf } from "../../worker/services/dates";
import type { Tenant } from "./fixtures";
import { errorOf, expectFieldRefused, testDb } from "./helpers";
import { deliverConcurrently, type LeadRow, newLead, outboundWithKeyPrefix, quietTenant } from "./messaging-fixtures";

const { db, close } = testDb();
let t: Tenant;
let other: Tenant;
let lead: LeadRow;
beforeAll(async () => {
  t = await quietTenant(db, "Scheduled messages business");
  other = await quietTenant(db, "Other scheduled business");
  lead = await newLead(t.agent, { firstName: "נועה", lastName: "לוי" });
});
afterAll(close);

interface Scheduled {
  id: number;
  status: string;
  sendAt: string;
  template: string;
  renderedText: string | null;
  lastError: string | null;
}

const inMinutes = (m: number) => new Date(Date.now() + m * 60_000).toISOString();

async function schedule(body: Record<string, unknown>, client = t.agent): Promise<Scheduled> {
  const res = await client.request("POST", "/api/scheduled-messages", body);
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { scheduledMessage: Scheduled }).scheduledMessage;
}

async function countFor(businessId: number): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(scheduledMessages)
    .where(eq(scheduledMessages.businessId, businessId));
  return row!.n;
}

/** Makes rows due now (creation refuses the past, so tests move send_at afterwards). */
async function makeDue(ids: number[]): Promise<void> {
  for (const id of ids) {
    await db
      .update(scheduledMessages)
      .set({ sendAt: sql`now() - interval '1 minute'` })
      .where(eq(scheduledMessages.id, id));
  }
}

async function row(id: number) {
  const [r] = await db.select().from(scheduledMessages).where(eq(scheduledMessages.id, id));
  return r!;
}

const dispatchJob = { type: "scheduled_messages.dispatch_due", limit: 200 };

describe("creating and listing", () => {
  it("stores a pending message with its template, and lists it", async () => {
    const sendAt = inMinutes(60);
    const created = await schedule({ leadId: lead.id, template: "שלום {first_name}", sendAt });
    expect(created).toMatchObject({ status: "pending", template: "שלום {first_name}", renderedText: null });
    expect(new Date(created.sendAt).getTime()).toBe(Math.floor(Date.parse(sendAt) / 60_000) * 60_000);
    const list = (await (await t.agent.request("GET", `/api/scheduled-messages?leadId=${lead.id}`)).json()) as {
      scheduledMessages: Scheduled[];
    };
    expect(list.scheduledMessages.map((m) => m.id)).toContain(created.id);
  });

  it("reads a date typed without a year on the business's clock, as its next occurrence", async () => {
    // Tomorrow on the business's calendar, typed as "DD/MM" the Hebrew way.
    const tomorrow = wallClockOf(new Date(Date.now() + 86_400_000), "Asia/Jerusalem");
    const date = `${tomorrow.day}/${tomorrow.month}`;
    const created = await schedule({ leadId: lead.id, template: "hi", date, time: "09:30" });
    const expected = resolveLocalDateTime(
      { date, time: "09:30" },
      { timezone: "Asia/Jerusalem", locale: "he-IL" },
      new Date(),
    );
    expect(expected.ok && created.sendAt).toBe(expected.ok && expected.instant.toISOString());
  });

  it("refuses bad input with a 400 naming the field, and writes nothing", async () => {
    const noPhone = await newLead(t.agent, { firstName: "NoPhone", phone: null, email: "np@example.test" });
    const before = await countFor(t.businessId);
    const cases: [Record<string, unknown>, string][] = [
      [{ leadId: lead.id, template: "Hi {firstname}", sendAt: inMinutes(10) }, "template"],
      [{ leadId: lead.id, template: "   ", sendAt: inMinutes(10) }, "template"],
      [{ template: "Hi", sendAt: inMinutes(10) }, "leadId"],
      [{ leadId: "seven", template: "Hi", sendAt: inMinutes(10) }, "leadId"],
      [{ leadId: lead.id, template: "Hi", sendAt: "tomorrow" }, "sendAt"],
      [{ leadId: lead.id, template: "Hi", sendAt: "2027-01-12T10:00:00" }, "sendAt"],
      [{ leadId: lead.id, template: "Hi", sendAt: inMinutes(-60) }, "sendAt"],
      [{ leadId: lead.id, template: "Hi", sendAt: inMinutes(60 * 24 * 400) }, "sendAt"],
      [{ leadId: lead.id, template: "Hi" }, "sendAt"],
      [{ leadId: lead.id, template: "Hi", date: "12/01" }, "time"],
      [{ leadId: lead.id, template: "Hi", date: "31/02", time: "10:00" }, "date"],
      [{ leadId: lead.id, template: "Hi", date: "12/01", time: "10h" }, "time"],
      [{ leadId: lead.id, template: "Hi", sendAt: inMinutes(10), date: "12/01", time: "10:00" }, "sendAt"],
      [{ leadId: lead.id, template: "Hi", sendAt: inMinutes(10), channel: "sms" }, "channel"],
      [{ leadId: noPhone.id, template: "Hi", sendAt: inMinutes(10) }, "leadId"],
    ];
    for (const [body, field] of cases) {
      const res = await t.agent.request("POST", "/api/scheduled-messages", body);
      await expectFieldRefused(res, field, JSON.stringify(body));
    }
    expect(await countFor(t.businessId)).toBe(before);
  });

  it("treats another business's lead and messages as not found", async () => {
    const theirs = await newLead(other.agent);
    const res = await t.agent.request("POST", "/api/scheduled-messages", {
      leadId: theirs.id,
      template: "Hi",
      sendAt: inMinutes(30),
    });
    expect(res.status).toBe(404);
    const theirMessage = await schedule({ leadId: theirs.id, template: "Hi", sendAt: inMinutes(30) }, other.agent);
    expect((await t.agent.request("GET", `/api/scheduled-messages/${theirMessage.id}`)).status).toBe(404);
    expect((await t.admin.request("DELETE", `/api/scheduled-messages/${theirMessage.id}`)).status).toBe(404);
    expect((await row(theirMessage.id)).status).toBe("pending");
    const mine = (await (await t.owner.request("GET", "/api/scheduled-messages?limit=200")).json()) as {
      scheduledMessages: Scheduled[];
    };
    expect(mine.scheduledMessages.map((m) => m.id)).not.toContain(theirMessage.id);
  });
});

describe("dispatch", () => {
  it("sends each due message once when cron runs overlap and a job is redelivered", async () => {
    const nameless = await newLead(t.agent, { firstName: null, lastName: "Peretz" });
    const a = await schedule({ leadId: lead.id, template: "שלום {first_name} {last_name}", sendAt: inMinutes(5) });
    const b = await schedule({
      leadId: nameless.id,
      template: "שלום {first_name}, מ{business_name}",
      sendAt: inMinutes(5),
    });
    const later = await schedule({ leadId: lead.id, template: "not yet", sendAt: inMinutes(120) });
    await makeDue([a.id, b.id]);

    // Three overlapping workers, one of them receiving the same job twice (a redelivery).
    await deliverConcurrently("prosaas-low", [[dispatchJob], [dispatchJob, dispatchJob], [dispatchJob]]);

    for (const [message, text] of [
      [a, "שלום נועה לוי"],
      [b, "שלום לקוח יקר, מScheduled messages business"],
    ] as const) {
      const rows = await outboundWithKeyPrefix(db, t.businessId, `scheduled:${message.id}`);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ idempotencyKey: `scheduled:${message.id}`, origin: "scheduled", text });
      const stored = await row(message.id);
      expect(stored.status).toBe("queued");
      expect(stored.renderedText).toBe(text);
    }
    expect((await row(later.id)).status).toBe("pending");
    expect(await outboundWithKeyPrefix(db, t.businessId, `scheduled:${later.id}`)).toHaveLength(0);

    // A later cron run finds nothing more to do for them.
    await deliverConcurrently("prosaas-low", [[dispatchJob]]);
    expect(await outboundWithKeyPrefix(db, t.businessId, `scheduled:${a.id}`)).toHaveLength(1);
  });

  it("the minute cron trigger reaches the dispatch through the low queue", async () => {
    const m = await schedule({ leadId: lead.id, template: "from the cron", sendAt: inMinutes(5) });
    await makeDue([m.id]);
    await Promise.all([
      handleScheduled({ cron: "* * * * *", scheduledTime: Date.now(), noRetry() {} }, env),
      handleScheduled({ cron: "* * * * *", scheduledTime: Date.now(), noRetry() {} }, env),
    ]);
    await vi.waitFor(
      async () => {
        const rows = await outboundWithKeyPrefix(db, t.businessId, `scheduled:${m.id}`);
        expect(rows).toHaveLength(1);
        expect(rows[0]!.text).toBe("from the cron");
      },
      { timeout: 15_000, interval: 200 },
    );
  });

  it("a row claimed by a job that died is claimed again and still sent once", async () => {
    const lost = await schedule({ leadId: lead.id, template: "lost job", sendAt: inMinutes(5) });
    const done = await schedule({ leadId: lead.id, template: "made it", sendAt: inMinutes(5) });
    await makeDue([done.id]);
    await deliverConcurrently("prosaas-low", [[dispatchJob]]);
    expect(await outboundWithKeyPrefix(db, t.businessId, `scheduled:${done.id}`)).toHaveLength(1);
    // Both now look claimed long ago; only `lost` has no message.
    for (const id of [lost.id, done.id]) {
      await db
        .update(scheduledMessages)
        .set({
          status: "queued",
          sendAt: sql`now() - interval '20 minutes'`,
          claimedAt: sql`now() - interval '10 minutes'`,
        })
        .where(eq(scheduledMessages.id, id));
    }
    await deliverConcurrently("prosaas-low", [[dispatchJob], [dispatchJob]]);
    expect(await outboundWithKeyPrefix(db, t.businessId, `scheduled:${lost.id}`)).toHaveLength(1);
    expect(await outboundWithKeyPrefix(db, t.businessId, `scheduled:${done.id}`)).toHaveLength(1);
  });

  it("fills appointment fields from the lead's next appointment, and fails (not sends blanks) without one", async () => {
    const withAppt = await newLead(t.agent, { firstName: "Avi" });
    await db.insert(appointments).values({
      businessId: t.businessId,
      leadId: withAppt.id,
      title: "Haircut",
      // Tuesday 12 January 2027, 10:00 in Israel.
      startsAt: new Date("2027-01-12T08:00:00Z"),
      reminderStatus: "skipped",
    });
    const ok = await schedule({
      leadId: withAppt.id,
      template: "{first_name}: {appointment_title} ב{appointment_date} בשעה {appointment_time}",
      sendAt: inMinutes(5),
    });
    const none = await schedule({ leadId: lead.id, template: "See you {appointment_date}", sendAt: inMinutes(5) });
    await makeDue([ok.id, none.id]);
    await deliverConcurrently("prosaas-low", [[dispatchJob]]);
    const [sent] = await outboundWithKeyPrefix(db, t.businessId, `scheduled:${ok.id}`);
    expect(sent!.text).toBe("Avi: Haircut ביום שלישי, 12 בינואר 2027 בשעה 10:00");
    expect(await outboundWithKeyPrefix(db, t.businessId, `scheduled:${none.id}`)).toHaveLength(0);
    const failed = await row(none.id);
    expect(failed.status).toBe("failed");
    expect(failed.lastError).toContain("{appointment_date}");
  });
});

describe("cancelling", () => {
  it("a pending message is cancelled and never sent; cancelling again is harmless", async () => {
    const m = await schedule({ leadId: lead.id, template: "cancel me", sendAt: inMinutes(5) });
    const res = await t.agent.request("DELETE", `/api/scheduled-messages/${m.id}`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { scheduledMessage: Scheduled }).scheduledMessage.status).toBe("cancelled");
    expect((await t.agent.request("DELETE", `/api/scheduled-messages/${m.id}`)).status).toBe(200);
    await makeDue([m.id]);
    await deliverConcurrently("prosaas-low", [[dispatchJob]]);
    expect(await outboundWithKeyPrefix(db, t.businessId, `scheduled:${m.id}`)).toHaveLength(0);
  });

  it("a dispatched message still waiting in the queue is cancelled with it; a sent one cannot be", async () => {
    const m = await schedule({ leadId: lead.id, template: "waiting", sendAt: inMinutes(5) });
    await makeDue([m.id]);
    await deliverConcurrently("prosaas-low", [[dispatchJob]]);
    await db
      .update(scheduledMessages)
      .set({ claimedAt: sql`now() - interval '2 minutes'` })
      .where(eq(scheduledMessages.id, m.id));
    expect((await t.agent.request("DELETE", `/api/scheduled-messages/${m.id}`)).status).toBe(200);
    const [outbound] = await outboundWithKeyPrefix(db, t.businessId, `scheduled:${m.id}`);
    expect(outbound!.status).toBe("cancelled");

    const s = await schedule({ leadId: lead.id, template: "gone out", sendAt: inMinutes(5) });
    await db.update(scheduledMessages).set({ status: "sent" }).where(eq(scheduledMessages.id, s.id));
    const res = await t.agent.request("DELETE", `/api/scheduled-messages/${s.id}`);
    expect(res.status).toBe(409);
    expect((await errorOf(res)).message).toContain("sent");
  });

  it("a message being sent right now is not cancelled behind the sender's back", async () => {
    const m = await schedule({ leadId: lead.id, template: "in flight", sendAt: inMinutes(5) });
    await makeDue([m.id]);
    await deliverConcurrently("prosaas-low", [[dispatchJob]]);
    await db
      .update(scheduledMessages)
      .set({ claimedAt: sql`now() - interval '2 minutes'` })
      .where(eq(scheduledMessages.id, m.id));
    await db
      .update(waOutbound)
      .set({ status: "sending" })
      .where(and(eq(waOutbound.businessId, t.businessId), eq(waOutbound.idempotencyKey, `scheduled:${m.id}`)));
    expect((await t.agent.request("DELETE", `/api/scheduled-messages/${m.id}`)).status).toBe(409);
    expect((await row(m.id)).status).toBe("queued");
  });
});
