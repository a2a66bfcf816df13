/**
 * Sign-in throttling under attack (issue 10, finding 5) and the cost of an unknown email
 * (finding 11). The attack simulations drive the real RateLimiterDO objects with a simulated
 * clock (`nowMs`), so hours of attack run in a second, with no waiting.
 */
import { env } from "cloudflare:workers";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { admitSignIn, type SignInAttempt, signInSucceeded } from "../../worker/auth/login-guard";
import { createTenant, PASSWORD, type Tenant } from "./fixtures";
import { call, callWithSettings, errorOf, testDb } from "./helpers";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Whether the guard lets this attempt reach the password check at `nowMs`; the 429's wait if not. */
async function tryAt(attempt: SignInAttempt, nowMs: number): Promise<{ admitted: boolean; retryAfter: number }> {
  try {
    await admitSignIn(env, attempt, nowMs);
    return { admitted: true, retryAfter: 0 };
  } catch (err) {
    const details = (err as { details?: { retryAfterSeconds?: number } }).details;
    if (details?.retryAfterSeconds === undefined) throw err;
    return { admitted: false, retryAfter: details.retryAfterSeconds };
  }
}

function victim(): string {
  return `victim-${crypto.randomUUID().slice(0, 8)}@example.test`;
}

// Hundreds of Durable Object calls per simulated attack: seconds, since one account is one object
// and client addresses share a fixed set of objects (worker/auth/rate-limits.ts SPREAD_OVER).
describe("sign-in under attack (simulated clock, real Durable Objects)", { timeout: 180_000 }, () => {
  it("an attacker on one address at its full allowed rate for 6 hours never stops the real user signing in from another", async () => {
    const email = victim();
    const t0 = Date.UTC(2027, 0, 1);
    let attackerAdmitted = 0;
    let userRefusals = 0;
    let userTries = 0;
    // The attacker tries once a minute (the pace one address is allowed for one email) for 6 hours;
    // every 20 minutes the real user tries from an address never seen before (no device cookie).
    for (let ms = 0; ms <= 6 * HOUR; ms += MINUTE) {
      if ((await tryAt({ email, ip: "203.0.113.66" }, t0 + ms)).admitted) attackerAdmitted++;
      if (ms % (20 * MINUTE) === 0) {
        userTries++;
        const user = await tryAt({ email, ip: `198.18.${userTries}.1` }, t0 + ms);
        if (!user.admitted) userRefusals++;
      }
    }
    expect(userTries).toBe(19);
    expect(userRefusals).toBe(0);
    // The attacker was paced too: its burst of 5, then one guess a minute.
    expect(attackerAdmitted).toBeLessThanOrEqual(6 * 60 + 1);
    expect(attackerAdmitted).toBeGreaterThan(300);
  });

  it("a guessing run spread over thousands of addresses is slowed to ~30 guesses an hour, and the real user's device still signs in", async () => {
    const email = victim();
    const t0 = Date.UTC(2027, 0, 2);
    // The real user signed in from home last week: their browser holds a device cookie.
    const deviceToken = await signInSucceeded(env, { email, ip: "192.0.2.10" }, t0 - 7 * 24 * HOUR);
    let guesses = 0;
    const deviceOutcomes: boolean[] = [];
    const strangerWaits: number[] = [];
    // 3 hours, a guess every 20 s (180 an hour), each from a fresh address.
    for (let i = 0, ms = 0; ms <= 3 * HOUR; i++, ms += 20_000) {
      const ip = `10.${Math.floor(i / 250) % 250}.${i % 250}.7`;
      if ((await tryAt({ email, ip }, t0 + ms)).admitted) guesses++;
      if (ms % (15 * MINUTE) === 0 && ms > 0) {
        // The user on their own device (from a hotel network) …
        deviceOutcomes.push((await tryAt({ email, ip: `172.16.${i % 250}.9`, deviceToken }, t0 + ms)).admitted);
        // … and on a borrowed laptop (no cookie): a short wait, never an hours-long lockout.
        const stranger = await tryAt({ email, ip: `172.17.${i % 250}.9` }, t0 + ms);
        if (!stranger.admitted) strangerWaits.push(stranger.retryAfter);
      }
    }
    expect(guesses).toBeLessThanOrEqual(30 + 3 * 30 + 1);
    expect(deviceOutcomes).toHaveLength(12);
    expect(deviceOutcomes.every(Boolean)).toBe(true);
    for (const wait of strangerWaits) expect(wait).toBeLessThanOrEqual(120);
  });

  it("a good sign-in resets that client's counters and trusts its device, but does not refill the account's budget", async () => {
    const email = victim();
    const t0 = Date.UTC(2027, 0, 3);
    const home = { email, ip: "192.0.2.20" };
    for (let i = 0; i < 4; i++) expect((await tryAt(home, t0)).admitted).toBe(true);
    const deviceToken = await signInSucceeded(env, home, t0);
    // Four typos before, yet five fresh attempts after (not one).
    for (let i = 0; i < 5; i++) expect((await tryAt(home, t0 + 1000)).admitted).toBe(true);
    expect((await tryAt(home, t0 + 1000)).admitted).toBe(false);

    // A spread run empties the account's budget; the user's good sign-in does not refill it.
    for (let i = 0; i < 40; i++) await tryAt({ email, ip: `10.9.${i}.1` }, t0 + 2000);
    expect((await tryAt({ email, ip: "10.9.200.1" }, t0 + 3000)).admitted).toBe(false);
    await signInSucceeded(env, { email, ip: "192.0.2.21", deviceToken }, t0 + 3000);
    expect((await tryAt({ email, ip: "10.9.201.1" }, t0 + 3000)).admitted).toBe(false);
    expect((await tryAt({ email, ip: "192.0.2.21", deviceToken }, t0 + 3000)).admitted).toBe(true);
  });

  it("a forged or foreign device cookie is just a stranger", async () => {
    const email = victim();
    const other = victim();
    const t0 = Date.UTC(2027, 0, 4);
    const othersToken = await signInSucceeded(env, { email: other, ip: "192.0.2.30" }, t0);
    for (let i = 0; i < 40; i++) await tryAt({ email, ip: `10.8.${i}.1` }, t0);
    expect((await tryAt({ email, ip: "10.8.99.1", deviceToken: othersToken }, t0)).admitted).toBe(false);
    expect((await tryAt({ email, ip: "10.8.98.1", deviceToken: "made-up" }, t0)).admitted).toBe(false);
  });
});

