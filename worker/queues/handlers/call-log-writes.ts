/**
 * `calls.log_writes` (high queue): call log writes a business's object handed out in a batch — a
 * call's progress, writes a Worker could not apply after answering Twilio, the lease sweep's
 * settlements (durable-objects/business/call-log-outbox.ts). Applied in order in one transaction,
 * with what follows calls' ends (worker/calls/status-callback.ts), then acknowledged so the object
 * drops them. A failure retries the message; the object also hands them out again if no
 * acknowledgement comes. Applying twice is harmless (every write is idempotent).
 */
import { callAdmission } from "../../calls/admission";
import { recordCallLogWrites } from "../../calls/status-callback";
import type { JobHandler } from "../handler";

export const callLogWrites: JobHandler<"calls.log_writes"> = async (job, { db, env }) => {
  await recordCallLogWrites(db(), env, job.writes);
  await callAdmission(env, job.businessId).ackCallLogWrites(job.ids);
  return undefined;
};
