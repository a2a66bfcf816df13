import { dispatchBroadcastChunk, sweepBroadcasts } from "../../services/broadcasts";
import type { JobHandler } from "../handler";

/** Creates one chunk of a broadcast's messages. Idempotent (see services/broadcasts.ts). */
export const broadcastDispatch: JobHandler<"broadcast.dispatch"> = async (job, { db, env }) => {
  await dispatchBroadcastChunk(db(), env, job.broadcastId, job.leadIds);
  return undefined;
};

/** Re-dispatches recipients whose dispatch job was lost. */
export const broadcastSweep: JobHandler<"broadcast.sweep"> = async (job, { db, env }) => {
  await sweepBroadcasts(db(), env, job.olderThanMinutes);
  return undefined;
};