describe("sign-in over HTTP with a device cookie", () => {
  const { db, close } = testDb();
  let tenant: Tenant;
  beforeAll(async () => {
    tenant = await createTenant(db, "Login guard business");
  });
  afterAll(close);

  function login(email: string, password: string, ip: string, cookie?: string) {
    return call("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", "CF-Connecting-IP": ip, ...(cookie ? { Cookie: cookie } : {}) },
      body: JSON.stringify({ email, password }),
    });
  }

  it("a spread guessing run locks out strangers for minutes while the user's own browser still signs in", async () => {
    const email = tenant.agent.email;
    const first = await login(email, PASSWORD, "192.0.2.40");
    expect(first.status).toBe(200);
    const setCookie = (first.headers as unknown as { getSetCookie(): string[] }).getSetCookie();
    const deviceCookie = setCookie.find((c) => c.startsWith("prosaas_device="))!;
    expect(deviceCookie).toContain("HttpOnly");
    expect(deviceCookie).toContain("SameSite=Strict");
    const device = deviceCookie.split(";")[0]!;
    for (let i = 0; i < 31; i++) await login(email, "wrong-guess-123", `10.7.${i}.1`);
    const stranger = await login(email, PASSWORD, "10.7.200.1");
    expect(stranger.status).toBe(429);
    expect(Number(stranger.headers.get("retry-after"))).toBeLessThanOrEqual(120);
    expect((await errorOf(stranger)).code).toBe("rate_limited");
    expect((await login(email, PASSWORD, "10.7.201.1", device)).status).toBe(200);
  });
});

describe("timing does not reveal which emails exist", () => {
  afterEach(() => vi.restoreAllMocks());

  it("an unknown email derives a key at the configured iterations, like a real account does", async () => {
    const spy = vi.spyOn(crypto.subtle, "deriveBits");
    const res = await callWithSettings({ PASSWORD_PBKDF2_ITERATIONS: "54321" }, "/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", "CF-Connecting-IP": "192.0.2.77" },
      body: JSON.stringify({ email: "nobody-here@example.test", password: "whatever-password" }),
    });
    expect(res.status).toBe(401);
    const iterations = spy.mock.calls.map(([params]) => (params as { iterations: number }).iterations);
    expect(iterations).toEqual([54321]);
  });
});
