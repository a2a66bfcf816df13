/**
 * When a Durable Object's outbox row (a platform slot release, a call log update) is tried again
 * after `attempts` failures: 2 s, 4 s, … doubling, at most 5 minutes, so a peer that is away for a
 * while is not hammered and one that is back soon is caught up soon.
 */
export function outboxRetryDelayMs(attempts: number): number {
  return Math.min(300_000, 1000 * 2 ** Math.min(attempts, 9));
}
