/**
 * When a failed webhook delivery is tried again: exponential, ×3 per attempt from
 * WEBHOOK_BACKOFF_BASE_SECONDS, capped at 8 h, with ±20% jitter so that the retries of many
 * events (or of many businesses after one outage) spread out instead of arriving together.
 *
 * With the defaults (10 s, 11 attempts) the nominal schedule after the first attempt is
 * 10 s, 30 s, 1.5 min, 4.5 min, 13.5 min, 40.5 min, ~2 h, ~6 h, 8 h, 8 h: about 25 h in all,
 * then the event is marked failed (it can still be redelivered by hand).
 */
export const BACKOFF_FACTOR = 3;
export const BACKOFF_CAP_SECONDS = 8 * 3600;

/** The nominal delay before attempt `attempt + 1`, after `attempt` (≥ 1) failed ones. */
export function nominalRetryDelaySeconds(attempt: number, baseSeconds: number): number {
  return Math.min(BACKOFF_CAP_SECONDS, baseSeconds * BACKOFF_FACTOR ** Math.max(0, attempt - 1));
}

export function retryDelayMs(attempt: number, baseSeconds: number, random = Math.random): number {
  const nominal = nominalRetryDelaySeconds(attempt, baseSeconds) * 1000;
  return Math.max(0, Math.round(nominal * (1 + 0.2 * (random() * 2 - 1))));
}

/** The whole nominal schedule, for the docs and the report. */
export function retrySchedule(maxAttempts: number, baseSeconds: number): number[] {
  return Array.from({ length: Math.max(0, maxAttempts - 1) }, (_, i) => nominalRetryDelaySeconds(i + 1, baseSeconds));
}
