/**
 * Scheduled messages: a template to one lead at a given time.
 *
 * Life of a row: `pending` → (the minute cron's dispatch job claims it) `queued` → `sent` or
 * `failed` when its WhatsApp message is final (outbound-outcome.ts); `cancelled` by the API while
 * pending, or while its message is still waiting in the queue.
 *
 * Sent once, even when crons overlap or a job is redelivered:
 *  1. the claim is one `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)`, so two
 *     dispatch jobs running at once take disjoint rows;
 *  2. the message is created with the idempotency key `scheduled:<id>`, so even a row processed
 *     twice (a job that crashed after claiming, picked up again) yields one wa_outbound row, and
 *     the send job sends that row at most once.
 * The template is rendered when the message is dispatched (values as of sending time) and the
 * text is kept in rendered_text.
 */
import { and, asc, eq, gte, inArray, isNull, lt, lte, notExists, or, sql } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../db/client";
import { leads, scheduledMessageStatuses, scheduledMessages, waOutbound } from "../db/schema";
import type { Env } from "../env";
import { ApiError, notFound } from "../errors";
import { intArray, textArray } from "../lib/pg-arrays";
import { MAX_ID } from "../lib/schemas";
import { enqueue } from "../queues/producer";
import { type OutgoingMessage, queueOutgoingMessages } from "../whatsapp/outbound";
import {
  appointmentValues,
  type BusinessProfile,
  businessProfiles,
  leadsById,
  nextAppointments,
} from "./message-context";
import { renderTemplate, templateSchema, usesAppointment } from "./templates";
import { fieldError, isoInstant, resolveWhen, typedWhenFields } from "./when-input";

export type ScheduledMessage = typeof scheduledMessages.$inferSelect;

export function scheduledKey(id: number): string {
  return `scheduled:${id}`;
}

/** A time a moment ago is fine (the form took a while to fill in); earlier is a mistake. */
const PAST_TOLERANCE_MS = 5 * 60_000;
const MAX_AHEAD_MS = 366 * 86_400_000;
/** A claimed row with no message after this long lost its dispatch job: claim it again. */
export const STALE_CLAIM_MINUTES = 5;

export const createScheduledMessageSchema = z
  .object({
    leadId: z.number().int().positive().max(MAX_ID),
    template: templateSchema("scheduled"),
    sendAt: isoInstant.optional(),
    ...typedWhenFields,
  })
  .strict();
export type CreateScheduledMessageInput = z.infer<typeof createScheduledMessageSchema>;

export async function findLead(db: Database, businessId: number, leadId: number) {
  const [lead] = await db
    .select()
    .from(leads)
    .where(and(eq(leads.id, leadId), eq(leads.businessId, businessId), isNull(leads.deletedAt)));
  // Another business's lead is "not found", never "forbidden": ids of other tenants leak nothing.
  if (!lead) throw notFound("Lead");
  return lead;
}

export async function createScheduledMessage(
  db: Database,
  business: BusinessProfile,
  userId: number,
  input: CreateScheduledMessageInput,
  now = new Date(),
): Promise<ScheduledMessage> {
  const sendAt = resolveWhen(input, "sendAt", business, now);
  const whenField = input.sendAt !== undefined ? "sendAt" : "date";
  if (!sendAt) throw fieldError("sendAt", "give sendAt, or date and time");
  if (sendAt.getTime() < now.getTime() - PAST_TOLERANCE_MS) throw fieldError(whenField, "is in the past");
  if (sendAt.getTime() > now.getTime() + MAX_AHEAD_MS) throw fieldError(whenField, "is more than a year ahead");
  const lead = await findLead(db, business.id, input.leadId);
  if (!lead.phoneE164) throw fieldError("leadId", "this lead has no phone number to message");
  const [row] = await db
    .insert(scheduledMessages)
    .values({ businessId: business.id, leadId: lead.id, template: input.template, sendAt, createdByUserId: userId })
    .returning();
  return row!;
}

export const listScheduledQuery = z
  .object({
    status: z.enum(scheduledMessageStatuses).optional(),
    leadId: z.coerce.number().int().positive().max(MAX_ID).optional(),
    from: isoInstant.optional(),
    to: isoInstant.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z
      .string()
      .regex(/^\d{1,15}\.\d{1,9}$/, "is not a cursor from this API")
      .optional(),
  })
  .strict();

