/**
 * Call admission through the Durable Objects (BusinessDO leases + CallCapacityDO platform cap),
 * driven the way the Worker drives it (worker/calls/admission.ts).
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type CallLease, callAdmission, platformCallSnapshot } from "../../worker/calls/admission";
import { randomCallSid } from "./calls-fixtures";

let nextBusiness = 900_000;

/** A release reaches the platform object in the background (the BusinessDO's outbox): wait for it. */
const expectPlatformActive = (n: number) =>
  vi.waitFor(async () => expect((await platformCallSnapshot(env)).active).toBe(n));
const newBusinessId = () => ++nextBusiness;

/** Leases a test took, released after it so the platform starts each test empty. */
const held: { businessId: number; leaseId: string }[] = [];

afterEach(async () => {
  await Promise.all(held.splice(0).map((h) => callAdmission(env, h.businessId).release(h.leaseId)));
  await expectPlatformActive(0);
});

async function reserveOutbound(businessId: number, source: "direct" | "bulk" = "direct", businessCap?: number) {
  const result = await callAdmission(env, businessId).reserve({ kind: "outbound", source, businessCap });
  if (result.ok) held.push({ businessId, leaseId: result.lease.leaseId });
  return result;
}

describe("call admission", () => {
  it("1,000 concurrent reserves across 20 businesses never exceed a business cap or the platform cap", async () => {
    const businessIds = Array.from({ length: 20 }, newBusinessId);
    const admittedBy = new Map<number, number>();
    const round = async (capOf: (index: number) => number) => {
      const results = await Promise.all(
        Array.from({ length: 500 }, (_, i) => {
          const index = i % 20;
          const businessId = businessIds[index]!;
          const source = i % 3 === 0 ? "bulk" : "direct";
          return reserveOutbound(businessId, source, capOf(index)).then((r) => ({ businessId, r }));
        }),
      );
      for (const { businessId, r } of results)
        if (r.ok) admittedBy.set(businessId, (admittedBy.get(businessId) ?? 0) + 1);
      return results.flatMap(({ r }) => (r.ok ? [] : [r.refusal]));
    };

    // Round 1 — 500 at once, business caps 1 (first ten) and 3 (the rest): 40 < 50, so only the
    // business caps bind, and each must hold exactly.
    const firstRefusals = await round((i) => (i < 10 ? 1 : 3));
    for (const [i, id] of businessIds.entries()) expect(admittedBy.get(id)).toBe(i < 10 ? 1 : 3);
    expect(firstRefusals).toHaveLength(460);
    expect(firstRefusals.every((r) => r.cap === "business" && r.active === r.limit)).toBe(true);

    // Round 2 — 500 more at once, every cap 3: the first ten want 20 more, the platform has room
    // for 10 (cap 50), exactly.
    const secondRefusals = await round(() => 3);
    const admitted = [...admittedBy.values()].reduce((a, b) => a + b, 0);
    expect(admitted).toBe(50);
    expect(Math.max(...admittedBy.values())).toBeLessThanOrEqual(3);
    expect(secondRefusals).toHaveLength(490);
    for (const refusal of secondRefusals) {
      if (refusal.cap === "business") expect(refusal).toMatchObject({ limit: 3, active: 3 });
      else expect(refusal).toMatchObject({ cap: "platform", limit: 50, active: 50 });
    }
    expect(secondRefusals.some((r) => r.cap === "platform")).toBe(true);

    // What the objects hold agrees with what they answered.
    const platform = await platformCallSnapshot(env);
    expect(platform.active).toBe(50);
    for (const id of businessIds) {
      const snap = await callAdmission(env, id).snapshot();
      expect(snap.outboundActive).toBe(admittedBy.get(id) ?? 0);
      expect(platform.byBusiness[String(id)] ?? 0).toBe(admittedBy.get(id) ?? 0);
      // Refused reservations were rolled back: nothing pending is left behind.
      expect(snap.leases.every((l) => l.state === "reserved")).toBe(true);
    }
  });

  it("50 simultaneous reserves for one business admit exactly its cap (the race a count-then-insert loses)", async () => {
    const businessId = newBusinessId();
    const results = await Promise.all(Array.from({ length: 50 }, () => reserveOutbound(businessId, "bulk")));
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect((await callAdmission(env, businessId).snapshot()).outboundActive).toBe(3);
    await expectPlatformActive(3);
  });

  it("direct and bulk calls share one business cap: with 1 direct call active, bulk starts only 2 more", async () => {
    const businessId = newBusinessId();
    expect((await reserveOutbound(businessId, "direct")).ok).toBe(true);
    const bulk = await Promise.all([1, 2, 3, 4].map(() => reserveOutbound(businessId, "bulk")));
    expect(bulk.filter((r) => r.ok)).toHaveLength(2);
    const refused = bulk.find((r) => !r.ok);
    expect(refused).toEqual({
      ok: false,
      refusal: { cap: "business", active: 3, limit: 3, message: "business cap 3 reached (3 active)" },
    });
    expect((await callAdmission(env, businessId).snapshot()).bySource).toEqual({ direct: 1, bulk: 2, inbound: 0 });
  });

  it("a release frees exactly one slot, at both caps; a duplicate release is harmless", async () => {
    const businessId = newBusinessId();
    const admission = callAdmission(env, businessId);
    const leases = [];
    for (let i = 0; i < 3; i++) {
      const r = await reserveOutbound(businessId);
      if (!r.ok) throw new Error("expected a lease");
      leases.push(r.lease);
    }
    expect((await reserveOutbound(businessId)).ok).toBe(false);
    const callSid = randomCallSid();
    expect(await admission.confirm(leases[0]!.leaseId, callSid)).toMatchObject({ confirmed: true });

    expect(await admission.release(callSid)).toEqual({ released: true, leaseId: leases[0]!.leaseId });
    expect((await admission.snapshot()).outboundActive).toBe(2);
    await expectPlatformActive(2);

    // The same release again (by CallSid, then by lease id): nothing else is freed.
    expect(await admission.release(callSid)).toEqual({ released: false });
    expect(await admission.release(leases[0]!.leaseId)).toEqual({ released: false });
    expect((await admission.snapshot()).outboundActive).toBe(2);
    await expectPlatformActive(2);

    // The freed slot is usable again, and only one.
    expect((await reserveOutbound(businessId)).ok).toBe(true);
    expect((await reserveOutbound(businessId)).ok).toBe(false);
  });

  it("a business cap from settings applies, and is never above the platform maximum", async () => {
    const small = newBusinessId();
    expect((await reserveOutbound(small, "direct", 1)).ok).toBe(true);
    expect(await reserveOutbound(small, "bulk", 1)).toMatchObject({
      ok: false,
      refusal: { cap: "business", limit: 1 },
    });

    const huge = newBusinessId();
    const r = await reserveOutbound(huge, "direct", 10_000);
    expect(r.ok && r.lease.businessCap).toBe(50);
  });

  it("inbound calls take a platform slot only: not limited by, nor counted in, the business cap", async () => {
    const businessId = newBusinessId();
    for (let i = 0; i < 3; i++) expect((await reserveOutbound(businessId)).ok).toBe(true);
    const admission = callAdmission(env, businessId);
    const callSid = randomCallSid();
    const inbound = await admission.reserve({ kind: "inbound", callSid });
    expect(inbound.ok).toBe(true);
    const lease = (inbound as { lease: CallLease }).lease;
    held.push({ businessId, leaseId: lease.leaseId });
    expect(lease).toMatchObject({ kind: "inbound", source: "inbound", callSid, businessActive: 3 });
    await expectPlatformActive(4);
    // Twilio retried the incoming webhook: the same CallSid is the same lease, not a second slot.
    const again = await admission.reserve({ kind: "inbound", callSid });
    expect(again.ok && again.lease.leaseId).toBe(lease.leaseId);
    await expectPlatformActive(4);
    // Outbound is still refused by the business cap.
    expect(await reserveOutbound(businessId)).toMatchObject({ ok: false, refusal: { cap: "business", active: 3 } });
  });

  it("a platform refusal rolls back the business's pending reservation", async () => {
    const filler = newBusinessId();
    const fillerAdmission = callAdmission(env, filler);
    for (let i = 0; i < 50; i++) {
      const r = await fillerAdmission.reserve({ kind: "inbound", callSid: randomCallSid() });
      if (!r.ok) throw new Error("filler refused");
      held.push({ businessId: filler, leaseId: r.lease.leaseId });
    }
    const businessId = newBusinessId();
    expect(await reserveOutbound(businessId)).toMatchObject({
      ok: false,
      refusal: { cap: "platform", active: 50, limit: 50, message: "platform cap 50 reached (50 active)" },
    });
    expect((await callAdmission(env, businessId).snapshot()).leases).toEqual([]);
    // Once the platform has room, the same business is admitted.
    await fillerAdmission.release(held.pop()!.leaseId);
    await expectPlatformActive(49);
    expect((await reserveOutbound(businessId)).ok).toBe(true);
  });

  it("a terminal status that arrives before the confirm frees the slot at the confirm", async () => {
    const businessId = newBusinessId();
    const admission = callAdmission(env, businessId);
    const r = await reserveOutbound(businessId);
    if (!r.ok) throw new Error("expected a lease");
    const callSid = randomCallSid();
    // The status callback released by CallSid before the service confirmed the lease with it.
    expect(await admission.release(callSid)).toEqual({ released: false });
    expect(await admission.confirm(r.lease.leaseId, callSid)).toEqual({ confirmed: false, reason: "call_ended" });
    expect((await admission.snapshot()).leases).toEqual([]);
    await expectPlatformActive(0);
  });

  it("a confirm of a lease already freed says so and holds nothing", async () => {
    const businessId = newBusinessId();
    const admission = callAdmission(env, businessId);
    const r = await reserveOutbound(businessId);
    if (!r.ok) throw new Error("expected a lease");
    await admission.release(r.lease.leaseId);
    expect(await admission.confirm(r.lease.leaseId, randomCallSid())).toEqual({ confirmed: false, reason: "not_held" });
    expect((await admission.snapshot()).leases).toEqual([]);
  });
});
