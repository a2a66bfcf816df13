/**
 * Broadcasts: one template to an audience drawn from the lead book, each lead messaged at most
 * once per broadcast.
 *
 * - Creating one writes the broadcast and one broadcast_recipients row per lead with a phone in a
 *   single transaction (INSERT ... SELECT with the lead list's own filters, so 10k leads are one
 *   statement, not 10k round trips). Its primary key (broadcast_id, lead_id) is the "at most once"
 *   guarantee at the recipient level. Leads without a phone are counted as skipped.
 * - The messages themselves are created by `broadcast.dispatch` jobs on the default queue, one per
 *   chunk of recipients, through queueOutgoingMessages with the key `broadcast:<id>:<leadId>`: a
 *   redelivered or duplicated chunk job finds the rows it made and creates nothing twice; the send
 *   job then sends each row at most once, at the business's pace.
 * - Pause moves the broadcast's still-`queued` wa_outbound rows to `held` and takes them out of the
 *   business's send schedule; resume moves them back and schedules them again; cancel makes queued
 *   and held rows `cancelled` (out of the schedule too). A message already handed to the shard
 *   (`sending`) finishes.
 * - Progress is counted from the recipients (and their messages' states) whenever asked; what
 *   still waits says why and until when, from the send schedule (`progress.waiting`).
 */
