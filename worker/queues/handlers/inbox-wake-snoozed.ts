/** The minute sweep of snoozes that ran out: stored as open, and each business's dashboards told. */
import { wakeSnoozed } from "../../inbox/status";
import { publishLive } from "../../live/publish";
import type { JobHandler } from "../handler";

export const inboxWakeSnoozed: JobHandler<"inbox.wake_snoozed"> = async (job, { db, env }) => {
  const woken = await wakeSnoozed(db(), job.limit);
  for (const { businessId, id } of woken)
    await publishLive(env, businessId, { type: "conversation", conversationId: id, change: "status" });
  return undefined;
};
