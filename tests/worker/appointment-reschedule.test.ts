/**
 * Rescheduling an appointment cancels its queued reminder and moves the appointment in ONE
 * transaction (issue 10, finding 9). Before, a failed update left the old reminder cancelled and
 * the appointment at its old time with its reminder marked queued: no reminder was ever sent.
 * The failure is a real one: a Postgres trigger refuses the update.
 */
import { and, eq, like, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appointments, waOutbound } from "../../worker/db/schema";
import type { Tenant } from "./fixtures";
import { testDb } from "./helpers";
import { deliverConcurrently, type LeadRow, newLead, quietTenant } from "./messaging-fixtures";

const { db, close } = testDb();
let t: Tenant;
let lead: LeadRow;
const FAIL_TITLE = `fail-${crypto.randomUUID().slice(0, 8)}`;
beforeAll(async () => {
  t = await quietTenant(db, "Reschedule clinic");
  lead = await newLead(t.agent, { firstName: "Dana" });
  // Refuses exactly the updates this test marks, so no other test's rows are touched.
  await db.execute(
    sql.raw(`CREATE OR REPLACE FUNCTION test_refuse_marked_update() RETURNS trigger AS $$
      BEGIN
        IF NEW.title = '${FAIL_TITLE}' THEN RAISE EXCEPTION 'simulated failure of the update'; END IF;
        RETURN NEW;
      END $$ LANGUAGE plpgsql`),
  );
  await db.execute(sql.raw("DROP TRIGGER IF EXISTS test_refuse_marked_update ON appointments"));
  await db.execute(
    sql.raw(
      "CREATE TRIGGER test_refuse_marked_update BEFORE UPDATE ON appointments FOR EACH ROW EXECUTE FUNCTION test_refuse_marked_update()",
    ),
  );
});
afterAll(async () => {
  await db.execute(sql.raw("DROP TRIGGER IF EXISTS test_refuse_marked_update ON appointments"));
  await close();
});

const hoursFromNow = (h: number) => new Date(Date.now() + h * 3600_000).toISOString();

async function remindersOf(id: number) {
  return db
    .select()
    .from(waOutbound)
    .where(and(eq(waOutbound.businessId, t.businessId), like(waOutbound.idempotencyKey, `reminder:${id}:%`)));
}

async function bookWithQueuedReminder(): Promise<{ id: number; startsAt: string }> {
  // Starts in 2 h with a 3 h reminder: due now, so the dispatch queues it.
  const res = await t.agent.request("POST", "/api/appointments", {
    leadId: lead.id,
    title: "Check-up",
    startsAt: hoursFromNow(2),
    reminderMinutesBefore: 180,
  });
  expect(res.status).toBe(201);
  const appt = ((await res.json()) as { appointment: { id: number; startsAt: string } }).appointment;
  await deliverConcurrently("prosaas-low", [[{ type: "reminders.dispatch_due", limit: 200 }]]);
  const [reminder] = await remindersOf(appt.id);
  expect(reminder?.status).toBe("queued");
  return appt;
}

describe("rescheduling an appointment", () => {
  it("a failed update leaves the queued reminder intact and the appointment at its old time", async () => {
    const appt = await bookWithQueuedReminder();
    const res = await t.agent.request("PATCH", `/api/appointments/${appt.id}`, {
      startsAt: hoursFromNow(30),
      title: FAIL_TITLE,
    });
    expect(res.status).toBe(500);
    const [reminder] = await remindersOf(appt.id);
    expect(reminder!.status).toBe("queued");
    const [row] = await db.select().from(appointments).where(eq(appointments.id, appt.id));
    expect(row!.startsAt.toISOString()).toBe(new Date(appt.startsAt).toISOString());
    expect(row!.reminderStatus).toBe("queued");
  });

  it("a successful reschedule cancels the old reminder with the move", async () => {
    const appt = await bookWithQueuedReminder();
    const res = await t.agent.request("PATCH", `/api/appointments/${appt.id}`, { startsAt: hoursFromNow(30) });
    expect(res.status).toBe(200);
    const [reminder] = await remindersOf(appt.id);
    expect(reminder!.status).toBe("cancelled");
  });

  it("a failed cancellation leaves the queued reminder intact too", async () => {
    const appt = await bookWithQueuedReminder();
    // Mark the row so the trigger refuses the cancelling update (a title the API would not set).
    await db.execute(sql.raw("ALTER TABLE appointments DISABLE TRIGGER test_refuse_marked_update"));
    await db.update(appointments).set({ title: FAIL_TITLE }).where(eq(appointments.id, appt.id));
    await db.execute(sql.raw("ALTER TABLE appointments ENABLE TRIGGER test_refuse_marked_update"));
    const res = await t.agent.request("DELETE", `/api/appointments/${appt.id}`);
    expect(res.status).toBe(500);
    const [reminder] = await remindersOf(appt.id);
    expect(reminder!.status).toBe("queued");
  });
});
