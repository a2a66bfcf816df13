/**
 * Appointments of a business's leads: create, update, cancel, list. Times come as an ISO instant
 * (`startsAt`) or as typed on the business's clock (`date` + `time`, see ./when-input.ts); the
 * reminder plan (./reminders.ts) is recomputed whenever the time or the lead time changes.
 */
import { and, asc, eq, gte, lte, sql } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../db/client";
import { appointmentStatuses, appointments } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { isStorableInstant, MAX_ID, optionalText } from "../lib/schemas";
import { type BusinessClock, formatAppointment } from "./dates";
import type { BusinessProfile } from "./message-context";
import { cancelReminderMessage, reminderLeadMinutes, reminderPlan } from "./reminders";
import { findLead } from "./scheduled-messages";
import { fieldError, isoInstant, resolveWhen, typedWhenFields } from "./when-input";

export type Appointment = typeof appointments.$inferSelect;

const MAX_REMINDER_MINUTES = 30 * 24 * 60;

const appointmentFields = {
  title: z.string().trim().min(1, "must not be empty").max(200),
  location: optionalText(500),
  notes: optionalText(5000),
  startsAt: isoInstant.optional(),
  ...typedWhenFields,
  endsAt: isoInstant.nullable().optional(),
  durationMinutes: z
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .optional(),
  /** Minutes before the start; null = the business's reminder_lead_minutes; 0 = no reminder. */
  reminderMinutesBefore: z.number().int().min(0).max(MAX_REMINDER_MINUTES).nullable().optional(),
};

export const createAppointmentSchema = z
  .object({ leadId: z.number().int().positive().max(MAX_ID), ...appointmentFields })
  .strict()
  .refine((b) => !(b.endsAt != null && b.durationMinutes !== undefined), {
    path: ["durationMinutes"],
    message: "give endsAt or durationMinutes, not both",
  });

export const updateAppointmentSchema = z
  .object(appointmentFields)
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: "give at least one field" })
  .refine((b) => !(b.endsAt != null && b.durationMinutes !== undefined), {
    path: ["durationMinutes"],
    message: "give endsAt or durationMinutes, not both",
  });

type CreateInput = z.infer<typeof createAppointmentSchema>;
type UpdateInput = z.infer<typeof updateAppointmentSchema>;

function endOf(startsAt: Date, input: { endsAt?: string | null; durationMinutes?: number }): Date | null | undefined {
  if (input.durationMinutes !== undefined) return new Date(startsAt.getTime() + input.durationMinutes * 60_000);
  if (input.endsAt === undefined) return undefined;
  if (input.endsAt === null) return null;
  const endsAt = new Date(input.endsAt);
  if (endsAt.getTime() <= startsAt.getTime()) throw fieldError("endsAt", "must be after the start");
  return endsAt;
}

/** An appointment as the API returns it: the row, plus its time as the business reads it. */
export function appointmentView(appt: Appointment, clock: BusinessClock) {
  return { ...appt, display: formatAppointment(appt.startsAt, clock) };
}

export async function createAppointment(
  db: Database,
  business: BusinessProfile,
  input: CreateInput,
  now = new Date(),
): Promise<Appointment> {
  const startsAt = resolveWhen(input, "startsAt", business, now);
  if (!startsAt) throw fieldError("startsAt", "give startsAt, or date and time");
  const endsAt = endOf(startsAt, input) ?? null;
  const lead = await findLead(db, business.id, input.leadId);
  const minutes = input.reminderMinutesBefore ?? (await reminderLeadMinutes(db, business.id));
  const [row] = await db
    .insert(appointments)
    .values({
      businessId: business.id,
      leadId: lead.id,
      title: input.title,
      location: input.location ?? null,
      notes: input.notes ?? null,
      startsAt,
      endsAt,
      reminderMinutesBefore: input.reminderMinutesBefore ?? null,
      ...reminderPlan(startsAt, minutes, business.timezone, now),
    })
    .returning();
  return row!;
}

export async function getAppointment(db: Database, businessId: number, id: number): Promise<Appointment> {
  const [row] = await db
    .select()
    .from(appointments)
    .where(and(eq(appointments.id, id), eq(appointments.businessId, businessId)));
  if (!row) throw notFound("Appointment");
  return row;
}

