/**
 * Appointments and their reminders. The bugs guarded against: a reminder sent twice when cron
 * runs overlap or a job is redelivered; the wrong weekday or hour in the reminder (formatting in
 * UTC, fixed offsets across DST); "12/01" typed in December landing in last January; a
 * rescheduled appointment reminding of its old time; bad input half-written; cross-tenant reach.
 */
import { and, eq, like, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appointments, waOutbound } from "../../worker/db/schema";
import { resolveLocalDateTime, wallClockOf } from "../../worker/services/dates";
import { reminderKey } from "../../worker/services/reminders";
import { recordOutboundOutcome } from "../../worker/whatsapp/outbound-outcome";
import type { Tenant } from "./fixtures";
import { errorOf, expectFieldRefused, testDb } from "./helpers";
import { deliverConcurrently, type LeadRow, newLead, quietTenant } from "./messaging-fixtures";

const { db, close } = testDb();
let t: Tenant;
let other: Tenant;
let lead: LeadRow;
beforeAll(async () => {
  t = await quietTenant(db, "מרפאת שיניים");
  other = await quietTenant(db, "Other clinic");
  lead = await newLead(t.agent, { firstName: "יעל" });
});
afterAll(close);

interface Appointment {
  id: number;
  leadId: number;
  title: string;
  startsAt: string;
  endsAt: string | null;
  status: string;
  reminderMinutesBefore: number | null;
  reminderDueAt: string | null;
  reminderStatus: string;
  display: { date: string; weekday: string; time: string };
}

const hoursFromNow = (h: number) => new Date(Date.now() + h * 3600_000).toISOString();
const dispatchJob = { type: "reminders.dispatch_due", limit: 200 };

async function book(body: Record<string, unknown>, client = t.agent): Promise<Appointment> {
  const res = await client.request("POST", "/api/appointments", { leadId: lead.id, title: "בדיקה", ...body });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { appointment: Appointment }).appointment;
}

async function patch(id: number, body: Record<string, unknown>): Promise<Appointment> {
  const res = await t.agent.request("PATCH", `/api/appointments/${id}`, body);
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { appointment: Appointment }).appointment;
}

async function stored(id: number) {
  const [row] = await db.select().from(appointments).where(eq(appointments.id, id));
  return row!;
}

async function remindersOf(id: number) {
  return db
    .select()
    .from(waOutbound)
    .where(and(eq(waOutbound.businessId, t.businessId), like(waOutbound.idempotencyKey, `reminder:${id}:%`)));
}

async function count(businessId: number): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(appointments)
    .where(eq(appointments.businessId, businessId));
  return row!.n;
}

