/**
 * The timing rules of bulk call campaigns, in one place: how long a job waits for a call slot,
 * how far a message may be delayed, and what a campaign's and its jobs' statuses mean.
 */
import type { campaignStatuses, outboundJobStatuses } from "../db/schema";

export type JobStatus = (typeof outboundJobStatuses)[number];
export type CampaignStatus = (typeof campaignStatuses)[number];

/** Campaigns whose jobs may be claimed and dialed now (within their window). */
export const DIALING_CAMPAIGN_STATUSES = ["queued", "running"] as const satisfies readonly CampaignStatus[];
/** Campaigns not finished: dialing, or paused with jobs still to dial. */
export const UNFINISHED_CAMPAIGN_STATUSES = [
  ...DIALING_CAMPAIGN_STATUSES,
  "paused",
] as const satisfies readonly CampaignStatus[];

/** Jobs not finished yet: waiting, being dialed, or on a call. */
export const ACTIVE_JOB_STATUSES = ["queued", "dialing", "in_call"] as const satisfies readonly JobStatus[];
export const TERMINAL_JOB_STATUSES = [
  "completed",
  "no_answer",
  "busy",
  "failed",
  "cancelled",
] as const satisfies readonly JobStatus[];

/** The longest delay a Queues message accepts (12 h); longer waits are re-deferred on arrival. */
export const MAX_MESSAGE_DELAY_SECONDS = 43_200;

/**
 * Waiting for a call slot. A 10,000-lead run at cap 3 waits for hours, so a wait is a fresh,
 * delayed message (never the queue's retry budget, which is for real failures). The delay grows
 * 2 s, 4 s, 8 s … to 30 min, with ±20% jitter so waiting jobs do not return in lockstep.
 *
 * The pace does not depend on these messages: every call that ends queues the business's next due
 * job at once (the "kick", ./enqueue.ts), so a freed slot is refilled in well under a second, and
 * the 10-minute sweep refills slots left idle. The waiting messages are a further safety net, and
 * a long cap keeps their cost down: a job at the back of a 10,000-lead queue is looked at about
 * twice an hour (a few dozen messages over a two-day campaign), not every few seconds.
 */
export const SLOT_WAIT_BASE_SECONDS = 2;
export const SLOT_WAIT_MAX_SECONDS = 1800;

export function slotWaitDelaySeconds(slotWaits: number, random = Math.random): number {
  const base = Math.min(SLOT_WAIT_MAX_SECONDS, SLOT_WAIT_BASE_SECONDS * 2 ** Math.min(slotWaits, 20));
  const jittered = base * (1 + 0.2 * (random() * 2 - 1));
  return Math.max(1, Math.min(SLOT_WAIT_MAX_SECONDS, Math.round(jittered)));
}

/**
 * With every slot taken, a dial waits this long in the business's object as a standby (at most
 * `cap` of them) before it goes back to the queue: when a call ends, a standby dials at once, so a
 * slot is not left idle for a queue round trip and a database connection (issue 16 #4: occupancy).
 * Short, because a waiting dial holds its queue batch (locally, the whole queue) until it is done;
 * calls longer than this are refilled by the kick and the waiting messages instead.
 */
export const STANDBY_WAIT_MS = 3_000;

/**
 * A bulk dial refused a Twilio creation time (the account's calls per second are booked) asks
 * again after the pacer's `retryAfterMs` for this long, holding its claimed job and its slot,
 * before it gives them back and waits in the queue. A direct call still goes first.
 */
export const CREATE_TURN_PATIENCE_MS = 5_000;

/** Seconds from `now` until `at` for a message delay: at least 0, at most the Queues maximum. */
export function delayUntil(at: Date | null, now: Date): number {
  if (!at) return 0;
  const seconds = Math.ceil((at.getTime() - now.getTime()) / 1000);
  return Math.max(0, Math.min(MAX_MESSAGE_DELAY_SECONDS, seconds));
}

/** Twilio's terminal call status → the job's final status. */
export function jobStatusForCall(callStatus: string): Exclude<JobStatus, "queued" | "dialing" | "in_call"> {
  switch (callStatus) {
    case "completed":
      return "completed";
    case "no-answer":
      return "no_answer";
    case "busy":
      return "busy";
    default:
      // failed, canceled, and our own "rejected": the call did not happen.
      return "failed";
  }
}

/** Outcomes the run's retry policy (max_attempts, retry_delay_seconds) applies to. */
export function isRetryableOutcome(callStatus: string): boolean {
  return callStatus === "no-answer" || callStatus === "busy";
}
