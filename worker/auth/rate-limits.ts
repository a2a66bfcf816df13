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

/**
 * Presets keyed by client address are spread over a fixed number of objects (a bucket per address
 * inside each) rather than one object per address: an address seen once does not create an object
 * of its own, and a spread attack from thousands of addresses touches at most this many.
 */
const SPREAD_OVER: Partial<Record<RateLimitPreset, number>> = { loginIp: 64 };

/** The object and bucket that hold `key` under `preset`. */
function bucketOf(env: Env, preset: RateLimitPreset, key: string) {
  const spread = SPREAD_OVER[preset];
  if (!spread) return { limiter: env.RATE_LIMITER_DO.getByName(`${preset}:${key}`), bucket: "" };
  return { limiter: env.RATE_LIMITER_DO.getByName(`${preset}:${fnv1a(key) % spread}`), bucket: key };
}

/** FNV-1a: a fast, stable spread of keys over objects (not a security boundary). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Takes `cost` tokens for `key` under `preset`; throws a 429 ApiError when the bucket is short. */
export async function enforceRateLimit(
  env: Env,
  preset: RateLimitPreset,
  key: string,
  cost = 1,
  nowMs = Date.now(),
): Promise<void> {
  const { limiter, bucket } = bucketOf(env, preset, key);
  const policy = rateLimitPresets[preset];
  refuseUnless(preset, await limiter.take(policy, Math.min(cost, policy.capacity), nowMs, bucket));
}

/** Throws the one 429 (with Retry-After) when `result` was refused under `preset`. */
export function refuseUnless(preset: RateLimitPreset, result: { allowed: boolean; retryAfterSeconds: number }): void {
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