import { and, desc, eq, inArray, isNotNull, isNull, lt, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../db/client";
import { broadcastRecipients, broadcasts, leads, waOutbound } from "../db/schema";
import type { Env } from "../env";
import { ApiError, notFound } from "../errors";
import { log } from "../lib/log";
import { intArray } from "../lib/pg-arrays";
import { MAX_ID } from "../lib/schemas";
import { enqueueBatch } from "../queues/producer";
import { emitWebhookEvent } from "../webhooks/outbox";
import { queueOutgoingMessages, scheduleOutbound } from "../whatsapp/outbound";
import { audienceWhere, audienceSchema as sharedAudienceSchema } from "./audience";
import { businessProfile } from "./message-context";
import { businessStub } from "./settings";
import { renderTemplate, templateSchema } from "./templates";

/** Recipients per dispatch job: small enough for one batch's time budget, large enough to be cheap. */
export const DISPATCH_CHUNK = 200;
/**
 * The most recipients one broadcast may have. A bound keeps the creating transaction and the
 * fan-out of dispatch jobs predictable; a larger audience can be split by filter.
 */
export const MAX_BROADCAST_RECIPIENTS = 50_000;

export type Broadcast = typeof broadcasts.$inferSelect;

export function broadcastKey(broadcastId: number, leadId: number): string {
  return `broadcast:${broadcastId}:${leadId}`;
}

/** Who a broadcast goes to: see ./audience.ts. */
export const audienceSchema = sharedAudienceSchema(MAX_BROADCAST_RECIPIENTS);

export const createBroadcastSchema = z
  .object({
    name: z.string().trim().min(1, "must not be empty").max(200),
    template: templateSchema("broadcast"),
    audience: audienceSchema,
  })
  .strict();
export type CreateBroadcastInput = z.infer<typeof createBroadcastSchema>;

export interface Progress {
  total: number;
  skipped: number;
  /** Waiting: not yet created, or queued for the send job. */
  queued: number;
  /** Paused (the broadcast) or held (the business's sends paused by a ban signal). */
  held: number;
  sending: number;
  sent: number;
  failed: number;
  cancelled: number;
  /**
   * Messages held in the business's send schedule (counted in `queued`), with why the next one
   * waits (pace, quiet hours, daily cap, sends paused) and when the next and the last should go.
   * Null when nothing of this broadcast is in the schedule.
   */
  waiting: {
    count: number;
    reason: string;
    detail: string;
    nextAt: string | null;
    lastAt: string | null;
  } | null;
}

function emptyProgress(b: Pick<Broadcast, "totalRecipients" | "skippedLeads">): Progress {
  return {
    total: b.totalRecipients,
    skipped: b.skippedLeads,
    queued: 0,
    held: 0,
    sending: 0,
    sent: 0,
    failed: 0,
    cancelled: 0,
    waiting: null,
  };
}

export async function progressOf(db: Database, env: Env, list: Broadcast[]): Promise<Map<number, Progress>> {
  const result = new Map(list.map((b) => [b.id, emptyProgress(b)]));
  if (list.length === 0) return result;
  const rows = await db
    .select({
      broadcastId: broadcastRecipients.broadcastId,
      status: broadcastRecipients.status,
      outboundStatus: waOutbound.status,
      count: sql<number>`count(*)::int`,
    })
    .from(broadcastRecipients)
    .leftJoin(waOutbound, eq(waOutbound.id, broadcastRecipients.outboundId))
    .where(
      inArray(
        broadcastRecipients.broadcastId,
        list.map((b) => b.id),
      ),
    )
    .groupBy(broadcastRecipients.broadcastId, broadcastRecipients.status, waOutbound.status);
  for (const row of rows) {
    const p = result.get(row.broadcastId)!;
    if (row.status !== "queued") p[row.status] += row.count;
    else if (row.outboundStatus === "held") p.held += row.count;
    else if (row.outboundStatus === "sending") p.sending += row.count;
    else p.queued += row.count;
  }
  const waitingIn = list.filter((b) => result.get(b.id)!.queued > 0);
  if (waitingIn.length > 0) {
    // One business per page (the list is the caller's business's own).
    const businessId = waitingIn[0]!.businessId;
    const schedule = await businessStub(env, businessId).originWaiting(
      businessId,
      "broadcast",
      waitingIn.map((b) => b.id),
    );
    for (const w of schedule) {
      if (w.waiting === 0 || !w.next) continue;
      result.get(w.originId)!.waiting = {
        count: w.waiting,
        reason: w.next.reason,
        detail: w.next.detail,
        nextAt: w.next.expectedAt,
        lastAt: w.last?.expectedAt ?? null,
      };
    }
  }
  return result;
}

/**
 * Marks a running broadcast completed once no recipient is waiting. Cheap (index on status).
 * The broadcast.finished webhook event commits with it; the minute sweep delivers it (this runs
 * deep in send paths that hold no queue binding to kick with).
 */
export async function completeIfDone(db: Database, broadcastId: number): Promise<void> {
  await db.transaction(async (tx) => {
    const [done] = await tx
      .update(broadcasts)
      .set({ status: "completed", finishedAt: new Date(), updatedAt: new Date() })
      .where(
        and(
          eq(broadcasts.id, broadcastId),
          eq(broadcasts.status, "running"),
          sql`not exists (select 1 from ${broadcastRecipients} where ${broadcastRecipients.broadcastId} = ${broadcastId} and ${broadcastRecipients.status} = 'queued')`,
        ),
      )
      .returning();
    if (done) {
      await emitWebhookEvent(tx, {
        businessId: done.businessId,
        type: "broadcast.finished",
        data: { broadcast: { id: done.id, status: done.status, finishedAt: done.finishedAt } },
      });
    }
  });
}

async function enqueueDispatch(env: Env, broadcastId: number, leadIds: number[]): Promise<void> {
  const jobs = [];
  for (let i = 0; i < leadIds.length; i += DISPATCH_CHUNK) {
    jobs.push({ type: "broadcast.dispatch" as const, broadcastId, leadIds: leadIds.slice(i, i + DISPATCH_CHUNK) });
  }
  await enqueueBatch(env, "broadcast.dispatch", jobs);
}

export async function createBroadcast(
  db: Database,
  env: Env,
  businessId: number,
  userId: number,
  input: CreateBroadcastInput,
): Promise<Broadcast> {
  const where = audienceWhere(businessId, input.audience);
  const { broadcast, leadIds } = await db.transaction(async (tx) => {
    const [created] = await tx
      .insert(broadcasts)
      .values({
        businessId,
        name: input.name,
        template: input.template,
        audience: input.audience,
        status: "running",
        startedAt: new Date(),
        createdByUserId: userId,
      })
      .returning();
    const inserted = await tx.execute<{ lead_id: number }>(sql`
      insert into ${broadcastRecipients} (broadcast_id, lead_id, business_id)
      select ${created!.id}, ${leads.id}, ${leads.businessId} from ${leads}
      where ${and(...where, isNotNull(leads.phoneE164))}
      order by ${leads.id}
      limit ${MAX_BROADCAST_RECIPIENTS + 1}
      on conflict do nothing
      returning lead_id`);
    const [noPhone] = await tx
      .select({ count: sql<number>`count(*)::int` })
      .from(leads)
      .where(and(...where, isNull(leads.phoneE164)));
    const skipped = noPhone?.count ?? 0;
    const total = inserted.rows.length;
    // Throwing rolls the transaction back: a refused broadcast writes nothing.
    if (total === 0) {
      throw new ApiError("validation_failed", "Invalid body: audience", {
        fields: [
          {
            field: "audience",
            message:
              skipped > 0 ? `matches ${skipped} lead(s), none with a phone number` : "matches no lead of this business",
          },
        ],
      });
    }
    if (total > MAX_BROADCAST_RECIPIENTS) {
      throw new ApiError("validation_failed", "Invalid body: audience", {
        fields: [
          { field: "audience", message: `matches more than ${MAX_BROADCAST_RECIPIENTS} leads; narrow the filter` },
        ],
      });
    }
    const [updated] = await tx
      .update(broadcasts)
      .set({ totalRecipients: total, skippedLeads: skipped })
      .where(eq(broadcasts.id, created!.id))
      .returning();
    return { broadcast: updated!, leadIds: inserted.rows.map((r) => Number(r.lead_id)) };
  });
  try {
    await enqueueDispatch(env, broadcast.id, leadIds);
  } catch (err) {
    // The broadcast and its recipients are stored; the sweep (broadcast.sweep) dispatches
    // recipients that never got a message, so the request still succeeds.
    log.error("broadcast dispatch could not be queued; the sweep will pick it up", {
      broadcastId: broadcast.id,
      error: String(err),
    });
  }
  return broadcast;
}

/**
 * Creates the messages of one chunk of recipients. Idempotent: recipients that already have their
 * message are not selected, and the per-lead idempotency key makes a concurrent duplicate of this
 * job find the same wa_outbound rows.
 */
export async function dispatchBroadcastChunk(
  db: Database,
  env: Env,
  broadcastId: number,
  leadIds: number[],
): Promise<{ queued: number; unreachable: number }> {
  const [broadcast] = await db.select().from(broadcasts).where(eq(broadcasts.id, broadcastId));
  // Paused: resume dispatches what is left. Cancelled or completed: nothing to do.
  if (broadcast?.status !== "running") return { queued: 0, unreachable: 0 };
  const business = await businessProfile(db, broadcast.businessId);
  if (!business) return { queued: 0, unreachable: 0 };
  const rows = await db
    .select({
      leadId: broadcastRecipients.leadId,
      firstName: leads.firstName,
      lastName: leads.lastName,
      phone: leads.phoneE164,
      deletedAt: leads.deletedAt,
    })
    .from(broadcastRecipients)
    .innerJoin(leads, eq(leads.id, broadcastRecipients.leadId))
    .where(
      and(
        eq(broadcastRecipients.broadcastId, broadcastId),
        inArray(broadcastRecipients.leadId, leadIds),
        eq(broadcastRecipients.status, "queued"),
        isNull(broadcastRecipients.outboundId),
      ),
    );
  // A lead deleted, or whose phone was removed, since the broadcast was created: not messaged.
  const unreachable = rows.filter((r) => !r.phone || r.deletedAt).map((r) => r.leadId);
  if (unreachable.length > 0) {
    await db
      .update(broadcastRecipients)
      .set({ status: "cancelled", updatedAt: new Date() })
      .where(
        and(
          eq(broadcastRecipients.broadcastId, broadcastId),
          inArray(broadcastRecipients.leadId, unreachable),
          eq(broadcastRecipients.status, "queued"),
        ),
      );
  }
  const reachable = rows.filter((r) => r.phone && !r.deletedAt);
  if (reachable.length > 0) {
    const result = await queueOutgoingMessages(
      db,
      env,
      reachable.map((r) => ({
        businessId: broadcast.businessId,
        leadId: r.leadId,
        to: r.phone!,
        text: renderTemplate(
          broadcast.template,
          { firstName: r.firstName, lastName: r.lastName, businessName: business.name },
          business.locale,
        ).text,
        idempotencyKey: broadcastKey(broadcastId, r.leadId),
        origin: "broadcast" as const,
        originId: broadcastId,
        createdByUserId: broadcast.createdByUserId,
      })),
    );
    const linkLeads: number[] = [];
    const linkOutbound: number[] = [];
    for (const r of reachable) {
      const outbound = result.get(broadcastKey(broadcastId, r.leadId));
      if (!outbound) continue;
      linkLeads.push(r.leadId);
      linkOutbound.push(outbound.outboundId);
    }
    await db.execute(sql`
      update ${broadcastRecipients} as r set outbound_id = v.outbound_id, updated_at = now()
      from unnest(${intArray(linkLeads)}, ${intArray(linkOutbound)}) as v(lead_id, outbound_id)
      where r.broadcast_id = ${broadcastId} and r.lead_id = v.lead_id and r.outbound_id is null`);
  }
  // A pause or cancel that landed while this chunk was being created did not see these rows;
  // apply it to them now (the other order is covered by the pause/cancel itself).
  const [after] = await db.select({ status: broadcasts.status }).from(broadcasts).where(eq(broadcasts.id, broadcastId));
  if (after?.status === "paused") await holdMessages(db, env, broadcast);
  else if (after?.status === "cancelled") await cancelMessages(db, env, broadcast);
  else await completeIfDone(db, broadcastId);
  return { queued: reachable.length, unreachable: unreachable.length };
}

function outboundOf(broadcast: Pick<Broadcast, "id" | "businessId">): SQL {
  return and(
    eq(waOutbound.businessId, broadcast.businessId),
    eq(waOutbound.origin, "broadcast"),
    eq(waOutbound.originId, broadcast.id),
  )!;
}

/** Takes the broadcast's waiting messages out of the business's send schedule. */
async function unschedule(env: Env, broadcast: Pick<Broadcast, "id" | "businessId">): Promise<void> {
  await businessStub(env, broadcast.businessId).unscheduleOrigin(broadcast.businessId, "broadcast", broadcast.id);
}

async function holdMessages(db: Database, env: Env, broadcast: Pick<Broadcast, "id" | "businessId">): Promise<number> {
  const held = await db
    .update(waOutbound)
    .set({ status: "held", lastError: "broadcast paused", updatedAt: new Date() })
    .where(and(outboundOf(broadcast), eq(waOutbound.status, "queued")))
    .returning({ id: waOutbound.id });
  await unschedule(env, broadcast);
  return held.length;
}

async function cancelMessages(db: Database, env: Env, broadcast: Pick<Broadcast, "id" | "businessId">): Promise<void> {
  await db
    .update(waOutbound)
    .set({ status: "cancelled", lastError: "broadcast cancelled", updatedAt: new Date() })
    .where(and(outboundOf(broadcast), inArray(waOutbound.status, ["queued", "held"])));
  await unschedule(env, broadcast);
  // Recipients whose message is not in the shard's hands (or was never created) are cancelled;
  // one being sent right now keeps `queued` until its outcome says sent or failed.
  await db.execute(sql`
    update ${broadcastRecipients} as r set status = 'cancelled', updated_at = now()
    where r.broadcast_id = ${broadcast.id} and r.status = 'queued'
      and not exists (
        select 1 from ${waOutbound} o
        where o.business_id = r.business_id and o.idempotency_key = 'broadcast:' || r.broadcast_id || ':' || r.lead_id
          and o.status in ('sending', 'sent', 'failed'))`);
}

async function findBroadcast(db: Database, businessId: number, id: number): Promise<Broadcast> {
  const [b] = await db
    .select()
    .from(broadcasts)
    .where(and(eq(broadcasts.id, id), eq(broadcasts.businessId, businessId)));
  if (!b) throw notFound("Broadcast");
  return b;
}

function conflict(b: Broadcast, action: string): ApiError {
  return new ApiError("conflict", `Broadcast ${b.id} is ${b.status}; it cannot be ${action}`, { status: b.status });
}

export async function pauseBroadcast(db: Database, env: Env, businessId: number, id: number): Promise<Broadcast> {
  const b = await findBroadcast(db, businessId, id);
  if (b.status === "paused") return b;
  const [paused] = await db
    .update(broadcasts)
    .set({ status: "paused", updatedAt: new Date() })
    .where(and(eq(broadcasts.id, id), inArray(broadcasts.status, ["queued", "running"])))
    .returning();
  if (!paused) throw conflict(await findBroadcast(db, businessId, id), "paused");
  await holdMessages(db, env, paused);
  return paused;
}

export async function resumeBroadcast(db: Database, env: Env, businessId: number, id: number): Promise<Broadcast> {
  const b = await findBroadcast(db, businessId, id);
  if (b.status === "running") return b;
  const [resumed] = await db
    .update(broadcasts)
    .set({ status: "running", updatedAt: new Date() })
    .where(and(eq(broadcasts.id, id), eq(broadcasts.status, "paused")))
    .returning();
  if (!resumed) throw conflict(await findBroadcast(db, businessId, id), "resumed");
  const released = await db
    .update(waOutbound)
    .set({ status: "queued", lastError: null, updatedAt: new Date() })
    .where(and(outboundOf(resumed), eq(waOutbound.status, "held")))
    .returning();
  await scheduleOutbound(db, env, released);
  // Recipients whose chunk was skipped while paused.
  const undispatched = await db
    .select({ leadId: broadcastRecipients.leadId })
    .from(broadcastRecipients)
    .where(
      and(
        eq(broadcastRecipients.broadcastId, id),
        eq(broadcastRecipients.status, "queued"),
        isNull(broadcastRecipients.outboundId),
      ),
    )
    .orderBy(broadcastRecipients.leadId);
  await enqueueDispatch(
    env,
    id,
    undispatched.map((r) => r.leadId),
  );
  await completeIfDone(db, id);
  return findBroadcast(db, businessId, id);
}

export async function cancelBroadcast(db: Database, env: Env, businessId: number, id: number): Promise<Broadcast> {
  const b = await findBroadcast(db, businessId, id);
  if (b.status === "cancelled") return b;
  const [cancelled] = await db
    .update(broadcasts)
    .set({ status: "cancelled", finishedAt: new Date(), updatedAt: new Date() })
    .where(and(eq(broadcasts.id, id), inArray(broadcasts.status, ["queued", "running", "paused"])))
    .returning();
  if (!cancelled) throw conflict(await findBroadcast(db, businessId, id), "cancelled");
  await cancelMessages(db, env, cancelled);
  return cancelled;
}

export async function getBroadcast(db: Database, env: Env, businessId: number, id: number) {
  await findBroadcast(db, businessId, id); // 404 for another business's id, before any write
  await completeIfDone(db, id);
  const b = await findBroadcast(db, businessId, id);
  return { broadcast: b, progress: (await progressOf(db, env, [b])).get(b.id)! };
}

export const listBroadcastsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    /** The `nextCursor` of the previous page. */
    cursor: z.coerce.number().int().positive().max(MAX_ID).optional(),
  })
  .strict();

