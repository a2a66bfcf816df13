/**
 * Cron triggers. Each cron expression in wrangler.toml maps to one task here; a task only
 * enqueues work (idempotent jobs), so an overlapping or repeated trigger is harmless.
 */
import type { Env } from "./env";
import { log } from "./lib/log";
import { enqueue } from "./queues/producer";

export const cronTasks: Record<string, (env: Env, controller: ScheduledController) => Promise<void>> = {
  // Daily at 03:17 UTC: delete sessions expired or revoked more than a day ago.
  "17 3 * * *": (env) => enqueue(env, { type: "maintenance.purge_expired_sessions", graceHours: 24 }),
  // Every 10 minutes: outgoing WhatsApp messages whose queue message was lost go back in the queue;
  // campaign jobs left dialing or on a call by a crash or a lost callback are settled; media
  // downloads whose queue message was lost are queued again.
  "*/10 * * * *": async (env) => {
    await enqueue(env, { type: "whatsapp.requeue_stale", olderThanMinutes: 10 });
    await enqueue(env, { type: "outbound_call.sweep", staleDialingMinutes: 10 });
    // Media downloads whose queue message was lost.
    await enqueue(env, { type: "whatsapp.media_sweep", olderThanMinutes: 15 });
  },
  // Every minute: due scheduled messages and appointment reminders (each claimed atomically and
  // sent under its own idempotency key, so overlapping runs send nothing twice), and broadcast
  // recipients whose dispatch job was lost.
  "* * * * *": async (env) => {
    await enqueue(env, { type: "scheduled_messages.dispatch_due", limit: 200 });
    await enqueue(env, { type: "reminders.dispatch_due", limit: 200 });
    await enqueue(env, { type: "broadcast.sweep", olderThanMinutes: 10 });
    // Webhook deliveries whose job was lost (or whose consumer died holding the lease).
    await enqueue(env, { type: "webhook.sweep" });
    // Snoozed conversations whose time has come (they already read as open; this tells dashboards).
    await enqueue(env, { type: "inbox.wake_snoozed", limit: 500 });
  },
};

export async function handleScheduled(controller: ScheduledController, env: Env): Promise<void> {
  const task = cronTasks[controller.cron];
  if (!task) {
    log.error("no task for cron trigger", { cron: controller.cron });
    return;
  }
  await task(env, controller);
}
