/**
 * Rate-limit presets (the old system's: login, password, webhook, TTS), each a token bucket in
 * RateLimiterDO keyed by what it limits. A refusal is a 429 with Retry-After.
 */

import type { BucketPolicy } from "../../durable-objects/rate-limiter-do";
import type { Env } from "../env";
import { ApiError } from "../errors";

export const rateLimitPresets = {
  /** Sign-in attempts per email from one client: 5, then one per minute. */
  loginEmailIp: { capacity: 5, refillPerSecond: 1 / 60 },
  /**
   * Sign-in attempts per email from anywhere: 30, then 30 an hour. Looser than the above, so one
   * stranger guessing cannot lock the real user out, while a spread-out guessing run still stops.
   */
  loginEmail: { capacity: 30, refillPerSecond: 30 / 3600 },
  /** Sign-in attempts per client IP: 20, then one every 15 s. */
  loginIp: { capacity: 20, refillPerSecond: 1 / 15 },
  /** Password changes per user: 5 per hour. */
  password: { capacity: 5, refillPerSecond: 5 / 3600 },
  /** Webhook deliveries per business: bursts of 200, 50/s sustained. */
  webhook: { capacity: 200, refillPerSecond: 50 },
  /** Text-to-speech renders per business: 30, then one every 2 s. */
  tts: { capacity: 30, refillPerSecond: 0.5 },
} as const satisfies Record<string, BucketPolicy>;

export type RateLimitPreset = keyof typeof rateLimitPresets;

/** Takes `cost` tokens for `key` under `preset`; throws a 429 ApiError when the bucket is short. */
export async function enforceRateLimit(env: Env, preset: RateLimitPreset, key: string, cost = 1): Promise<void> {
  const limiter = env.RATE_LIMITER_DO.getByName(`${preset}:${key}`);
  const result = await limiter.take(rateLimitPresets[preset], Math.min(cost, rateLimitPresets[preset].capacity));
  if (!result.allowed) {
    throw new ApiError(
      "rate_limited",
      `Too many attempts; try again in ${result.retryAfterSeconds} s`,
      { preset, retryAfterSeconds: result.retryAfterSeconds },
      429,
      { "Retry-After": String(result.retryAfterSeconds) },
    );
  }
}

export async function resetRateLimit(env: Env, preset: RateLimitPreset, key: string): Promise<void> {
  await env.RATE_LIMITER_DO.getByName(`${preset}:${key}`).reset();
}
