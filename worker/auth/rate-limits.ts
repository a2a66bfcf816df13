/**
 * Rate-limit presets (the old system's: login, password, webhook, TTS), each a token bucket in
 * RateLimiterDO keyed by what it limits. A refusal is a 429 with Retry-After.
 */

import type { BucketPolicy } from "../../durable-objects/rate-limiter-do";
import type { Env } from "../env";
import { ApiError } from "../errors";

export const rateLimitPresets = {
  /** Sign-in attempts per email from one client (IP, IPv6 /64): 5, then one per minute. */
  loginEmailIp: { capacity: 5, refillPerSecond: 1 / 60 },
  /**
   * How much of the per-email budget one client may spend: 5 an hour. An attacker on one address
   * at its full allowed rate (60 an hour) thus drains `loginEmail` slower than it refills, so it
   * can never lock the account for anyone else. See auth/login-guard.ts.
   */
  loginEmailShare: { capacity: 5, refillPerSecond: 5 / 3600 },
  /**
   * Sign-in attempts per email from clients it does not know: 30, then 30 an hour. Only a guessing
   * run spread over many addresses empties it, and then it slows that run to 30 guesses an hour.
   */
  loginEmail: { capacity: 30, refillPerSecond: 30 / 3600 },
  /** Sign-in attempts per email from a device that signed in to it before: its own 5, then 1/min. */
  loginDevice: { capacity: 5, refillPerSecond: 1 / 60 },
  /** Sign-in attempts per client IP: 20, then one every 15 s. */
  loginIp: { capacity: 20, refillPerSecond: 1 / 15 },
  /** Password changes per user: 5 per hour. */
  password: { capacity: 5, refillPerSecond: 5 / 3600 },
  /** Webhook deliveries per business: bursts of 200, 50/s sustained. */
  webhook: { capacity: 200, refillPerSecond: 50 },
  /** Requests per API key: bursts of 100, then 10 a second. */
  apiKey: { capacity: 100, refillPerSecond: 10 },
  /** Text-to-speech renders per business: 30, then one every 2 s. */
  tts: { capacity: 30, refillPerSecond: 0.5 },
} as const satisfies Record<string, BucketPolicy>;

export type RateLimitPreset = keyof typeof rateLimitPresets;

/** Takes `cost` tokens for `key` under `preset`; throws a 429 ApiError when the bucket is short. */
export async function enforceRateLimit(
  env: Env,
  preset: RateLimitPreset,
  key: string,
  cost = 1,
  nowMs = Date.now(),
): Promise<void> {
  const limiter = env.RATE_LIMITER_DO.getByName(`${preset}:${key}`);
  refuseUnless(
    preset,
    await limiter.take(rateLimitPresets[preset], Math.min(cost, rateLimitPresets[preset].capacity), nowMs),
  );
}

/** Takes one token if there is one; says whether it did (no 429). */
export async function tryRateLimit(env: Env, preset: RateLimitPreset, key: string, nowMs = Date.now()) {
  return (await env.RATE_LIMITER_DO.getByName(`${preset}:${key}`).take(rateLimitPresets[preset], 1, nowMs)).allowed;
}

/** Throws the 429 when `key` has no token left under `preset`, without taking one. */
export async function requireRateLimitRoom(env: Env, preset: RateLimitPreset, key: string, nowMs = Date.now()) {
  refuseUnless(
    preset,
    await env.RATE_LIMITER_DO.getByName(`${preset}:${key}`).peek(rateLimitPresets[preset], 1, nowMs),
  );
}

function refuseUnless(preset: RateLimitPreset, result: { allowed: boolean; retryAfterSeconds: number }): void {
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
