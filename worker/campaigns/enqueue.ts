/**
 * Putting dial jobs on the high-priority queue: many at once (run creation, resume) in
 * `sendBatch` calls of at most 100, several batches in flight; and the "kick" — when a call of a
 * business ends, its next due job is queued at once, so a freed slot is refilled without waiting
 * for the delayed messages of jobs that found every slot taken.
 *
 * A job may have more than one message in flight (a kick, a resume, a slot wait): that is safe,
 * because only the message that claims the job (atomic UPDATE … WHERE status='queued' AND
 * lock_token IS NULL) dials; the others find it claimed and are acked.
 */
import type { Database } from "../db/client";
import type { Env } from "../env";
import { enqueue, enqueueBatch } from "../queues/producer";
import { pickNextDueJobs } from "./jobs";
import { MAX_MESSAGE_DELAY_SECONDS } from "./policy";

export interface DialTarget {
  jobId: number;
  businessId: number;
}

/** Jobs per enqueueBatch call (each sends them in batches of 100), and how many run at once. */
const SLICE = 1000;
const PARALLEL_SLICES = 10;

/** Queues one dial message per job, all with the same delay. */
export async function enqueueDialJobs(env: Env, targets: DialTarget[], delaySeconds = 0): Promise<void> {
  const delay = Math.max(0, Math.min(MAX_MESSAGE_DELAY_SECONDS, Math.round(delaySeconds)));
  const options = delay > 0 ? { delaySeconds: delay } : undefined;
  const slices: DialTarget[][] = [];
  for (let i = 0; i < targets.length; i += SLICE) slices.push(targets.slice(i, i + SLICE));
  for (let i = 0; i < slices.length; i += PARALLEL_SLICES) {
    await Promise.all(
      slices.slice(i, i + PARALLEL_SLICES).map((slice) =>
        enqueueBatch(
          env,
          "outbound_call.dial",
          slice.map((t) => ({ type: "outbound_call.dial" as const, jobId: t.jobId, businessId: t.businessId })),
          options,
        ),
      ),
    );
  }
}

/** Queues jobs whose delays differ (resume, sweep): one enqueue per distinct delay. */
export async function enqueueDialJobsAt(env: Env, targets: (DialTarget & { delaySeconds: number })[]): Promise<void> {
  const byDelay = new Map<number, DialTarget[]>();
  for (const t of targets) {
    const list = byDelay.get(t.delaySeconds) ?? [];
    list.push(t);
    byDelay.set(t.delaySeconds, list);
  }
  for (const [delay, list] of byDelay) await enqueueDialJobs(env, list, delay);
}

/** One job, again, after a wait (no slot, not due yet, outside working hours). */
export function enqueueDialLater(env: Env, target: DialTarget, delaySeconds: number, slotWaits = 0): Promise<void> {
  const delay = Math.max(1, Math.min(MAX_MESSAGE_DELAY_SECONDS, Math.round(delaySeconds)));
  return enqueue(
    env,
    { type: "outbound_call.dial", jobId: target.jobId, businessId: target.businessId, slotWaits },
    { delaySeconds: delay },
  );
}

/**
 * Queues the business's next `limit` due jobs (of runs that may dial now) for immediate delivery
 * (see pickNextDueJobs). Returns the job ids queued.
 */
export async function kickNextJobs(db: Database, env: Env, businessId: number, limit = 1): Promise<number[]> {
  const result = await db.execute<{ id: number }>(pickNextDueJobs(businessId, limit));
  const ids = result.rows.map((r) => Number(r.id));
  if (ids.length > 0)
    await enqueueDialJobs(
      env,
      ids.map((jobId) => ({ jobId, businessId })),
    );
  return ids;
}
