import { dispatchDueReminders } from "../../services/reminders";
import { dispatchDueScheduledMessages } from "../../services/scheduled-messages";
import type { JobHandler } from "../handler";

/**
 * The minute cron's work: claim what is due and create its WhatsApp messages. Both claims are
 * atomic and every message has its own idempotency key, so overlapping crons and redelivered
 * jobs send nothing twice (services/scheduled-messages.ts, services/reminders.ts).
 */
export const scheduledMessagesDispatch: JobHandler<"scheduled_messages.dispatch_due"> = async (job, { db, env }) => {
  await dispatchDueScheduledMessages(db(), env, job.limit);
  return undefined;
};

export const remindersDispatch: JobHandler<"reminders.dispatch_due"> = async (job, { db, env }) => {
  await dispatchDueReminders(db(), env, job.limit);
  return undefined;
};
