/**
 * Issue 16 #4 — Twilio limits call creation per account (TWILIO_CALLS_PER_SECOND, 1 by default).
 * Dials never exceed it, and a direct call from an agent goes before bulk dials: CallCapacityDO's
 * pacer (durable-objects/call-capacity/create-pacer.ts) hands out creation times.
 */
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { CreatePacer } from "../../durable-objects/call-capacity/create-pacer";
import { callAdmission } from "../../worker/calls/admission";
import { placeOutboundCall } from "../../worker/calls/place-outbound-call";
import { parseConfig } from "../../worker/config";
import { createCallBusiness, fakeTwilio, uniqueNumber } from "./calls-fixtures";
import { testDb } from "./helpers";

const { db, close } = testDb();
afterAll(close);

describe("Twilio calls-per-second pacing", () => {
  it("the pacer spaces creations 1/CPS apart; bulk never books ahead of a direct call", () => {
    const pacer = new CreatePacer();
    const t0 = 1_000_000;
    // 2 per second: 500 ms apart.
    expect(pacer.take("bulk", 2, t0)).toEqual({ ok: true, at: t0, waitMs: 0 });
    expect(pacer.take("bulk", 2, t0)).toEqual({ ok: true, at: t0 + 500, waitMs: 500 });
    // The next free time is a full interval out: bulk is told to come back, and books nothing.
    expect(pacer.take("bulk", 2, t0 + 1)).toEqual({ ok: false, retryAfterMs: 499 });
    // A direct call books the next free time, however far.
    expect(pacer.take("direct", 2, t0 + 1)).toEqual({ ok: true, at: t0 + 1000, waitMs: 999 });
    expect(pacer.take("bulk", 2, t0 + 2)).toMatchObject({ ok: false });
    expect(pacer.take("bulk", 2, t0 + 1000)).toEqual({ ok: true, at: t0 + 1500, waitMs: 500 });
  });

  it("bulk dials hammering the account never exceed its calls per second, and a direct call placed meanwhile is not starved", async () => {
    const config = parseConfig({ ...env, TWILIO_CALLS_PER_SECOND: "2" });
    const business = await createCallBusiness(db, { outboundCallCap: 40 });
    const to = uniqueNumber();
    const place = (source: "direct" | "bulk") =>
      placeOutboundCall({ db, env, config, businessId: business.id, leadId: null, toNumber: to, source });

    let rateRefusals = 0;
    let bulkPlaced = 0;
    const until = Date.now() + 3_000;
    // Four campaign consumers dialing as fast as they are let, retrying when told to.
    const bulk = Array.from({ length: 4 }, async () => {
      while (Date.now() < until) {
        const r = await place("bulk");
        if (r.ok) bulkPlaced++;
        else {
          expect(r.refusal.cap).toBe("rate");
          rateRefusals++;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    });
    // An agent's call, a second into the storm.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const started = Date.now();
    const direct = await place("direct");
    const directMs = Date.now() - started;
    await Promise.all(bulk);

    expect(direct.ok).toBe(true);
    // At most two intervals (the bulk dial already given the next time, then its own) plus the work.
    expect(directMs).toBeLessThan(1_000 + 500);
    expect(rateRefusals).toBeGreaterThan(0);
    expect(bulkPlaced).toBeGreaterThanOrEqual(3);

    // Twilio's view: creations per wall-clock second never above 2.
    const calls = await fakeTwilio.calls(to);
    expect(calls.length).toBe(bulkPlaced + 1);
    const perSecond = new Map<string, number>();
    for (const c of calls) perSecond.set(c.createdAt, (perSecond.get(c.createdAt) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(2);

    const admission = callAdmission(env, business.id);
    await Promise.all(calls.map((c) => admission.release(c.sid)));
  });
});