/** Ordered by send time (then id); `nextCursor` continues after the last row. */
export async function listScheduledMessages(db: Database, businessId: number, q: z.infer<typeof listScheduledQuery>) {
  const where = [eq(scheduledMessages.businessId, businessId)];
  if (q.status) where.push(eq(scheduledMessages.status, q.status));
  if (q.leadId) where.push(eq(scheduledMessages.leadId, q.leadId));
  if (q.from) where.push(gte(scheduledMessages.sendAt, new Date(q.from)));
  if (q.to) where.push(lte(scheduledMessages.sendAt, new Date(q.to)));
  if (q.cursor) {
    const [ms, id] = q.cursor.split(".").map(Number) as [number, number];
    where.push(
      sql`(${scheduledMessages.sendAt}, ${scheduledMessages.id}) > (${new Date(ms).toISOString()}::timestamptz, ${id})`,
    );
  }
  const rows = await db
    .select()
    .from(scheduledMessages)
    .where(and(...where))
    .orderBy(asc(scheduledMessages.sendAt), asc(scheduledMessages.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    scheduledMessages: page,
    nextCursor: rows.length > q.limit && last ? `${last.sendAt.getTime()}.${last.id}` : null,
  };
}

export async function getScheduledMessage(db: Database, businessId: number, id: number): Promise<ScheduledMessage> {
  const [row] = await db
    .select()
    .from(scheduledMessages)
    .where(and(eq(scheduledMessages.id, id), eq(scheduledMessages.businessId, businessId)));
  if (!row) throw notFound("Scheduled message");
  return row;
}

/**
 * Cancels a message that has not gone out: pending, or claimed but its WhatsApp message still
 * waiting (queued/held), which is cancelled with it. Already sent/failed → 409. Idempotent.
 */
export async function cancelScheduledMessage(db: Database, businessId: number, id: number): Promise<ScheduledMessage> {
  const row = await getScheduledMessage(db, businessId, id);
  if (row.status === "cancelled") return row;
  if (row.status === "queued") {
    // Cancel the message first: if the send job already took it, the cancel is refused.
    const [outbound] = await db
      .select({ id: waOutbound.id, status: waOutbound.status })
      .from(waOutbound)
      .where(and(eq(waOutbound.businessId, businessId), eq(waOutbound.idempotencyKey, scheduledKey(id))));
    if (outbound) {
      const [cancelled] = await db
        .update(waOutbound)
        .set({ status: "cancelled", lastError: "cancelled by a user", updatedAt: new Date() })
        .where(and(eq(waOutbound.id, outbound.id), inArray(waOutbound.status, ["queued", "held"])))
        .returning({ id: waOutbound.id });
      if (!cancelled) {
        throw new ApiError("conflict", "This message is already being sent; it can no longer be cancelled", {
          status: row.status,
        });
      }
    } else if (row.claimedAt && Date.now() - row.claimedAt.getTime() < 60_000) {
      // Claimed a moment ago and its message is being created right now: cancelling in between
      // could race the send, so ask to retry in a moment (the message will then be cancellable).
      throw new ApiError(
        "conflict",
        "This message is being dispatched right now; try again in a few seconds",
        { status: row.status },
        409,
        { "Retry-After": "5" },
      );
    }
    // No message long after the claim: its dispatch job died; the cancel stops the re-claim. If
    // that job is somehow still alive, it cancels the message it creates when it sees this row.
  }
  const [updated] = await db
    .update(scheduledMessages)
    .set({ status: "cancelled", lastError: null })
    .where(
      and(
        eq(scheduledMessages.id, id),
        eq(scheduledMessages.businessId, businessId),
        inArray(scheduledMessages.status, ["pending", "queued"]),
      ),
    )
    .returning();
  if (!updated) {
    const now = await getScheduledMessage(db, businessId, id);
    if (now.status === "cancelled") return now;
    throw new ApiError("conflict", `This message is ${now.status}; it can no longer be cancelled`, {
      status: now.status,
    });
  }
  return updated;
}

// ---- dispatch (the minute cron → scheduled_messages.dispatch_due on the low queue) ------------

/** Claims due rows, and rows claimed long ago that never got their message (a crashed job). */
async function claimDue(db: Database, limit: number): Promise<ScheduledMessage[]> {
  const due = db
    .select({ id: scheduledMessages.id })
    .from(scheduledMessages)
    .where(
      or(
        and(eq(scheduledMessages.status, "pending"), lte(scheduledMessages.sendAt, sql`now()`)),
        and(
          eq(scheduledMessages.status, "queued"),
          lt(scheduledMessages.claimedAt, sql`now() - make_interval(mins => ${STALE_CLAIM_MINUTES})`),
          notExists(
            db
              .select({ one: sql`1` })
              .from(waOutbound)
              .where(
                and(
                  eq(waOutbound.businessId, scheduledMessages.businessId),
                  eq(waOutbound.idempotencyKey, sql`'scheduled:' || ${scheduledMessages.id}`),
                ),
              ),
          ),
        ),
      ),
    )
    .orderBy(asc(scheduledMessages.sendAt))
    .limit(limit)
    .for("update", { skipLocked: true });
  return db
    .update(scheduledMessages)
    .set({ status: "queued", claimedAt: sql`now()` })
    .where(inArray(scheduledMessages.id, due))
    .returning();
}

async function settle(db: Database, id: number, status: "failed" | "cancelled", lastError: string): Promise<void> {
  await db
    .update(scheduledMessages)
    .set({ status, lastError })
    .where(and(eq(scheduledMessages.id, id), eq(scheduledMessages.status, "queued")));
}

export interface DispatchResult {
  claimed: number;
  queued: number;
  failed: number;
}

export async function dispatchDueScheduledMessages(db: Database, env: Env, limit: number): Promise<DispatchResult> {
  const claimed = await claimDue(db, limit);
  const result: DispatchResult = { claimed: claimed.length, queued: 0, failed: 0 };
  if (claimed.length === 0) return result;

  const profiles = await businessProfiles(
    db,
    claimed.map((r) => r.businessId),
  );
  const leadById = await leadsById(
    db,
    claimed.map((r) => r.leadId),
  );
  const messages: OutgoingMessage[] = [];
  const rendered: { id: number; text: string }[] = [];

  for (const [businessId, rows] of groupBy(claimed, (r) => r.businessId)) {
    const business = profiles.get(businessId);
    if (!business) continue;
    const needAppointment = rows.filter((r) => usesAppointment(r.template)).map((r) => r.leadId);
    const appointmentsByLead = await nextAppointments(db, businessId, needAppointment);
    for (const row of rows) {
      const lead = leadById.get(row.leadId);
      if (!lead || lead.deletedAt) {
        await settle(db, row.id, "cancelled", "the lead was deleted");
        result.failed++;
        continue;
      }
      if (!lead.phoneE164) {
        await settle(db, row.id, "failed", "the lead has no phone number");
        result.failed++;
        continue;
      }
      const appt = appointmentsByLead.get(lead.id);
      const { text, unresolved } = renderTemplate(
        row.template,
        {
          firstName: lead.firstName,
          lastName: lead.lastName,
          businessName: business.name,
          appointment: appt ? appointmentValues(appt, business) : null,
        },
        business.locale,
      );
      if (unresolved.length > 0) {
        // Sending "your appointment on  at " is worse than not sending: say why instead.
        await settle(
          db,
          row.id,
          "failed",
          `the lead has no upcoming appointment for ${unresolved.map((v) => `{${v}}`).join(", ")}`,
        );
        result.failed++;
        continue;
      }
      rendered.push({ id: row.id, text });
      messages.push({
        businessId,
        leadId: lead.id,
        to: lead.phoneE164,
        text,
        idempotencyKey: scheduledKey(row.id),
        origin: "scheduled",
        originId: row.id,
        createdByUserId: row.createdByUserId,
      });
    }
  }

  if (rendered.length > 0) {
    await db.execute(sql`
      update ${scheduledMessages} as s set rendered_text = v.text
      from unnest(${intArray(rendered.map((r) => r.id))}, ${textArray(rendered.map((r) => r.text))}) as v(id, text)
      where s.id = v.id`);
    const outcome = await queueOutgoingMessages(db, env, messages);
    result.queued = messages.length;
    const ids = [...outcome.values()].map((o) => o.outboundId);
    // A cancel that landed between the claim and now saw no message to cancel: cancel it here.
    await db.execute(sql`
      update ${waOutbound} as o set status = 'cancelled', last_error = 'cancelled by a user', updated_at = now()
      where o.id = any(${intArray(ids)}) and o.status in ('queued', 'held')
        and exists (select 1 from ${scheduledMessages} s where s.id = o.origin_id and s.status = 'cancelled')`);
    // A message that already existed and is final (a re-claimed row whose message went out or
    // failed): bring the row in line with it instead of leaving it queued.
    await db.execute(sql`
      update ${scheduledMessages} as s
      set status = o.status,
          sent_at = coalesce(o.sent_at, s.sent_at), wa_message_id = coalesce(o.wa_message_id, s.wa_message_id)
      from ${waOutbound} o
      where o.id = any(${intArray(ids)}) and o.origin = 'scheduled' and s.id = o.origin_id
        and s.status = 'queued' and o.status in ('sent', 'failed', 'cancelled')`);
  }
  // More due than one job takes: drain the rest now rather than a minute later.
  if (claimed.length === limit) await enqueue(env, { type: "scheduled_messages.dispatch_due", limit });
  return result;
}

export function groupBy<T, K>(items: T[], key: (item: T) => K): Map<K, T[]> {
  const map = new Map<K, T[]>();
  for (const item of items) {
    const list = map.get(key(item));
    if (list) list.push(item);
    else map.set(key(item), [item]);
  }
  return map;
}
