/**
 * The queues, declared once: names, bindings, batch sizes, retries and dead-letter queues.
 * wrangler.toml must say the same (tests/node/wrangler-config.test.ts checks it), and the test
 * config derives its local consumers from here.
 *
 * high: dialing (latency matters) · default: WhatsApp messages and broadcasts ·
 * low: reminders, scheduled messages, exports, maintenance · media: media downloads.
 */
export const queueDefinitions = {
  high: {
    name: "prosaas-high",
    binding: "QUEUE_HIGH",
    deadLetter: { name: "prosaas-high-dlq", binding: "DLQ_HIGH" },
    maxBatchSize: 10,
    // Deliver at once: a freed call slot should be refilled now, not after a batching wait (the
    // campaign benchmark lost ~25% of the cap's throughput to a 1 s timeout).
    maxBatchTimeoutSeconds: 0,
    maxRetries: 10,
  },
  default: {
    name: "prosaas-default",
    binding: "QUEUE_DEFAULT",
    deadLetter: { name: "prosaas-default-dlq", binding: "DLQ_DEFAULT" },
    maxBatchSize: 25,
    maxBatchTimeoutSeconds: 2,
    maxRetries: 10,
  },
  low: {
    name: "prosaas-low",
    binding: "QUEUE_LOW",
    deadLetter: { name: "prosaas-low-dlq", binding: "DLQ_LOW" },
    maxBatchSize: 50,
    maxBatchTimeoutSeconds: 5,
    maxRetries: 10,
  },
  media: {
    name: "prosaas-media",
    binding: "QUEUE_MEDIA",
    deadLetter: { name: "prosaas-media-dlq", binding: "DLQ_MEDIA" },
    maxBatchSize: 10,
    maxBatchTimeoutSeconds: 2,
    maxRetries: 5,
  },
} as const;

export type QueueKey = keyof typeof queueDefinitions;
export const queueKeys = Object.keys(queueDefinitions) as QueueKey[];

/** Dead-letter consumers take a batch at a time and never retry forever. */
export const deadLetterConsumer = { maxBatchSize: 25, maxBatchTimeoutSeconds: 5, maxRetries: 3 } as const;

export type QueueRole = { kind: "work"; key: QueueKey } | { kind: "dead_letter"; key: QueueKey };

/** Which queue a batch came from, by its Cloudflare name. */
export function queueRole(queueName: string): QueueRole | null {
  for (const key of queueKeys) {
    const def = queueDefinitions[key];
    if (def.name === queueName) return { kind: "work", key };
    if (def.deadLetter.name === queueName) return { kind: "dead_letter", key };
  }
  return null;
}

/** Backoff for a failed attempt: 2^attempts seconds with ±20% jitter, capped. */
export function retryDelaySeconds(attempts: number, capSeconds = 300): number {
  const base = Math.min(capSeconds, 2 ** Math.max(1, attempts));
  const jitter = base * 0.2 * (Math.random() * 2 - 1);
  return Math.max(1, Math.round(base + jitter));
}
