/**
 * Bulk call campaigns: create one for a set of leads, read its live progress, list them, pause,
 * resume and cancel. Postgres keeps the durable record (the campaign — table outbound_call_runs —
 * and one job per lead, outbound_call_jobs); the high-priority queue carries job ids to the dial
 * consumer (worker/queues/handlers/outbound-call-dial.ts). Every change of a campaign's or a job's
 * status after creation is in ./jobs.ts.
 *
 * - Creating a campaign inserts its jobs with INSERT … SELECT over the lead list's own filters, in
 *   chunks of JOB_INSERT_CHUNK leads (keyset on lead id), inside one transaction: 10,000 leads are
 *   a handful of statements, and a refused campaign writes nothing. Leads without a valid E.164
 *   phone are counted as skipped and get no job, so they are never dialed. The unique (run, lead)
 *   index makes "one job per lead" a property of the table.
 * - Jobs are queued after the commit (a consumer must find its job), in sendBatch calls of ≤ 100.
 * - Pause stops new dials (claims need a queued or running campaign); calls in progress finish.
 *   Resume queues the campaign's waiting jobs again. Cancel cancels the waiting jobs; nothing new
 *   is dialed, calls in progress finish.
 */
import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../db/client";
import { campaignStatuses, leads, outboundCallJobs, outboundCallRuns } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { isoDateTime, MAX_ID } from "../lib/schemas";
import { audienceWhere, audienceSchema as sharedAudienceSchema } from "../services/audience";
import { E164_SQL } from "../services/phones";
import type { WorkingHours } from "../services/settings";
import { hasNoHours, nextOpening } from "./business-hours";
import { type DialTarget, enqueueDialJobs, enqueueDialJobsAt } from "./enqueue";
import { cancelCampaignRun, failCampaignRun, finishRunIfDone, pauseCampaignRun, resumeCampaignRun } from "./jobs";
import {
  ACTIVE_JOB_STATUSES,
  DIALING_CAMPAIGN_STATUSES,
  delayUntil,
  type JobStatus,
  TERMINAL_JOB_STATUSES,
  UNFINISHED_CAMPAIGN_STATUSES,
} from "./policy";

/** The most jobs one run may have: bounds the creating transaction and the enqueue fan-out. */
export const MAX_CAMPAIGN_JOBS = 20_000;
/** Leads per INSERT … SELECT while creating a run. */
export const JOB_INSERT_CHUNK = 2_500;
/** A valid phone for dialing: E.164 (what the lead book stores after normalising). */

export type Campaign = typeof outboundCallRuns.$inferSelect;

/** Who a run dials: see ../services/audience.ts. */
export const audienceSchema = sharedAudienceSchema(MAX_CAMPAIGN_JOBS);

export const scheduleSchema = z
  .object({
    /** Dial no earlier than this. */
    start: isoDateTime.optional(),
    /** Dial no later than this: jobs still waiting then are cancelled and the run finishes. */
    end: isoDateTime.optional(),
    /** Dial only within the business's working hours (settings), in its time zone. */
    businessHours: z.boolean().default(false),
  })
  .strict()
  .refine((s) => !s.start || !s.end || new Date(s.start) < new Date(s.end), {
    path: ["end"],
    message: "must be after start",
  })
  .refine((s) => !s.end || new Date(s.end) > new Date(), { path: ["end"], message: "must be in the future" });

export const createCampaignSchema = z
  .object({
    name: z.string().trim().min(1, "must not be empty").max(200),
    audience: audienceSchema,
    schedule: scheduleSchema.optional(),
    /** Calls per lead at most: no-answer and busy are dialed again until this many calls were placed. */
    maxAttempts: z.number().int().min(1).max(10).default(1),
    /** Spacing between a no-answer/busy call and the next attempt. */
    retryDelaySeconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 86_400)
      .default(600),
  })
  .strict();
export type CreateCampaignInput = z.infer<typeof createCampaignSchema>;

export const listCampaignsQuery = z
  .object({
    status: z.enum(campaignStatuses).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    /** The last id of the previous page. */
    cursor: z.coerce.number().int().positive().max(MAX_ID).optional(),
  })
  .strict();

/** Whether a run dials only in working hours (recorded with its audience when it was created). */
export function usesBusinessHours(campaign: Pick<Campaign, "audience">): boolean {
  return (campaign.audience as { businessHoursOnly?: unknown } | null)?.businessHoursOnly === true;
}

