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
import type { Env } from "../env";
import { enforceRateLimit, requireRateLimitRoom, resetRateLimit, tryRateLimit } from "./rate-limits";
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

function devices(env: Env, email: string) {
  return env.RATE_LIMITER_DO.getByName(`loginDevices:${email}`);
}

async function knownDevice(env: Env, attempt: SignInAttempt, nowMs: number): Promise<string | null> {
  if (!attempt.deviceToken || attempt.deviceToken.length > 200) return null;
  const hash = await hashToken(attempt.deviceToken);
  return (await devices(env, attempt.email).isKnownClient(hash, nowMs)) ? hash : null;
}

/** Throws a 429 (with Retry-After) when this attempt must not reach the password check. */
export async function admitSignIn(env: Env, attempt: SignInAttempt, nowMs = Date.now()): Promise<void> {
  const { email, ip } = attempt;
  await enforceRateLimit(env, "loginIp", ip, 1, nowMs);
  const device = await knownDevice(env, attempt, nowMs);
  if (device) {
    await enforceRateLimit(env, "loginDevice", `${email}|${device}`, 1, nowMs);
    return;
  }
  await enforceRateLimit(env, "loginEmailIp", `${email}|${ip}`, 1, nowMs);
  // Within its share, a client spends from the account's budget; past it, it only needs the
  // budget not to be empty (its own loginEmailIp bucket already paces it).
  if (await tryRateLimit(env, "loginEmailShare", `${email}|${ip}`, nowMs)) {
    await enforceRateLimit(env, "loginEmail", email, 1, nowMs);
  } else {
    await requireRateLimitRoom(env, "loginEmail", email, nowMs);
  }
}

/**
 * After a correct password: clears this client's counters and trusts its device. Returns the
 * device token to set as a cookie (a fresh one, so a stolen old cookie ages out).
 */
export async function signInSucceeded(env: Env, attempt: SignInAttempt, nowMs = Date.now()): Promise<string> {
  const { email, ip } = attempt;
  await Promise.all([
    resetRateLimit(env, "loginEmailIp", `${email}|${ip}`),
    resetRateLimit(env, "loginEmailShare", `${email}|${ip}`),
  ]);
  const token = crypto.randomUUID() + crypto.randomUUID();
  await devices(env, email).rememberClient(await hashToken(token), nowMs + DEVICE_TRUST_DAYS * 86_400_000, 20, nowMs);
  return token;
}