describe("booking", () => {
  it("plans the reminder the business's lead time before, on its wall clock across DST", async () => {
    // Friday 26 March 2027 is the first day of Israeli summer time: 10:00 is 07:00 UTC, and "a day
    // before" is Thursday 10:00 winter time (08:00 UTC), not 09:00.
    const appt = await book({ date: "26/03/2027", time: "10:00" });
    expect(appt.startsAt).toBe("2027-03-26T07:00:00.000Z");
    expect(appt.reminderDueAt).toBe("2027-03-25T08:00:00.000Z");
    expect(appt.reminderStatus).toBe("pending");
    expect(appt.display).toEqual({ date: "יום שישי, 26 במרץ 2027", weekday: "יום שישי", time: "10:00" });
  });

  it("reads a date typed without a year as its next occurrence on the business's calendar", async () => {
    const yesterday = wallClockOf(new Date(Date.now() - 86_400_000), "Asia/Jerusalem");
    const date = `${yesterday.day}/${yesterday.month}`;
    const appt = await book({ date, time: "11:15" });
    const expected = resolveLocalDateTime(
      { date, time: "11:15" },
      { timezone: "Asia/Jerusalem", locale: "he-IL" },
      new Date(),
    );
    expect(expected.ok && appt.startsAt).toBe(expected.ok && expected.instant.toISOString());
    // Yesterday's day and month mean next year, never the past.
    expect(new Date(appt.startsAt).getTime()).toBeGreaterThan(Date.now() + 300 * 86_400_000);
  });

  it("honours a per-appointment reminder time, and 0 means no reminder", async () => {
    const startsAt = hoursFromNow(48);
    const ninety = await book({ startsAt, reminderMinutesBefore: 90, durationMinutes: 30 });
    expect(new Date(ninety.reminderDueAt!).getTime()).toBe(
      Math.floor(Date.parse(startsAt) / 60_000) * 60_000 - 90 * 60_000,
    );
    expect(new Date(ninety.endsAt!).getTime() - new Date(ninety.startsAt).getTime()).toBe(30 * 60_000);
    const none = await book({ startsAt, reminderMinutesBefore: 0 });
    expect(none).toMatchObject({ reminderStatus: "skipped", reminderDueAt: null });
  });

  it("an appointment already past gets no reminder", async () => {
    const past = await book({ startsAt: hoursFromNow(-3) });
    expect(past.reminderStatus).toBe("skipped");
  });

  it("refuses bad input with a 400 naming the field, and writes nothing", async () => {
    const before = await count(t.businessId);
    const future = hoursFromNow(24);
    const cases: [Record<string, unknown>, string][] = [
      [{ leadId: lead.id, startsAt: future }, "title"],
      [{ leadId: lead.id, title: "  ", startsAt: future }, "title"],
      [{ leadId: "x", title: "T", startsAt: future }, "leadId"],
      [{ title: "T", startsAt: future }, "leadId"],
      [{ leadId: lead.id, title: "T" }, "startsAt"],
      [{ leadId: lead.id, title: "T", startsAt: "2027-01-12 10:00" }, "startsAt"],
      [{ leadId: lead.id, title: "T", date: "12/01" }, "time"],
      [{ leadId: lead.id, title: "T", date: "32/01", time: "10:00" }, "date"],
      [{ leadId: lead.id, title: "T", startsAt: future, endsAt: hoursFromNow(23) }, "endsAt"],
      [
        { leadId: lead.id, title: "T", startsAt: future, endsAt: hoursFromNow(25), durationMinutes: 30 },
        "durationMinutes",
      ],
      [{ leadId: lead.id, title: "T", startsAt: future, reminderMinutesBefore: -5 }, "reminderMinutesBefore"],
      [{ leadId: lead.id, title: "T", startsAt: future, room: 4 }, "room"],
    ];
    for (const [body, field] of cases) {
      const res = await t.agent.request("POST", "/api/appointments", body);
      await expectFieldRefused(res, field, JSON.stringify(body));
    }
    expect(await count(t.businessId)).toBe(before);
    const appt = await book({ startsAt: future });
    const res = await t.agent.request("PATCH", `/api/appointments/${appt.id}`, { startsAt: "soon" });
    expect(res.status).toBe(400);
    expect((await stored(appt.id)).startsAt.toISOString()).toBe(appt.startsAt);
  });

  it("another business's leads and appointments are not found", async () => {
    const theirLead = await newLead(other.agent);
    const res = await t.agent.request("POST", "/api/appointments", {
      leadId: theirLead.id,
      title: "T",
      startsAt: hoursFromNow(5),
    });
    expect(res.status).toBe(404);
    const theirs = await book({ leadId: theirLead.id, startsAt: hoursFromNow(5) }, other.agent);
    expect((await t.agent.request("GET", `/api/appointments/${theirs.id}`)).status).toBe(404);
    expect((await t.agent.request("PATCH", `/api/appointments/${theirs.id}`, { title: "Mine" })).status).toBe(404);
    expect((await t.agent.request("DELETE", `/api/appointments/${theirs.id}`)).status).toBe(404);
    expect(await stored(theirs.id)).toMatchObject({ title: "בדיקה", status: "scheduled" });
    const mine = (await (await t.agent.request("GET", "/api/appointments?limit=500")).json()) as {
      appointments: { id: number }[];
    };
    expect(mine.appointments.map((a) => a.id)).not.toContain(theirs.id);
  });

  it("lists appointments in a date range, by start time", async () => {
    const l = await newLead(t.agent, { firstName: "Range" });
    const base = Date.parse("2031-05-01T09:00:00Z");
    for (const h of [5, 1, 3]) await book({ leadId: l.id, startsAt: new Date(base + h * 3600_000).toISOString() });
    await book({ leadId: l.id, startsAt: new Date(base + 48 * 3600_000).toISOString() });
    const from = new Date(base).toISOString();
    const to = new Date(base + 24 * 3600_000).toISOString();
    const res = await t.agent.request("GET", `/api/appointments?leadId=${l.id}&from=${from}&to=${to}&limit=2`);
    const page = (await res.json()) as { appointments: Appointment[]; nextCursor: string | null };
    expect(page.appointments.map((a) => new Date(a.startsAt).getTime())).toEqual([
      base + 3600_000,
      base + 3 * 3600_000,
    ]);
    const next = (await (
      await t.agent.request("GET", `/api/appointments?leadId=${l.id}&from=${from}&to=${to}&cursor=${page.nextCursor}`)
    ).json()) as { appointments: Appointment[] };
    expect(next.appointments.map((a) => new Date(a.startsAt).getTime())).toEqual([base + 5 * 3600_000]);
  });
});

