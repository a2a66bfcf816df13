/**
 * Who may try a password, and how often. The goals (issue 10, finding 5):
 *  - an attacker on one address, at the full rate that address is allowed, never stops the real
 *    user signing in from another: one client spends at most `loginEmailShare` (5 an hour) of the
 *    per-email budget, which refills faster (30 an hour);
 *  - a guessing run spread over many addresses is slowed to 30 guesses an hour for the account,
 *    and is not a lockout: a device the user signed in from before carries a device cookie and
 *    is judged only by its own bucket (the OWASP "device cookie" scheme), and strangers get a
 *    429 with a Retry-After of minutes, never hours;
 *  - a good sign-in resets that client's own buckets and (re)trusts its device; it does NOT
 *    refill the per-email budget, which would hand a spread attack a fresh 30 guesses.
 * Every step takes `nowMs`, so tests can run hours of attack against the real Durable Objects.
 */
import type { SignInPolicies } from "../../durable-objects/rate-limiter-do";
import type { Env } from "../env";
import { enforceRateLimit, type RateLimitPreset, rateLimitPresets, refuseUnless } from "./rate-limits";
import { hashToken } from "./session";

export const DEVICE_COOKIE = "prosaas_device";
export const DEVICE_TRUST_DAYS = 180;

export interface SignInAttempt {
  email: string;
  /** The client key: an IPv4 address or an IPv6 /64. */
  ip: string;
  /** The device cookie, if the browser sent one. */
  deviceToken?: string | undefined;
}

/** The account's buckets, by their presets in ./rate-limits.ts. */
const accountPolicies: SignInPolicies = {
  perClient: rateLimitPresets.loginEmailIp,
  clientShare: rateLimitPresets.loginEmailShare,
  account: rateLimitPresets.loginEmail,
  perDevice: rateLimitPresets.loginDevice,
};
const presetOf: Record<keyof SignInPolicies, RateLimitPreset> = {
  perClient: "loginEmailIp",
  clientShare: "loginEmailShare",
  account: "loginEmail",
  perDevice: "loginDevice",
};

/** One object per account holds all its sign-in buckets and trusted devices (see RateLimiterDO). */
function account(env: Env, email: string) {
  return env.RATE_LIMITER_DO.getByName(`login:${email}`);
}

async function deviceHashOf(attempt: SignInAttempt): Promise<string | null> {
  if (!attempt.deviceToken || attempt.deviceToken.length > 200) return null;
  return hashToken(attempt.deviceToken);
}

/** Throws a 429 (with Retry-After) when this attempt must not reach the password check. */
export async function admitSignIn(env: Env, attempt: SignInAttempt, nowMs = Date.now()): Promise<void> {
  await enforceRateLimit(env, "loginIp", attempt.ip, 1, nowMs);
  const verdict = await account(env, attempt.email).admitSignIn(
    { client: attempt.ip, deviceHash: await deviceHashOf(attempt) },
    accountPolicies,
    nowMs,
  );
  if (verdict.refusedBy) refuseUnless(presetOf[verdict.refusedBy], verdict);
}

/**
 * After a correct password: clears this client's counters and trusts its device. Returns the
 * device token to set as a cookie (a fresh one, so a stolen old cookie ages out).
 */
export async function signInSucceeded(env: Env, attempt: SignInAttempt, nowMs = Date.now()): Promise<string> {
  const token = crypto.randomUUID() + crypto.randomUUID();
  await account(env, attempt.email).signInSucceeded(
    attempt.ip,
    await hashToken(token),
    nowMs + DEVICE_TRUST_DAYS * 86_400_000,
    nowMs,
  );
  return token;
}
