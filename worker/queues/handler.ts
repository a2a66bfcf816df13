import type { Config } from "../config";
import type { Database } from "../db/client";
import type { Env } from "../env";
import type { Job, JobType } from "./jobs";

export interface JobContext {
  env: Env;
  config: Config;
  /** The batch's database handle, opened on first use and closed after the batch. */
  db: () => Database;
  /** How many times this message was delivered before (0 on the first attempt). */
  attempts: number;
  /** When the message was sent (a redelivery keeps it). */
  sentAt: Date;
}

/**
 * What a handler returns: nothing (done → ack) or a request to try again later that is not a
 * failure of the job (e.g. no call slot free yet).
 */
export type JobOutcome = { retryAfterSeconds: number; reason: string };

export type JobHandler<T extends JobType> = (job: Job<T>, ctx: JobContext) => Promise<JobOutcome | undefined>;

/** Throw this for input that can never succeed: the job goes to the dead-letter path at once. */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PermanentJobError";
  }
}
