import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("RateLimiterDO token bucket", () => {
  it("allows the burst, refuses the next with a retry time, and refills over time", async () => {
    const limiter = env.RATE_LIMITER_DO.getByName(`test:${crypto.randomUUID()}`);
    const policy = { capacity: 3, refillPerSecond: 0.5 };
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) expect((await limiter.take(policy, 1, t0)).allowed).toBe(true);
    const refused = await limiter.take(policy, 1, t0);
    expect(refused).toEqual({ allowed: false, remaining: 0, retryAfterSeconds: 2 });
    expect((await limiter.take(policy, 1, t0 + 2_000)).allowed).toBe(true);
  });
});
