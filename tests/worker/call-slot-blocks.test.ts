/**
 * Platform slots held per business (its block, durable-objects/business/platform-block.ts): a
 * business's next call reuses the slot its last call freed without asking CallCapacityDO, yet the
 * platform cap holds over every block, idle slots go back, and a business is never refused for
 * slots others hold idle. Each test starts from empty objects (`reset`): the platform's memory of
 * contention would otherwise carry from one test to the next.
 */
import { abortAllDurableObjects, reset, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { IDLE_RETURN_MS } from "../../durable-objects/business/platform-block";
import { businessObjectName, PLATFORM_CALLS_OBJECT_NAME } from "../../durable-objects/names";
import { type CallLease, callAdmission, platformCallSnapshot } from "../../worker/calls/admission";
import { randomCallSid } from "./calls-fixtures";

const PLATFORM_CAP = 50;
let nextBusiness = 700_000;
const newBusinessId = () => ++nextBusiness;

const platform = () => env.CALL_CAPACITY_DO.getByName(PLATFORM_CALLS_OBJECT_NAME);
const businessStub = (businessId: number) => env.BUSINESS_DO.getByName(businessObjectName(businessId));

/** Slots the platform counts: every business's calls and idle slots (what the cap holds over). */
const platformSlots = (businessId?: number) =>
  runInDurableObject(platform(), (_, state) =>
    businessId === undefined
      ? state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM slots").one().n
      : state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM slots WHERE business_id = ?", businessId).one()
          .n,
  );
const acquireRequests = async () => (await platformCallSnapshot(env)).requests.acquire;

async function reserve(businessId: number, kind: "outbound" | "inbound" = "outbound"): Promise<CallLease | null> {
  const r =
    kind === "outbound"
      ? await callAdmission(env, businessId).reserve({ kind, source: "bulk" })
      : await callAdmission(env, businessId).reserve({ kind, callSid: randomCallSid() });
  return r.ok ? r.lease : null;
}
const release = (lease: CallLease) => callAdmission(env, lease.businessId).release(lease.leaseId);
const slotsOf = async (businessId: number) => (await callAdmission(env, businessId).snapshot()).platformSlots;

beforeEach(async () => {
  await reset();
});

describe("platform slot blocks", () => {
  it("a business's next call takes the slot its last call freed, without asking the platform", async () => {
    const businessId = newBusinessId();
    const first = await reserve(businessId);
    expect(first?.platformActive).toBe(1);
    await release(first!);
    expect(await slotsOf(businessId)).toEqual({ held: 1, idle: 1 });

    const asked = await acquireRequests();
    const second = await reserve(businessId);
    // Null: the platform was not asked.
    expect(second?.platformActive).toBeNull();
    expect(await acquireRequests()).toBe(asked);
    expect(await slotsOf(businessId)).toEqual({ held: 1, idle: 0 });
    expect(await platformSlots(businessId)).toBe(1);
    await release(second!);
  });

  it("keeps a burst's slots idle for its next calls, and gives them back once unused for IDLE_RETURN_MS", async () => {
    const businessId = newBusinessId();
    const leases = [await reserve(businessId), await reserve(businessId), await reserve(businessId)];
    expect(await platformSlots(businessId)).toBe(3);
    for (const lease of leases) await release(lease!);
    expect(await slotsOf(businessId)).toEqual({ held: 3, idle: 3 });
    // The next three calls at once reuse them: the platform is not asked again.
    const asked = await acquireRequests();
    const again = await Promise.all([reserve(businessId), reserve(businessId), reserve(businessId)]);
    expect(again.map((l) => l?.platformActive)).toEqual([null, null, null]);
    expect(await acquireRequests()).toBe(asked);
    for (const lease of again) await release(lease!);

    // The burst is over: once unused for IDLE_RETURN_MS, the business's alarm gives them all back.
    await runInDurableObject(businessStub(businessId), (_, state) => {
      state.storage.sql.exec("UPDATE call_platform_slots SET idle_since_ms = ?", Date.now() - IDLE_RETURN_MS);
    });
    expect(await runDurableObjectAlarm(businessStub(businessId))).toBe(true);
    expect(await slotsOf(businessId)).toEqual({ held: 0, idle: 0 });
    await vi.waitFor(async () => expect(await platformSlots(businessId)).toBe(0));
    expect((await platformCallSnapshot(env)).freedTotal.returned).toBe(3);
  });

  it("an idle slot goes back to the platform after IDLE_RETURN_MS (the business's alarm)", async () => {
    const businessId = newBusinessId();
    await release((await reserve(businessId))!);
    expect(await platformSlots(businessId)).toBe(1);
    // Time passes: the slot has been idle for IDLE_RETURN_MS.
    await runInDurableObject(businessStub(businessId), (_, state) => {
      state.storage.sql.exec("UPDATE call_platform_slots SET idle_since_ms = ?", Date.now() - IDLE_RETURN_MS);
    });
    expect(await runDurableObjectAlarm(businessStub(businessId))).toBe(true);
    expect(await slotsOf(businessId)).toEqual({ held: 0, idle: 0 });
    expect(await platformSlots(businessId)).toBe(0);
    expect((await platformCallSnapshot(env)).freedTotal.returned).toBe(1);
  });

  it("a business refused while others hold idle slots gets one at once: the platform reclaims them", async () => {
    // 30 businesses each keep one idle slot, 20 inbound calls hold the rest: the platform is full.
    const idleHolders = Array.from({ length: 30 }, newBusinessId);
    for (const id of idleHolders) await release((await reserve(id))!);
    const filler = newBusinessId();
    const inbound = await Promise.all(Array.from({ length: 20 }, () => reserve(filler, "inbound")));
    expect(inbound.every((l) => l !== null)).toBe(true);
    expect(await platformSlots()).toBe(PLATFORM_CAP);
    expect((await platformCallSnapshot(env)).active).toBe(20);

    const starved = newBusinessId();
    const lease = await reserve(starved);
    expect(lease).not.toBeNull();
    expect(await platformSlots()).toBeLessThanOrEqual(PLATFORM_CAP);
    const snap = await platformCallSnapshot(env);
    expect(snap.requests.reclaimRounds).toBe(1);
    expect(snap.freedTotal.reclaimed).toBe(30);
    for (const id of idleHolders) expect(await slotsOf(id)).toEqual({ held: 0, idle: 0 });

    // The rest of the platform fills with calls; a slot handed back is never used by its old holder.
    const rest = await Promise.all(Array.from({ length: PLATFORM_CAP - 21 }, () => reserve(filler, "inbound")));
    expect(rest.every((l) => l !== null)).toBe(true);
    expect(await Promise.all(idleHolders.map((id) => reserve(id)))).toEqual(idleHolders.map(() => null));
    expect(await platformSlots()).toBe(PLATFORM_CAP);
    expect((await platformCallSnapshot(env)).active).toBe(PLATFORM_CAP);
  });

  it("never exceeds the platform cap under concurrency across businesses with blocks in play", async () => {
    for (let round = 0; round < 3; round++) {
      // Each round from empty objects: 40 businesses keep an idle slot, 40 hold none.
      await reset();
      const warmed = Array.from({ length: 40 }, newBusinessId);
      for (const id of warmed) await release((await reserve(id))!);
      const fresh = Array.from({ length: 40 }, newBusinessId);
      // Two reserves per business (under its cap of 3), warmed and fresh interleaved, all at once.
      const order = [...warmed, ...fresh, ...fresh, ...warmed].sort(() => Math.random() - 0.5);
      const leases = await Promise.all(order.map((id) => reserve(id)));
      const admitted = leases.filter((l): l is CallLease => l !== null);
      expect(admitted).toHaveLength(PLATFORM_CAP);
      expect(await platformSlots()).toBe(PLATFORM_CAP);
      const byBusiness = new Map<number, number>();
      for (const l of admitted) byBusiness.set(l.businessId, (byBusiness.get(l.businessId) ?? 0) + 1);
      expect(Math.max(...byBusiness.values())).toBeLessThanOrEqual(2);
      expect((await platformCallSnapshot(env)).active).toBe(PLATFORM_CAP);
      await Promise.all(admitted.map(release));
      expect((await platformCallSnapshot(env)).active).toBe(0);
    }
  });

  it("once someone waited, a freed slot goes back to the platform (first come) instead of staying idle", async () => {
    const busy = newBusinessId();
    const busyLeases = [await reserve(busy), await reserve(busy), await reserve(busy)];
    const filler = newBusinessId();
    await Promise.all(Array.from({ length: PLATFORM_CAP - 3 }, () => reserve(filler, "inbound")));
    const waiting = newBusinessId();
    expect(await reserve(waiting)).toBeNull();

    await release(busyLeases[0]!);
    // Not kept idle for the busy business's next call: the platform is contended.
    expect(await slotsOf(busy)).toEqual({ held: 2, idle: 0 });
    await vi.waitFor(async () => expect(await platformSlots()).toBe(PLATFORM_CAP - 1));
    expect(await reserve(waiting)).not.toBeNull();
  });

  it("the platform's safety net keeps an idle slot its business holds, until it is due back", async () => {
    const businessId = newBusinessId();
    await release((await reserve(businessId))!);
    await runInDurableObject(platform(), (_, state) => {
      state.storage.sql.exec("UPDATE slots SET expires_ms = ?", Date.now() - 1);
    });
    expect(await runDurableObjectAlarm(platform())).toBe(true);
    expect(await platformSlots(businessId)).toBe(1);
    const expires = await runInDurableObject(
      platform(),
      (_, state) => state.storage.sql.exec<{ e: number }>("SELECT expires_ms AS e FROM slots").one().e,
    );
    expect(expires).toBeGreaterThan(Date.now() + IDLE_RETURN_MS / 2);
  });

  it("a business object restarted holds the same slots: the idle one still serves, nothing is counted twice", async () => {
    const businessId = newBusinessId();
    const held = await reserve(businessId);
    await release((await reserve(businessId))!);
    expect(await slotsOf(businessId)).toEqual({ held: 2, idle: 1 });
    // Every object loses its memory; storage stays.
    await abortAllDurableObjects();
    const asked = await acquireRequests();
    const again = await reserve(businessId);
    expect(again?.platformActive).toBeNull();
    expect(await acquireRequests()).toBe(asked);
    expect(await platformSlots(businessId)).toBe(2);
    expect((await platformCallSnapshot(env)).byBusiness[String(businessId)]).toBe(2);
    await release(held!);
    await release(again!);
  });
});
