import { deliverSubscription, sweepDueDeliveries } from "../../webhooks/deliver";
import type { JobHandler } from "../handler";

/** Acks always: the delivery's own schedule (next_attempt_at) decides retries, not the queue's. */
export const webhookDeliver: JobHandler<"webhook.deliver"> = async (job, { db, env, config }) => {
  await deliverSubscription({ db: db(), env, config }, job.subscriptionId);
  return undefined;
};

export const webhookSweep: JobHandler<"webhook.sweep"> = async (_job, { db, env }) => {
  await sweepDueDeliveries(db(), env);
  return undefined;
};