export interface CreatedCampaign {
  campaign: Campaign;
  jobs: DialTarget[];
  /** Explicit lead ids that are not leads of this business. */
  notFound: number[];
  /** When the first dial may happen (window start, working hours), or null for now. */
  notBefore: Date | null;
}

export async function createCampaign(
  db: Database,
  input: {
    businessId: number;
    userId: number | null;
    body: CreateCampaignInput;
    /** For a working-hours run: the hours and the business's time zone. */
    hours?: { workingHours: WorkingHours | null; timezone: string };
    now?: Date;
  },
): Promise<CreatedCampaign> {
  const { businessId, body } = input;
  const now = input.now ?? new Date();
  const businessHours = body.schedule?.businessHours ?? false;
  if (businessHours && hasNoHours(input.hours?.workingHours ?? null)) {
    throw new ApiError("validation_failed", "Invalid body: schedule.businessHours", {
      fields: [
        { field: "schedule.businessHours", message: "the business has no working hours set (PATCH /api/settings)" },
      ],
    });
  }
  const windowStart = body.schedule?.start ? new Date(body.schedule.start) : null;
  const windowEnd = body.schedule?.end ? new Date(body.schedule.end) : null;
  let notBefore = windowStart && windowStart > now ? windowStart : null;
  if (businessHours && input.hours) {
    const opening = nextOpening(input.hours.workingHours, notBefore ?? now, input.hours.timezone);
    if (opening && opening > (notBefore ?? now)) notBefore = opening;
  }
  const where = audienceWhere(businessId, body.audience);

  return db.transaction(async (tx) => {
    const [created] = await tx
      .insert(outboundCallRuns)
      .values({
        businessId,
        name: body.name,
        status: "queued",
        createdByUserId: input.userId,
        audience: { ...body.audience, ...(businessHours ? { businessHoursOnly: true } : {}) },
        maxAttempts: body.maxAttempts,
        retryDelaySeconds: body.retryDelaySeconds,
        windowStart,
        windowEnd,
      })
      .returning();
    const run = created!;

    const jobs: DialTarget[] = [];
    let afterLeadId = 0;
    for (;;) {
      const inserted = await tx.execute<{ id: number; lead_id: number }>(sql`
        INSERT INTO outbound_call_jobs (run_id, business_id, lead_id, phone_e164, next_attempt_at)
        SELECT ${run.id}, ${leads.businessId}, ${leads.id}, ${leads.phoneE164}, ${notBefore?.toISOString() ?? null}::timestamptz
        FROM ${leads}
        WHERE ${and(...where, sql`${leads.phoneE164} ~ ${E164_SQL}`, sql`${leads.id} > ${afterLeadId}`)}
        ORDER BY ${leads.id}
        LIMIT ${JOB_INSERT_CHUNK}
        ON CONFLICT DO NOTHING
        RETURNING id, lead_id`);
      for (const row of inserted.rows) {
        jobs.push({ jobId: Number(row.id), businessId });
        afterLeadId = Math.max(afterLeadId, Number(row.lead_id));
      }
      if (jobs.length > MAX_CAMPAIGN_JOBS) {
        throw new ApiError(
          "validation_failed",
          `Invalid body: audience matches more than ${MAX_CAMPAIGN_JOBS} leads with a phone; narrow it down`,
          { fields: [{ field: "audience", message: `matches more than ${MAX_CAMPAIGN_JOBS} leads with a phone` }] },
        );
      }
      if (inserted.rows.length < JOB_INSERT_CHUNK) break;
    }

    const [noPhone] = await tx
      .select({ count: sql<number>`count(*)::int` })
      .from(leads)
      .where(and(...where, sql`(${leads.phoneE164} IS NULL OR ${leads.phoneE164} !~ ${E164_SQL})`));
    const skipped = noPhone?.count ?? 0;

    let notFoundIds: number[] = [];
    if (body.audience.leadIds) {
      const ids = [...new Set(body.audience.leadIds)];
      const found = await tx
        .select({ id: leads.id })
        .from(leads)
        .where(and(...audienceWhere(businessId, { leadIds: ids })));
      const foundIds = new Set(found.map((r) => r.id));
      notFoundIds = ids.filter((id) => !foundIds.has(id));
    }

    if (jobs.length === 0) {
      // Throwing rolls the transaction back: a refused run writes nothing.
      throw new ApiError("validation_failed", "Invalid body: audience", {
        fields: [
          {
            field: "audience",
            message:
              skipped > 0
                ? `matches ${skipped} lead(s), none with a valid phone number`
                : "matches no lead of this business",
          },
        ],
      });
    }
    const [updated] = await tx
      .update(outboundCallRuns)
      .set({ totalJobs: jobs.length, skippedLeads: skipped, updatedAt: sql`now()` })
      .where(eq(outboundCallRuns.id, run.id))
      .returning();
    return { campaign: updated!, jobs, notFound: notFoundIds, notBefore };
  });
}

