/**
 * Appointment reminders: when one is due, and sending it once.
 *
 * Due time: `reminder_minutes_before` of the appointment, or the business's
 * `reminder_lead_minutes` when it has none, before the start (whole days on the business's wall
 * clock, see reminderDueAt). 0 means no reminder. It is computed when the appointment is saved
 * (and again when its time or lead time changes), so a change of the business default applies to
 * appointments saved after it. An appointment saved inside its lead time (tomorrow 09:00 with a
 * 24 h lead) gets its reminder at the next minute; one that has already started gets none.
 *
 * Sent once: the minute cron's `reminders.dispatch_due` job claims due appointments with one
 * atomic `UPDATE ... FOR UPDATE SKIP LOCKED` (pending → queued) and creates the message with the
 * idempotency key `reminder:<appointmentId>:<startsAt epoch seconds>`. Overlapping crons, a
 * redelivered job, or a re-claim after a crash find the same wa_outbound row. Rescheduling
 * changes the key, so the new time gets its own reminder; the old one, if still waiting, is
 * cancelled, and its late outcome is ignored (outbound-outcome.ts matches on the current key).
 */
import { and, asc, eq, gt, inArray, lt, lte, notExists, or, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { appointments, type appointments as appointmentsTable, businessSettings, waOutbound } from "../db/schema";
import type { Env } from "../env";
import { intArray } from "../lib/pg-arrays";
import { enqueue } from "../queues/producer";
import { type OutgoingMessage, queueOutgoingMessages } from "../whatsapp/outbound";
import { reminderDueAt } from "./dates";
import { appointmentValues, businessProfiles, leadsById } from "./message-context";
import { groupBy } from "./scheduled-messages";
import { defaultReminderTemplate, renderTemplate } from "./templates";

type Appointment = typeof appointmentsTable.$inferSelect;
type ReminderStatus = Appointment["reminderStatus"];

/** Default lead time when a business has no settings row yet (the column's own default). */
export const DEFAULT_REMINDER_LEAD_MINUTES = 24 * 60;
/** A claimed reminder that still has no message after this long lost its job: claim it again. */
export const STALE_REMINDER_MINUTES = 5;

export function reminderKey(appointmentId: number, startsAt: Date): string {
  return `reminder:${appointmentId}:${Math.floor(startsAt.getTime() / 1000)}`;
}

/** The same key in SQL, for an appointments row. */
const currentKeySql = sql`'reminder:' || ${appointments.id} || ':' || floor(extract(epoch from ${appointments.startsAt}))::bigint`;

export async function reminderLeadMinutes(db: Database, businessId: number): Promise<number> {
  const [row] = await db
    .select({ minutes: businessSettings.reminderLeadMinutes })
    .from(businessSettings)
    .where(eq(businessSettings.businessId, businessId));
  return row?.minutes ?? DEFAULT_REMINDER_LEAD_MINUTES;
}

export function reminderPlan(
  startsAt: Date,
  minutesBefore: number,
  timeZone: string,
  now: Date,
): { reminderDueAt: Date | null; reminderStatus: ReminderStatus } {
  if (minutesBefore <= 0) return { reminderDueAt: null, reminderStatus: "skipped" };
  const due = reminderDueAt(startsAt, minutesBefore, timeZone);
  if (startsAt.getTime() <= now.getTime()) return { reminderDueAt: due, reminderStatus: "skipped" };
  return { reminderDueAt: due, reminderStatus: "pending" };
}

/** Cancels the reminder message for (appointment, startsAt) if it is still waiting. */
export async function cancelReminderMessage(db: Database, appt: Pick<Appointment, "id" | "businessId" | "startsAt">) {
  const cancelled = await db
    .update(waOutbound)
    .set({ status: "cancelled", lastError: "appointment changed or cancelled", updatedAt: new Date() })
    .where(
      and(
        eq(waOutbound.businessId, appt.businessId),
        eq(waOutbound.idempotencyKey, reminderKey(appt.id, appt.startsAt)),
        inArray(waOutbound.status, ["queued", "held"]),
      ),
    )
    .returning({ id: waOutbound.id });
  return cancelled.length > 0;
}

async function claimDue(db: Database, limit: number): Promise<Appointment[]> {
  // Appointments that started before their reminder went out (e.g. a long outage) get none.
  await db
    .update(appointments)
    .set({ reminderStatus: "skipped" })
    .where(
      and(
        eq(appointments.reminderStatus, "pending"),
        lte(appointments.reminderDueAt, sql`now()`),
        lte(appointments.startsAt, sql`now()`),
      ),
    );
  const due = db
    .select({ id: appointments.id })
    .from(appointments)
    .where(
      and(
        eq(appointments.status, "scheduled"),
        gt(appointments.startsAt, sql`now()`),
        or(
          and(eq(appointments.reminderStatus, "pending"), lte(appointments.reminderDueAt, sql`now()`)),
          and(
            eq(appointments.reminderStatus, "queued"),
            lt(appointments.reminderDueAt, sql`now() - make_interval(mins => ${STALE_REMINDER_MINUTES})`),
            notExists(
              db
                .select({ one: sql`1` })
                .from(waOutbound)
                .where(
                  and(eq(waOutbound.businessId, appointments.businessId), eq(waOutbound.idempotencyKey, currentKeySql)),
                ),
            ),
          ),
        ),
      ),
    )
    .orderBy(asc(appointments.reminderDueAt))
    .limit(limit)
    .for("update", { skipLocked: true });
  return db.update(appointments).set({ reminderStatus: "queued" }).where(inArray(appointments.id, due)).returning();
}

export interface ReminderDispatchResult {
  claimed: number;
  queued: number;
  skipped: number;
}

export async function dispatchDueReminders(db: Database, env: Env, limit: number): Promise<ReminderDispatchResult> {
  const claimed = await claimDue(db, limit);
  const result: ReminderDispatchResult = { claimed: claimed.length, queued: 0, skipped: 0 };
  if (claimed.length === 0) return result;

  const businessIds = [...new Set(claimed.map((a) => a.businessId))];
  const profiles = await businessProfiles(db, businessIds);
  const templates = new Map(
    (
      await db
        .select({ businessId: businessSettings.businessId, template: businessSettings.reminderTemplate })
        .from(businessSettings)
        .where(inArray(businessSettings.businessId, businessIds))
    ).map((r) => [r.businessId, r.template]),
  );
  const leadById = await leadsById(
    db,
    claimed.map((a) => a.leadId),
  );
  const messages: OutgoingMessage[] = [];
  const unreachable: number[] = [];

  for (const [businessId, rows] of groupBy(claimed, (a) => a.businessId)) {
    const business = profiles.get(businessId);
    if (!business) continue;
    const template = templates.get(businessId) ?? defaultReminderTemplate(business.locale);
    for (const appt of rows) {
      const lead = leadById.get(appt.leadId);
      if (!lead || lead.deletedAt || !lead.phoneE164) {
        unreachable.push(appt.id);
        continue;
      }
      const { text } = renderTemplate(
        template,
        {
          firstName: lead.firstName,
          lastName: lead.lastName,
          businessName: business.name,
          appointment: appointmentValues(appt, business),
        },
        business.locale,
      );
      messages.push({
        businessId,
        leadId: lead.id,
        to: lead.phoneE164,
        text,
        idempotencyKey: reminderKey(appt.id, appt.startsAt),
        origin: "reminder",
        originId: appt.id,
      });
    }
  }

  if (unreachable.length > 0) {
    // Nobody to remind (no phone, or the lead was deleted).
    await db
      .update(appointments)
      .set({ reminderStatus: "skipped" })
      .where(and(inArray(appointments.id, unreachable), eq(appointments.reminderStatus, "queued")));
    result.skipped = unreachable.length;
  }
  if (messages.length > 0) {
    const outcome = await queueOutgoingMessages(db, env, messages);
    result.queued = messages.length;
    const ids = [...outcome.values()].map((o) => o.outboundId);
    // Rescheduled or cancelled between the claim and now: the message just made is for a time
    // that no longer holds. Cancel it if it has not been taken by the send job.
    const stale = await db.execute<{ origin_id: number }>(sql`
      update ${waOutbound} as o set status = 'cancelled', last_error = 'appointment changed or cancelled', updated_at = now()
      where o.id = any(${intArray(ids)}) and o.status in ('queued', 'held')
        and not exists (
          select 1 from ${appointments} a
          where a.id = o.origin_id and a.status = 'scheduled'
            and 'reminder:' || a.id || ':' || floor(extract(epoch from a.starts_at))::bigint = o.idempotency_key)
      returning o.origin_id`);
    const cancelledIds = stale.rows.map((r) => Number(r.origin_id));
    if (cancelledIds.length > 0) {
      // A cancelled appointment's reminder ends as skipped (a rescheduled one is pending again).
      await db
        .update(appointments)
        .set({ reminderStatus: "skipped" })
        .where(
          and(
            inArray(appointments.id, cancelledIds),
            eq(appointments.status, "cancelled"),
            eq(appointments.reminderStatus, "queued"),
          ),
        );
    }
    // A message that already existed and is final: bring the reminder in line with it.
    await db.execute(sql`
      update ${appointments} as a
      set reminder_status = case o.status when 'sent' then 'sent' when 'failed' then 'failed' else 'skipped' end,
          reminder_sent_at = coalesce(o.sent_at, a.reminder_sent_at)
      from ${waOutbound} o
      where o.id = any(${intArray(ids)}) and o.origin = 'reminder' and a.id = o.origin_id
        and a.reminder_status = 'queued' and o.status in ('sent', 'failed', 'cancelled')
        and 'reminder:' || a.id || ':' || floor(extract(epoch from a.starts_at))::bigint = o.idempotency_key`);
  }
  if (claimed.length === limit) await enqueue(env, { type: "reminders.dispatch_due", limit });
  return result;
}
