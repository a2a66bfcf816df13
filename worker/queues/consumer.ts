/**
 * The Queue consumer: one switch on queue name. Each message is acked or retried on its own, so
 * one bad message never holds back (or replays) the rest of its batch. Delivery is at-least-once:
 * every handler must be idempotent.
 */
import { getConfig } from "../config";
import { type DbHandle, openDb } from "../db/client";
import { deadLetters } from "../db/schema";
import type { Env } from "../env";
import { log } from "../lib/log";
import { queueMessages } from "../metrics/registry";
import { type QueueKey, queueDefinitions, queueRole, retryDelaySeconds } from "./definitions";
import { type JobContext, type JobOutcome, PermanentJobError } from "./handler";
import { deadLetterHandlers, jobHandlers } from "./handlers";
import { type DeadLetterEnvelope, deadLetterEnvelope, isConcurrentJob, isJobType, jobs } from "./jobs";

type Validation = { ok: true; type: keyof typeof jobs; job: unknown } | { ok: false; reason: string };

function validateJob(queue: QueueKey, body: unknown): Validation {
  const type = (body as { type?: unknown } | null)?.type;
  if (!isJobType(type)) return { ok: false, reason: `unknown job type ${JSON.stringify(type ?? null)}` };
  const expectedQueue = jobs[type].queue;
  if (expectedQueue !== queue)
    return { ok: false, reason: `job type ${type} belongs on the ${expectedQueue} queue, not ${queue}` };
  const parsed = jobs[type].schema.safeParse(body);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`);
    return { ok: false, reason: `invalid ${type} job: ${fields.join("; ")}` };
  }
  return { ok: true, type, job: parsed.data };
}

async function sendToDeadLetter(env: Env, queue: QueueKey, msg: Message, reason: string): Promise<void> {
  const envelope: DeadLetterEnvelope = {
    deadLetter: { reason, queue: queueDefinitions[queue].name, originalMessageId: msg.id, attempts: msg.attempts },
    body: msg.body,
  };
  await env[queueDefinitions[queue].deadLetter.binding].send(envelope, { contentType: "json" });
}

async function processWorkMessage(queue: QueueKey, msg: Message, ctx: JobContext): Promise<void> {
  const validation = validateJob(queue, msg.body);
  if (!validation.ok) {
    log.warn("job rejected to dead-letter queue", { queue, messageId: msg.id, reason: validation.reason });
    await sendToDeadLetter(ctx.env, queue, msg, validation.reason);
    msg.ack();
    queueMessages.inc({ queue, outcome: "dead_letter" });
    return;
  }
  // validateJob parsed the body with this type's own schema, so the pairing is sound.
  const handler = jobHandlers[validation.type] as (job: unknown, ctx: JobContext) => Promise<JobOutcome | undefined>;
  try {
    const outcome = await handler(validation.job, ctx);
    if (outcome) {
      msg.retry({ delaySeconds: outcome.retryAfterSeconds });
      queueMessages.inc({ queue, outcome: "retry" });
      return;
    }
    msg.ack();
    queueMessages.inc({ queue, outcome: "ack" });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (err instanceof PermanentJobError) {
      await sendToDeadLetter(ctx.env, queue, msg, reason);
      msg.ack();
      queueMessages.inc({ queue, outcome: "dead_letter" });
      return;
    }
    // Transient (DB blip, upstream 5xx): back off. Once max_retries is spent, Queues moves the
    // message to this queue's dead-letter queue by itself.
    log.warn("job failed; will retry", {
      queue,
      type: validation.type,
      messageId: msg.id,
      attempts: msg.attempts,
      reason,
    });
    msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts) });
    queueMessages.inc({ queue, outcome: "retry" });
  }
}

async function processDeadLetter(queue: QueueKey, msg: Message, db: () => DbHandle["db"]): Promise<void> {
  const envelope = deadLetterEnvelope.safeParse(msg.body);
  const record = envelope.success
    ? {
        reason: envelope.data.deadLetter.reason,
        body: envelope.data.body,
        attempts: envelope.data.deadLetter.attempts,
        messageId: envelope.data.deadLetter.originalMessageId,
      }
    : {
        reason: `retries exhausted on ${queueDefinitions[queue].name}`,
        body: msg.body,
        attempts: msg.attempts,
        messageId: msg.id,
      };
  const jobType = (record.body as { type?: unknown } | null)?.type;
  // A job that failed for good may leave a record waiting (a message, a dial): let its type
  // close it — if the body is still a valid job of that type.
  if (isJobType(jobType) && deadLetterHandlers[jobType]) {
    const parsed = jobs[jobType].schema.safeParse(record.body);
    if (parsed.success) {
      const hook = deadLetterHandlers[jobType] as (job: unknown, reason: string, db: DbHandle["db"]) => Promise<void>;
      await hook(parsed.data, record.reason, db());
    }
  }
  await db()
    .insert(deadLetters)
    .values({
      queue: queueDefinitions[queue].name,
      jobType: typeof jobType === "string" ? jobType.slice(0, 200) : null,
      messageId: record.messageId,
      body: record.body ?? null,
      reason: record.reason,
      attempts: record.attempts,
    })
    .onConflictDoNothing();
  msg.ack();
  log.error("job dead-lettered", { queue, messageId: record.messageId, reason: record.reason });
}

export async function handleQueueBatch(batch: MessageBatch, env: Env): Promise<void> {
  const role = queueRole(batch.queue);
  if (!role) {
    // A queue bound in wrangler.toml but not declared in definitions.ts: a deploy mistake.
    log.error("batch from an undeclared queue; retrying so nothing is lost", { queue: batch.queue });
    batch.retryAll({ delaySeconds: 60 });
    return;
  }
  const config = getConfig(env);
  let handle: DbHandle | undefined;
  const db = () => {
    handle ??= openDb(config);
    return handle.db;
  };
  const handleOne = async (msg: Message) => {
    try {
      if (role.kind === "dead_letter") await processDeadLetter(role.key, msg, db);
      else
        await processWorkMessage(role.key, msg, { env, config, db, attempts: msg.attempts - 1, sentAt: msg.timestamp });
    } catch (err) {
      log.error("message handling failed", { queue: batch.queue, messageId: msg.id, error: String(err) });
      msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts) });
    }
  };
  // Most jobs run in turn (their order matters, e.g. sends to one customer); a few run side by
  // side with that sequence (a campaign dial may wait seconds for a slot and must not hold it up).
  const side = role.kind === "work" ? batch.messages.filter((m) => isConcurrentJob(m.body)) : [];
  const inTurn = batch.messages.filter((m) => !side.includes(m));
  try {
    await Promise.all([
      (async () => {
        for (const msg of inTurn) await handleOne(msg);
      })(),
      ...side.map(handleOne),
    ]);
  } finally {
    await handle?.close();
  }
}
