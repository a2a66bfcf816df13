import type { Env } from "../env";
import { queueDefinitions } from "./definitions";
import { type JobInput, type JobType, jobs } from "./jobs";

function queueFor(env: Env, type: JobType): Queue {
  return env[queueDefinitions[jobs[type].queue].binding];
}

/** Validates a job with its schema and sends it to the queue that carries it. */
export async function enqueue<T extends JobType>(
  env: Env,
  job: JobInput<T> & { type: T },
  options?: QueueSendOptions,
): Promise<void> {
  const parsed = jobs[job.type].schema.parse(job);
  await queueFor(env, job.type).send(parsed, { contentType: "json", ...options });
}

/** Sends many jobs of one type in batches of 100 (the Queues sendBatch limit). */
export async function enqueueBatch<T extends JobType>(
  env: Env,
  type: T,
  batch: (JobInput<T> & { type: T })[],
  options?: QueueSendBatchOptions,
): Promise<void> {
  const queue = queueFor(env, type);
  const schema = jobs[type].schema;
  for (let i = 0; i < batch.length; i += 100) {
    const chunk = batch.slice(i, i + 100).map((job) => ({ body: schema.parse(job), contentType: "json" as const }));
    await queue.sendBatch(chunk, options);
  }
}
