/**
 * What templates are filled in with, loaded in bulk: the business (name, zone, locale) and, for
 * scheduled messages, each lead's next upcoming appointment. Shared by broadcasts, scheduled
 * messages and reminders so they read these the same way.
 */
import { and, eq, gt, inArray, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { appointments, businesses, leads } from "../db/schema";
import { type BusinessClock, formatAppointment } from "./dates";
import type { TemplateValues } from "./templates";

export interface BusinessProfile extends BusinessClock {
  id: number;
  name: string;
}

export async function businessProfiles(db: Database, ids: number[]): Promise<Map<number, BusinessProfile>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const rows = await db
    .select({ id: businesses.id, name: businesses.name, timezone: businesses.timezone, locale: businesses.locale })
    .from(businesses)
    .where(inArray(businesses.id, unique));
  return new Map(rows.map((r) => [r.id, r]));
}

export async function businessProfile(db: Database, id: number): Promise<BusinessProfile | null> {
  return (await businessProfiles(db, [id])).get(id) ?? null;
}

type AppointmentFields = Pick<typeof appointments.$inferSelect, "title" | "location" | "startsAt">;

/** The appointment part of the template values, formatted for the business. */
export function appointmentValues(appt: AppointmentFields, business: BusinessClock): TemplateValues["appointment"] {
  const formatted = formatAppointment(appt.startsAt, business);
  return { title: appt.title, location: appt.location, ...formatted };
}

/** Each lead's next scheduled appointment that has not started yet. */
export async function nextAppointments(
  db: Database,
  businessId: number,
  leadIds: number[],
): Promise<Map<number, AppointmentFields>> {
  if (leadIds.length === 0) return new Map();
  const rows = await db
    .selectDistinctOn([appointments.leadId], {
      leadId: appointments.leadId,
      title: appointments.title,
      location: appointments.location,
      startsAt: appointments.startsAt,
    })
    .from(appointments)
    .where(
      and(
        eq(appointments.businessId, businessId),
        inArray(appointments.leadId, [...new Set(leadIds)]),
        eq(appointments.status, "scheduled"),
        gt(appointments.startsAt, sql`now()`),
      ),
    )
    .orderBy(appointments.leadId, appointments.startsAt);
  return new Map(rows.map((r) => [r.leadId, r]));
}

/** The leads a batch of messages goes to, by id (deleted ones included: callers decide). */
export async function leadsById(db: Database, ids: number[]): Promise<Map<number, typeof leads.$inferSelect>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const rows = await db.select().from(leads).where(inArray(leads.id, unique));
  return new Map(rows.map((l) => [l.id, l]));
}
