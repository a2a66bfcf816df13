/**
 * Every job's zod schema and the queue that carries it. A message body is
 * `{ "type": "<job type>", ...payload }`; the consumer validates it here before any handler runs,
 * and a body that fails goes straight to the dead-letter path with the reason. Producers send
 * through `enqueue` (./producer.ts), which validates with the same schema.
 */
import { z } from "zod";
import type { QueueKey } from "./definitions";

/** Sweeps: how long a row may sit untouched before it counts as lost (minutes, default 10). */
const staleAfterMinutes = z
  .number()
  .int()
  .min(1)
  .max(24 * 60)
  .default(10);

export const purgeExpiredSessionsJob = z.object({
  type: z.literal("maintenance.purge_expired_sessions"),
  /** Sessions expired (or revoked) longer than this ago are deleted. */
  graceHours: z
    .number()
    .int()
    .min(0)
    .max(24 * 365)
    .default(24),
});

/** Send one persisted outgoing WhatsApp message (wa_outbound row) through the throttle and the shard. */
export const whatsappSendJob = z.object({ type: z.literal("whatsapp.send"), outboundId: z.number().int().positive() });

/**
 * The same, for a message a customer is waiting for (a reply, and what goes before it to that
 * customer): on the high queue, which delivers at once, so it does not wait behind a broadcast's
 * batch on the default queue. The send schedule picks the queue.
 */
export const whatsappSendUrgentJob = z.object({
  type: z.literal("whatsapp.send_urgent"),
  outboundId: z.number().int().positive(),
});

/** Re-queue outgoing messages whose queue message was lost. */
export const whatsappRequeueStaleJob = z.object({
  type: z.literal("whatsapp.requeue_stale"),
  olderThanMinutes: staleAfterMinutes,
});

/** Download one inbound message's media from WhatsApp (through its shard) into R2 (worker/whatsapp/media.ts). */
export const whatsappMediaDownloadJob = z.object({
  type: z.literal("whatsapp.media_download"),
  /** wa_messages.id */
  messageId: z.number().int().positive(),
});

/** Re-queue media downloads whose queue message was lost (still pending long after ingest). */
export const whatsappMediaSweepJob = z.object({
  type: z.literal("whatsapp.media_sweep"),
  olderThanMinutes: z
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(15),
});

/** Create (idempotently) the outgoing messages of one chunk of a broadcast's recipients. */
export const broadcastDispatchJob = z.object({
  type: z.literal("broadcast.dispatch"),
  broadcastId: z.number().int().positive(),
  leadIds: z.array(z.number().int().positive()).min(1).max(500),
});

/** Re-dispatch recipients of running broadcasts that never got their message (a lost dispatch job). */
export const broadcastSweepJob = z.object({
  type: z.literal("broadcast.sweep"),
  olderThanMinutes: staleAfterMinutes,
});

/** Claim due scheduled messages and queue their WhatsApp messages (each at most once). */
export const scheduledMessagesDispatchJob = z.object({
  type: z.literal("scheduled_messages.dispatch_due"),
  limit: z.number().int().min(1).max(1000).default(200),
});

/** Claim due appointment reminders and queue their WhatsApp messages (each at most once). */
export const remindersDispatchJob = z.object({
  type: z.literal("reminders.dispatch_due"),
  limit: z.number().int().min(1).max(1000).default(200),
});

/**
 * Dial one bulk-campaign job (an outbound_call_jobs row). `businessId` lets the consumer look at
 * the business's call slots before touching the database; the row stays the source of truth.
 * `slotWaits` counts how often the job already waited for a free slot (its backoff).
 */
export const outboundCallDialJob = z.object({
  type: z.literal("outbound_call.dial"),
  jobId: z.number().int().positive(),
  businessId: z.number().int().positive(),
  slotWaits: z.number().int().min(0).max(100_000).default(0),
});

const callLogUpdate = z.object({
  kind: z.literal("status").optional(),
  callLogId: z.number().int().positive().nullable(),
  callSid: z.string().nullable(),
  status: z.string().min(1),
  sequenceNumber: z.number().int().nullable(),
  durationSeconds: z.number().int().nullable(),
  at: z.string().nullable(),
  reason: z.string().nullable(),
});
const callDialedWrite = z.object({
  kind: z.literal("dialed"),
  callLogId: z.number().int().positive(),
  callSid: z.string().min(1),
  job: z.object({ id: z.number().int().positive(), lockToken: z.string().min(1) }).nullable(),
});
const inboundCallWrite = z.object({
  kind: z.literal("inbound"),
  businessId: z.number().int().positive(),
  callSid: z.string().min(1),
  from: z.string().nullable(),
  to: z.string().min(1),
  status: z.string().min(1),
  leaseId: z.string().nullable(),
  reason: z.string().nullable(),
  at: z.string(),
});