/** Queues a new campaign's jobs; if that fails, it is marked failed with the reason (resume retries). */
export async function enqueueCampaign(
  db: Database,
  env: import("../env").Env,
  created: CreatedCampaign,
): Promise<void> {
  try {
    await enqueueDialJobs(env, created.jobs, delayUntil(created.notBefore, new Date()));
  } catch (err) {
    const reason = `queueing the campaign's jobs failed (${err instanceof Error ? err.message : String(err)}); resume the campaign to queue them again`;
    await failCampaignRun(db, created.campaign.id, reason);
    throw new ApiError("service_unavailable", `The campaign was created but not started: ${reason}`, {
      campaignId: created.campaign.id,
    });
  }
}

// ---- progress ---------------------------------------------------------------------------------

export type JobCounts = Record<
  "queued" | "dialing" | "inCall" | "completed" | "noAnswer" | "busy" | "failed" | "cancelled",
  number
>;

const countKey: Record<JobStatus, keyof JobCounts> = {
  queued: "queued",
  dialing: "dialing",
  in_call: "inCall",
  completed: "completed",
  no_answer: "noAnswer",
  busy: "busy",
  failed: "failed",
  cancelled: "cancelled",
};

const emptyCounts = (): JobCounts => ({
  queued: 0,
  dialing: 0,
  inCall: 0,
  completed: 0,
  noAnswer: 0,
  busy: 0,
  failed: 0,
  cancelled: 0,
});

/** Jobs by status for each run (one GROUP BY on the (run_id, status) index). */
export async function jobCounts(db: Database, runIds: number[]): Promise<Map<number, JobCounts>> {
  const result = new Map(runIds.map((id) => [id, emptyCounts()]));
  if (runIds.length === 0) return result;
  const rows = await db
    .select({ runId: outboundCallJobs.runId, status: outboundCallJobs.status, count: sql<number>`count(*)::int` })
    .from(outboundCallJobs)
    .where(inArray(outboundCallJobs.runId, runIds))
    .groupBy(outboundCallJobs.runId, outboundCallJobs.status);
  for (const row of rows) result.get(row.runId)![countKey[row.status]] += row.count;
  return result;
}

const activeKeys = ACTIVE_JOB_STATUSES.map((s) => countKey[s]);
const terminalKeys = TERMINAL_JOB_STATUSES.map((s) => countKey[s]);

export function campaignView(run: Campaign, counts: JobCounts, now = new Date()) {
  const done = terminalKeys.reduce((n, k) => n + counts[k], 0);
  const remaining = activeKeys.reduce((n, k) => n + counts[k], 0);
  let estimatedFinishAt: string | null = null;
  if (run.finishedAt) estimatedFinishAt = run.finishedAt.toISOString();
  else if ((run.status === "running" || run.status === "queued") && run.startedAt && done > 0) {
    // The pace so far (terminal jobs per second since the first dial), applied to what is left.
    const elapsedMs = Math.max(1, now.getTime() - run.startedAt.getTime());
    estimatedFinishAt = new Date(now.getTime() + (remaining * elapsedMs) / done).toISOString();
  }
  const { businessHoursOnly: _flag, ...audience } = (run.audience ?? {}) as Record<string, unknown>;
  return {
    id: run.id,
    name: run.name,
    status: run.status,
    audience,
    schedule: {
      start: run.windowStart?.toISOString() ?? null,
      end: run.windowEnd?.toISOString() ?? null,
      businessHours: usesBusinessHours(run),
    },
    maxAttempts: run.maxAttempts,
    retryDelaySeconds: run.retryDelaySeconds,
    totalJobs: run.totalJobs,
    skippedLeads: run.skippedLeads,
    jobs: { ...counts, done, remaining },
    activeCalls: counts.dialing + counts.inCall,
    lastError: run.lastError,
    createdByUserId: run.createdByUserId,
    createdAt: run.createdAt.toISOString(),
    startedAt: run.startedAt?.toISOString() ?? null,
    finishedAt: run.finishedAt?.toISOString() ?? null,
    estimatedFinishAt,
  };
}
export type CampaignView = ReturnType<typeof campaignView>;

