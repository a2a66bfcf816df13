import type { Database } from "../../db/client";
import { whatsappMediaDownload, whatsappMediaDownloadDeadLettered, whatsappMediaSweep } from "../../whatsapp/media";
import type { JobHandler } from "../handler";
import type { Job, JobType } from "../jobs";
import { broadcastDispatch, broadcastSweep } from "./broadcast-dispatch";
import { callLogWrites } from "./call-log-writes";
import { inboxWakeSnoozed } from "./inbox-wake-snoozed";
import { outboundCallDial, outboundCallDialDeadLettered, outboundCallSweep } from "./outbound-call-dial";
import { purgeExpiredSessions } from "./purge-expired-sessions";
import { remindersDispatch, scheduledMessagesDispatch } from "./scheduled-dispatch";
import { webhookDeliver, webhookSweep } from "./webhook-deliver";
import { requeueStaleOutbound, whatsappSend, whatsappSendDeadLettered } from "./whatsapp-send";

/** One handler per job type; the type system makes a missing one a compile error. */
export const jobHandlers: { [T in JobType]: JobHandler<T> } = {
  "maintenance.purge_expired_sessions": purgeExpiredSessions,
  "whatsapp.send": whatsappSend,
  "whatsapp.send_urgent": (job, ctx) => whatsappSend({ type: "whatsapp.send", outboundId: job.outboundId }, ctx),
  "whatsapp.requeue_stale": async (job, { db, env }) => {
    await requeueStaleOutbound(db(), env, job.olderThanMinutes);
    return undefined;
  },
  "whatsapp.media_download": whatsappMediaDownload,
  "whatsapp.media_sweep": whatsappMediaSweep,
  "outbound_call.dial": outboundCallDial,
  "outbound_call.sweep": outboundCallSweep,
  "calls.log_writes": callLogWrites,
  "broadcast.dispatch": broadcastDispatch,
  "broadcast.sweep": broadcastSweep,
  "scheduled_messages.dispatch_due": scheduledMessagesDispatch,
  "reminders.dispatch_due": remindersDispatch,
  "webhook.deliver": webhookDeliver,
  "webhook.sweep": webhookSweep,
  "inbox.wake_snoozed": inboxWakeSnoozed,
};

/**
 * What to do when a job of a type reaches the dead-letter queue (malformed or out of retries),
 * besides recording it: e.g. mark the record it was working on as failed, with the reason.
 */
export const deadLetterHandlers: Partial<{
  [T in JobType]: (job: Job<T>, reason: string, db: Database) => Promise<void>;
}> = {
  "whatsapp.send": (job, reason, db) => whatsappSendDeadLettered(db, job.outboundId, reason),
  "whatsapp.send_urgent": (job, reason, db) => whatsappSendDeadLettered(db, job.outboundId, reason),
  "outbound_call.dial": (job, reason, db) => outboundCallDialDeadLettered(db, job, reason),
  "whatsapp.media_download": (job, reason, db) => whatsappMediaDownloadDeadLettered(db, job.messageId, reason),
};