describe("reminders", () => {
  it("a reminder due during overlapping cron runs (and a redelivered job) is sent once, in Hebrew", async () => {
    // Starts in 2 h with a 3 h reminder: due already.
    const appt = await book({ title: "ניקוי אבנית", startsAt: hoursFromNow(2), reminderMinutesBefore: 180 });
    await deliverConcurrently("prosaas-low", [[dispatchJob], [dispatchJob, dispatchJob], [dispatchJob]]);
    const rows = await remindersOf(appt.id);
    expect(rows).toHaveLength(1);
    const start = new Date(appt.startsAt);
    expect(rows[0]).toMatchObject({
      idempotencyKey: reminderKey(appt.id, start),
      origin: "reminder",
      originId: appt.id,
      text: `שלום יעל, תזכורת: ניקוי אבנית ב${appt.display.date} בשעה ${appt.display.time}. מרפאת שיניים`,
    });
    expect(appt.display.date).toMatch(/^יום (ראשון|שני|שלישי|רביעי|חמישי|שישי|שבת), /);
    expect((await stored(appt.id)).reminderStatus).toBe("queued");
    await deliverConcurrently("prosaas-low", [[dispatchJob]]);
    expect(await remindersOf(appt.id)).toHaveLength(1);
  });

  it("a reminder claimed by a job that died is claimed again, and one already made is not made twice", async () => {
    // Starting in 2 h with a 3 h reminder: both due now.
    const lost = await book({ title: "Lost", startsAt: hoursFromNow(2), reminderMinutesBefore: 180 });
    const made = await book({ title: "Made", startsAt: hoursFromNow(2), reminderMinutesBefore: 180 });
    await deliverConcurrently("prosaas-low", [[dispatchJob]]);
    expect(await remindersOf(made.id)).toHaveLength(1);
    await db.delete(waOutbound).where(eq(waOutbound.idempotencyKey, reminderKey(lost.id, new Date(lost.startsAt))));
    for (const id of [lost.id, made.id]) {
      await db
        .update(appointments)
        .set({ reminderStatus: "queued", reminderDueAt: sql`now() - interval '10 minutes'` })
        .where(eq(appointments.id, id));
    }
    await deliverConcurrently("prosaas-low", [[dispatchJob], [dispatchJob]]);
    expect(await remindersOf(lost.id)).toHaveLength(1);
    expect(await remindersOf(made.id)).toHaveLength(1);
  });

  it("a rescheduled appointment gets a reminder for its new time; the old one is cancelled and ignored", async () => {
    const appt = await book({ title: "Old time", startsAt: hoursFromNow(2), reminderMinutesBefore: 180 });
    await deliverConcurrently("prosaas-low", [[dispatchJob]]);
    const [old] = await remindersOf(appt.id);
    expect(old!.status).toBe("queued");

    const moved = await patch(appt.id, { startsAt: hoursFromNow(50), title: "New time" });
    expect(moved.reminderStatus).toBe("pending");
    const [oldAfter] = await db.select().from(waOutbound).where(eq(waOutbound.id, old!.id));
    expect(oldAfter!.status).toBe("cancelled");
    // A late outcome of the old reminder does not touch the new one.
    await recordOutboundOutcome(db, oldAfter!, "cancelled");
    expect((await stored(appt.id)).reminderStatus).toBe("pending");

    await db
      .update(appointments)
      .set({ reminderDueAt: sql`now() - interval '1 minute'` })
      .where(eq(appointments.id, appt.id));
    await deliverConcurrently("prosaas-low", [[dispatchJob], [dispatchJob]]);
    const rows = await remindersOf(appt.id);
    expect(rows).toHaveLength(2);
    const fresh = rows.find((r) => r.id !== old!.id)!;
    expect(fresh.idempotencyKey).toBe(reminderKey(appt.id, new Date(moved.startsAt)));
    expect(fresh.text).toContain("New time");
    expect(fresh.text).toContain(moved.display.time);
  });

  it("changing the reminder time of a reminder not yet sent re-plans it; an edit that keeps the time does not", async () => {
    const appt = await book({ startsAt: hoursFromNow(72) });
    const edited = await patch(appt.id, { reminderMinutesBefore: 60 });
    expect(new Date(edited.reminderDueAt!).getTime()).toBe(new Date(appt.startsAt).getTime() - 3600_000);
    const renamed = await patch(appt.id, { title: "Renamed" });
    expect(renamed.reminderDueAt).toBe(edited.reminderDueAt);
    expect(renamed.startsAt).toBe(appt.startsAt);
  });

  it("a cancelled appointment sends no reminder", async () => {
    const appt = await book({ startsAt: hoursFromNow(30) });
    const res = await t.agent.request("DELETE", `/api/appointments/${appt.id}`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { appointment: Appointment }).appointment).toMatchObject({
      status: "cancelled",
      reminderStatus: "skipped",
    });
    await db
      .update(appointments)
      .set({ reminderDueAt: sql`now() - interval '1 minute'` })
      .where(eq(appointments.id, appt.id));
    await deliverConcurrently("prosaas-low", [[dispatchJob]]);
    expect(await remindersOf(appt.id)).toHaveLength(0);
    expect((await t.agent.request("PATCH", `/api/appointments/${appt.id}`, { title: "x" })).status).toBe(409);
    expect((await t.agent.request("DELETE", `/api/appointments/${appt.id}`)).status).toBe(200);
  });

  it("a lead without a phone is not reminded, and says so", async () => {
    const noPhone = await newLead(t.agent, { firstName: "Silent", phone: null, email: "s@example.test" });
    const appt = await book({ leadId: noPhone.id, startsAt: hoursFromNow(2), reminderMinutesBefore: 180 });
    await deliverConcurrently("prosaas-low", [[dispatchJob]]);
    expect(await remindersOf(appt.id)).toHaveLength(0);
    expect((await stored(appt.id)).reminderStatus).toBe("skipped");
  });

  it("uses the business's own reminder text when set, checked when saved", async () => {
    expect(
      (await t.agent.request("PUT", "/api/settings/reminder-template", { template: "{first_name} {appointment_time}" }))
        .status,
    ).toBe(403);
    const bad = await t.owner.request("PUT", "/api/settings/reminder-template", { template: "מחר {appointment_dat}" });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).message).toContain("template");
    const res = await t.owner.request("PUT", "/api/settings/reminder-template", {
      template: "היי {first_name}! נתראה {appointment_weekday} ב-{appointment_time} ({appointment_title})",
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { preview: string }).preview).toMatch(/^היי לקוח יקר! נתראה יום /);

    const appt = await book({ title: "שיננית", startsAt: hoursFromNow(2), reminderMinutesBefore: 180 });
    await deliverConcurrently("prosaas-low", [[dispatchJob]]);
    const [row] = await remindersOf(appt.id);
    expect(row!.text).toBe(`היי יעל! נתראה ${appt.display.weekday} ב-${appt.display.time} (שיננית)`);
    // Back to the built-in text.
    expect((await t.owner.request("PUT", "/api/settings/reminder-template", { template: null })).status).toBe(200);
  });

  it("an English-speaking business gets the English reminder, on its own clock", async () => {
    const us = await quietTenant(db, "Brooklyn Dental");
    const res = await us.owner.request("PATCH", "/api/business", { locale: "en-US", timezone: "America/New_York" });
    expect(res.status).toBe(200);
    const usLead = await newLead(us.agent, { firstName: null, lastName: "Smith" });
    const created = await us.agent.request("POST", "/api/appointments", {
      leadId: usLead.id,
      title: "Cleaning",
      startsAt: hoursFromNow(2),
      reminderMinutesBefore: 180,
    });
    const appt = ((await created.json()) as { appointment: Appointment }).appointment;
    expect(appt.display.time).toMatch(/^\d\d:\d\d (AM|PM)$/);
    await deliverConcurrently("prosaas-low", [[dispatchJob]]);
    const [row] = await db
      .select()
      .from(waOutbound)
      .where(and(eq(waOutbound.businessId, us.businessId), eq(waOutbound.originId, appt.id)));
    expect(row!.text).toBe(
      `Hi there, a reminder: Cleaning on ${appt.display.date} at ${appt.display.time}. Brooklyn Dental`,
    );
  });
});