export async function listBroadcasts(
  db: Database,
  env: Env,
  businessId: number,
  q: z.infer<typeof listBroadcastsQuery>,
) {
  const rows = await db
    .select()
    .from(broadcasts)
    .where(and(eq(broadcasts.businessId, businessId), q.cursor ? lt(broadcasts.id, q.cursor) : undefined))
    .orderBy(desc(broadcasts.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const progress = await progressOf(db, env, page);
  return {
    broadcasts: page.map((b) => ({ ...b, progress: progress.get(b.id)! })),
    nextCursor: rows.length > q.limit ? page[page.length - 1]!.id : null,
  };
}

/**
 * Recipients of running broadcasts that still have no message long after the broadcast last
 * changed: their dispatch job was lost (e.g. the enqueue after creation failed). Dispatch is
 * idempotent, so sending a chunk again is harmless even if its job was only slow.
 */
export async function sweepBroadcasts(db: Database, env: Env, olderThanMinutes: number): Promise<number> {
  const stuck = await db
    .select({ broadcastId: broadcastRecipients.broadcastId, leadId: broadcastRecipients.leadId })
    .from(broadcastRecipients)
    .innerJoin(broadcasts, eq(broadcasts.id, broadcastRecipients.broadcastId))
    .where(
      and(
        eq(broadcasts.status, "running"),
        lt(broadcasts.updatedAt, sql`now() - make_interval(mins => ${olderThanMinutes})`),
        eq(broadcastRecipients.status, "queued"),
        isNull(broadcastRecipients.outboundId),
      ),
    )
    .orderBy(broadcastRecipients.broadcastId, broadcastRecipients.leadId)
    .limit(5_000);
  const byBroadcast = new Map<number, number[]>();
  for (const row of stuck) {
    const list = byBroadcast.get(row.broadcastId) ?? [];
    list.push(row.leadId);
    byBroadcast.set(row.broadcastId, list);
  }
  for (const [broadcastId, leadIds] of byBroadcast) await enqueueDispatch(env, broadcastId, leadIds);
  if (stuck.length > 0) log.warn("re-dispatched broadcast recipients without a message", { count: stuck.length });
  return stuck.length;
}

// ---- preview (before creating) ------------------------------------------------------------------

export const previewBroadcastSchema = z
  .object({
    template: templateSchema("broadcast"),
    audience: audienceSchema,
    /** Render for this lead of the audience; default: its first lead with a phone. */
    leadId: z.number().int().positive().max(MAX_ID).optional(),
  })
  .strict();

/**
 * What a broadcast would do, without writing anything: how many leads it would message and skip
 * (the same conditions as createBroadcast), and the template rendered for one real lead of the
 * audience exactly as the dispatch renders it.
 */
export async function previewBroadcast(
  db: Database,
  businessId: number,
  input: z.infer<typeof previewBroadcastSchema>,
): Promise<{
  recipients: number;
  skipped: number;
  sample: { leadId: number; firstName: string | null; lastName: string | null; text: string } | null;
}> {
  const where = audienceWhere(businessId, input.audience);
  const [counts] = await db
    .select({
      recipients: sql<number>`count(*) filter (where ${leads.phoneE164} is not null)::int`,
      skipped: sql<number>`count(*) filter (where ${leads.phoneE164} is null)::int`,
    })
    .from(leads)
    .where(and(...where));
  const [lead] = await db
    .select({ id: leads.id, firstName: leads.firstName, lastName: leads.lastName })
    .from(leads)
    .where(
      and(...where, isNotNull(leads.phoneE164), input.leadId === undefined ? undefined : eq(leads.id, input.leadId)),
    )
    .orderBy(leads.id)
    .limit(1);
  const business = await businessProfile(db, businessId);
  const sample =
    lead && business
      ? {
          leadId: lead.id,
          firstName: lead.firstName,
          lastName: lead.lastName,
          text: renderTemplate(
            input.template,
            { firstName: lead.firstName, lastName: lead.lastName, businessName: business.name },
            business.locale,
          ).text,
        }
      : null;
  return { recipients: counts?.recipients ?? 0, skipped: counts?.skipped ?? 0, sample };
}