export async function updateAppointment(
  db: Database,
  business: BusinessProfile,
  id: number,
  input: UpdateInput,
  now = new Date(),
): Promise<Appointment> {
  const existing = await getAppointment(db, business.id, id);
  if (existing.status !== "scheduled") {
    throw new ApiError("conflict", `This appointment is ${existing.status}; it cannot be changed`, {
      status: existing.status,
    });
  }
  const startsAt = resolveWhen(input, "startsAt", business, now) ?? existing.startsAt;
  const timeChanged = startsAt.getTime() !== existing.startsAt.getTime();
  const values: Partial<typeof appointments.$inferInsert> = { updatedAt: new Date() };
  if (input.title !== undefined) values.title = input.title;
  if (input.location !== undefined) values.location = input.location;
  if (input.notes !== undefined) values.notes = input.notes;
  if (timeChanged) values.startsAt = startsAt;
  const endsAt = endOf(startsAt, input);
  if (endsAt !== undefined) values.endsAt = endsAt;
  else if (timeChanged && existing.endsAt) {
    // Moving an appointment keeps its length.
    values.endsAt = new Date(startsAt.getTime() + (existing.endsAt.getTime() - existing.startsAt.getTime()));
  } else if (existing.endsAt && existing.endsAt.getTime() <= startsAt.getTime()) {
    throw fieldError("endsAt", "must be after the start");
  }

  const minutesChanged =
    input.reminderMinutesBefore !== undefined && input.reminderMinutesBefore !== existing.reminderMinutesBefore;
  if (input.reminderMinutesBefore !== undefined) values.reminderMinutesBefore = input.reminderMinutesBefore;
  const override =
    input.reminderMinutesBefore !== undefined ? input.reminderMinutesBefore : existing.reminderMinutesBefore;
  const minutes = async () => override ?? (await reminderLeadMinutes(db, business.id));
  if (timeChanged) {
    // A new time is a new reminder (its own idempotency key); the old one is cancelled below, in
    // the same transaction as the update.
    Object.assign(values, reminderPlan(startsAt, await minutes(), business.timezone, now), { reminderSentAt: null });
  } else if (minutesChanged && (existing.reminderStatus === "pending" || existing.reminderStatus === "skipped")) {
    // Same time, other lead time: only a reminder not yet handled is re-planned (one already
    // sent for this time is not sent again).
    Object.assign(values, reminderPlan(startsAt, await minutes(), business.timezone, now));
  }

  // One transaction: an update that fails (or finds the appointment cancelled meanwhile) leaves
  // the queued reminder of the old time as it was, never cancelled with nothing to replace it.
  return db.transaction(async (tx) => {
    if (timeChanged) await cancelReminderMessage(tx, existing);
    const [updated] = await tx
      .update(appointments)
      .set(values)
      .where(
        and(eq(appointments.id, id), eq(appointments.businessId, business.id), eq(appointments.status, "scheduled")),
      )
      .returning();
    if (!updated) throw new ApiError("conflict", "This appointment was cancelled meanwhile; it cannot be changed");
    return updated;
  });
}

/** Cancels an appointment and its reminder if not sent yet. Idempotent. */
export async function cancelAppointment(db: Database, businessId: number, id: number): Promise<Appointment> {
  const existing = await getAppointment(db, businessId, id);
  if (existing.status === "cancelled") return existing;
  if (existing.status === "completed") {
    throw new ApiError("conflict", "This appointment is completed; it cannot be cancelled", { status: "completed" });
  }
  // A reminder in the send job's hands (`sending`) cannot be stopped; its outcome will say so.
  // Reminder and appointment change together or not at all.
  const cancelled = await db.transaction(async (tx) => {
    const stopped = existing.reminderStatus === "queued" ? await cancelReminderMessage(tx, existing) : false;
    const [row] = await tx
      .update(appointments)
      .set({
        status: "cancelled",
        updatedAt: new Date(),
        reminderStatus: sql`case when ${appointments.reminderStatus} = 'pending' or ${stopped}::boolean then 'skipped' else ${appointments.reminderStatus} end`,
      })
      .where(
        and(eq(appointments.id, id), eq(appointments.businessId, businessId), eq(appointments.status, "scheduled")),
      )
      .returning();
    return row;
  });
  return cancelled ?? (await getAppointment(db, businessId, id));
}

export const listAppointmentsQuery = z
  .object({
    from: isoInstant.optional(),
    to: isoInstant.optional(),
    leadId: z.coerce.number().int().positive().max(MAX_ID).optional(),
    status: z.enum(appointmentStatuses).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    cursor: z
      .string()
      .regex(/^\d{1,15}\.\d{1,9}$/, "is not a cursor from this API")
      // Digits alone can name an instant Postgres cannot hold (year 33658).
      .refine((v) => isStorableInstant(Number(v.split(".")[0])), "is not a cursor from this API")
      .optional(),
  })
  .strict();

/**
 * Appointments in [from, to] by start time. Without `from` (and without `to`) the list starts
 * now: the upcoming ones.
 */
export async function listAppointments(
  db: Database,
  businessId: number,
  q: z.infer<typeof listAppointmentsQuery>,
  now = new Date(),
) {
  const where = [eq(appointments.businessId, businessId)];
  const from = q.from ? new Date(q.from) : q.to ? undefined : now;
  if (from) where.push(gte(appointments.startsAt, from));
  if (q.to) where.push(lte(appointments.startsAt, new Date(q.to)));
  if (q.leadId) where.push(eq(appointments.leadId, q.leadId));
  if (q.status) where.push(eq(appointments.status, q.status));
  if (q.cursor) {
    const [ms, id] = q.cursor.split(".").map(Number) as [number, number];
    where.push(
      sql`(${appointments.startsAt}, ${appointments.id}) > (${new Date(ms).toISOString()}::timestamptz, ${id})`,
    );
  }
  const rows = await db
    .select()
    .from(appointments)
    .where(and(...where))
    .orderBy(asc(appointments.startsAt), asc(appointments.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    appointments: page,
    nextCursor: rows.length > q.limit && last ? `${last.startsAt.getTime()}.${last.id}` : null,
  };
}