export async function getCampaign(db: Database, businessId: number, campaignId: number): Promise<Campaign> {
  const [run] = await db
    .select()
    .from(outboundCallRuns)
    .where(and(eq(outboundCallRuns.id, campaignId), eq(outboundCallRuns.businessId, businessId)));
  if (!run) throw notFound("Campaign");
  return run;
}

export async function listCampaigns(db: Database, businessId: number, q: z.infer<typeof listCampaignsQuery>) {
  const where = [eq(outboundCallRuns.businessId, businessId)];
  if (q.status) where.push(eq(outboundCallRuns.status, q.status));
  if (q.cursor) where.push(lt(outboundCallRuns.id, q.cursor));
  const rows = await db
    .select()
    .from(outboundCallRuns)
    .where(and(...where))
    .orderBy(desc(outboundCallRuns.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const counts = await jobCounts(
    db,
    page.map((r) => r.id),
  );
  const now = new Date();
  return {
    campaigns: page.map((r) => campaignView(r, counts.get(r.id)!, now)),
    nextCursor: rows.length > q.limit ? String(page[page.length - 1]!.id) : null,
  };
}

// ---- pause, resume, cancel (the state changes themselves are in ./jobs.ts) ----------------------

async function refuseTransition(
  db: Database,
  businessId: number,
  campaignId: number,
  action: string,
  allowed: string[],
) {
  const campaign = await getCampaign(db, businessId, campaignId);
  return new ApiError(
    "conflict",
    `The campaign is ${campaign.status}; only ${allowed.join(" or ")} campaigns can be ${action}`,
    { status: campaign.status },
    409,
  );
}

export async function pauseCampaign(db: Database, businessId: number, campaignId: number): Promise<Campaign> {
  if (!(await pauseCampaignRun(db, businessId, campaignId)))
    throw await refuseTransition(db, businessId, campaignId, "paused", [...DIALING_CAMPAIGN_STATUSES]);
  return getCampaign(db, businessId, campaignId);
}

/**
 * Paused (or failed: e.g. PUBLIC_HOST was missing and is set now) → dialing again: the campaign's
 * waiting jobs are queued again, each when it is due. Messages from before the pause may still
 * arrive too; duplicates are harmless (one claim wins).
 */
export async function resumeCampaign(
  db: Database,
  env: import("../env").Env,
  businessId: number,
  campaignId: number,
): Promise<Campaign> {
  const waiting = await resumeCampaignRun(db, businessId, campaignId);
  if (!waiting) throw await refuseTransition(db, businessId, campaignId, "resumed", ["paused", "failed"]);
  await enqueueDialJobsAt(
    env,
    waiting.map((w) => ({ ...w, businessId })),
  );
  // Nothing left to dial (e.g. everything finished while paused): it is done.
  if (waiting.length === 0) await finishRunIfDone(db, campaignId);
  return getCampaign(db, businessId, campaignId);
}

/** Cancels the campaign and its waiting jobs; calls in progress finish. */
export async function cancelCampaign(
  db: Database,
  businessId: number,
  campaignId: number,
): Promise<{ campaign: Campaign; cancelledJobs: number }> {
  const cancelledJobs = await cancelCampaignRun(db, businessId, campaignId);
  if (cancelledJobs === null)
    throw await refuseTransition(db, businessId, campaignId, "cancelled", [...UNFINISHED_CAMPAIGN_STATUSES, "failed"]);
  return { campaign: await getCampaign(db, businessId, campaignId), cancelledJobs };
}

// ---- preview (before creating) ------------------------------------------------------------------

export const previewCampaignSchema = z.object({ audience: audienceSchema }).strict();

/**
 * How many leads a campaign with this audience would dial, and how many it would skip for lack of a
 * valid phone: the same conditions createCampaign applies, counted without writing anything.
 */
export async function previewCampaign(
  db: Database,
  businessId: number,
  input: z.infer<typeof previewCampaignSchema>,
): Promise<{ dial: number; skipped: number; maxJobs: number }> {
  const [row] = await db
    .select({
      dial: sql<number>`count(*) filter (where ${leads.phoneE164} ~ ${E164_SQL})::int`,
      skipped: sql<number>`count(*) filter (where ${leads.phoneE164} is null or ${leads.phoneE164} !~ ${E164_SQL})::int`,
    })
    .from(leads)
    .where(and(...audienceWhere(businessId, input.audience)));
  return { dial: row?.dial ?? 0, skipped: row?.skipped ?? 0, maxJobs: MAX_CAMPAIGN_JOBS };
}