/**
 * Apply call log writes a business's object kept (durable-objects/business/call-log-outbox.ts) to
 * Postgres in one transaction, then acknowledge them to the object. `ids` are its rows.
 */
export const callLogWritesJob = z.object({
  type: z.literal("calls.log_writes"),
  businessId: z.number().int().positive(),
  ids: z.array(z.number().int().positive()).min(1).max(1000),
  writes: z
    .array(z.union([callDialedWrite, inboundCallWrite, callLogUpdate]))
    .min(1)
    .max(1000),
});

/** Settle campaign jobs left dialing or on a call by a crash or a lost callback; refill idle runs. */
export const outboundCallSweepJob = z.object({
  type: z.literal("outbound_call.sweep"),
  staleDialingMinutes: z.number().int().min(1).max(1440).default(10),
});

/**
 * Deliver a webhook subscription's due events, in order (worker/webhooks/deliver.ts). Many jobs
 * for one subscription are harmless: one consumer holds its lease, the others ack.
 */
export const webhookDeliverJob = z.object({
  type: z.literal("webhook.deliver"),
  subscriptionId: z.number().int().positive(),
});

/** Queue a deliver job for every subscription with due events and no live lease (lost kicks, dead consumers). */
export const webhookSweepJob = z.object({ type: z.literal("webhook.sweep") });

/**
 * Store as open the conversations whose snooze ran out (they already read as open; this tells open
 * dashboards, through the live hub). Up to `limit` per run; the next minute takes the rest.
 */
export const inboxWakeSnoozedJob = z.object({
  type: z.literal("inbox.wake_snoozed"),
  limit: z.number().int().min(1).max(5000).default(500),
});

export const jobs = {
  "maintenance.purge_expired_sessions": { queue: "low", schema: purgeExpiredSessionsJob },
  "whatsapp.send": { queue: "default", schema: whatsappSendJob },
  "whatsapp.send_urgent": { queue: "high", schema: whatsappSendUrgentJob },
  "whatsapp.requeue_stale": { queue: "low", schema: whatsappRequeueStaleJob },
  "whatsapp.media_download": { queue: "media", schema: whatsappMediaDownloadJob },
  "whatsapp.media_sweep": { queue: "media", schema: whatsappMediaSweepJob },
  // Side by side within a batch: a dial may wait seconds for a call slot (a standby, issue 16 #4).
  "outbound_call.dial": { queue: "high", schema: outboundCallDialJob, concurrent: true },
  "outbound_call.sweep": { queue: "low", schema: outboundCallSweepJob },
  // Calls' progress reaches dashboards from here: the fast lane.
  "calls.log_writes": { queue: "high", schema: callLogWritesJob },
  "broadcast.dispatch": { queue: "default", schema: broadcastDispatchJob },
  "broadcast.sweep": { queue: "low", schema: broadcastSweepJob },
  "scheduled_messages.dispatch_due": { queue: "low", schema: scheduledMessagesDispatchJob },
  "reminders.dispatch_due": { queue: "low", schema: remindersDispatchJob },
  // The default lane: a new queue would need its own wrangler.toml entries in every environment.
  "webhook.deliver": { queue: "default", schema: webhookDeliverJob },
  "webhook.sweep": { queue: "low", schema: webhookSweepJob },
  "inbox.wake_snoozed": { queue: "low", schema: inboxWakeSnoozedJob },
} as const satisfies Record<
  string,
  {
    queue: QueueKey;
    schema: z.ZodType<{ type: string }>;
    /** Handled side by side with the rest of its batch (which keeps its order), not in turn. */
    concurrent?: boolean;
  }
>;

export type JobType = keyof typeof jobs;
export type Job<T extends JobType = JobType> = { [K in T]: z.output<(typeof jobs)[K]["schema"]> }[T];
export type JobInput<T extends JobType = JobType> = { [K in T]: z.input<(typeof jobs)[K]["schema"]> }[T];

export function isJobType(type: unknown): type is JobType {
  return typeof type === "string" && Object.hasOwn(jobs, type);
}

/** Whether a message's job is handled side by side with its batch (see `concurrent` above). */
export function isConcurrentJob(body: unknown): boolean {
  const type = (body as { type?: unknown } | null)?.type;
  return isJobType(type) && "concurrent" in jobs[type] && jobs[type].concurrent === true;
}

/** What the dead-letter queues carry when we reject a job ourselves (not after exhausted retries). */
export const deadLetterEnvelope = z.object({
  deadLetter: z.object({
    reason: z.string(),
    queue: z.string(),
    originalMessageId: z.string(),
    attempts: z.number().int(),
  }),
  body: z.unknown(),
});
export type DeadLetterEnvelope = z.infer<typeof deadLetterEnvelope>;
