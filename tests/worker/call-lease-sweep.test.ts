/**
 * Leases expire: a lost status callback never leaks a slot, and a live call is never freed. The
 * alarms run through runDurableObjectAlarm; "time passing" is the lease's expiry moved into the
 * past; Twilio's answers come from the fake Twilio REST server.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { businessObjectName, PLATFORM_CALLS_OBJECT_NAME } from "../../durable-objects/names";
import { callAdmission, platformCallSnapshot } from "../../worker/calls/admission";
import { fakeTwilio, randomCallSid } from "./calls-fixtures";
import { callWithSettings } from "./helpers";

let nextBusiness = 800_000;

async function confirmedLease(businessId = ++nextBusiness) {
  const admission = callAdmission(env, businessId);
  const r = await admission.reserve({ kind: "outbound", source: "direct" });
  if (!r.ok) throw new Error(`refused: ${r.refusal.message}`);
  const callSid = randomCallSid();
  expect(await admission.confirm(r.lease.leaseId, callSid)).toMatchObject({ confirmed: true });
  return {
    businessId,
    admission,
    leaseId: r.lease.leaseId,
    callSid,
    stub: env.BUSINESS_DO.getByName(businessObjectName(businessId)),
  };
}

/** Time passes: the lease is due for the sweep now. */
async function expireLease(businessId: number, leaseId: string): Promise<void> {
  await runInDurableObject(env.BUSINESS_DO.getByName(businessObjectName(businessId)), (_, state) => {
    state.storage.sql.exec("UPDATE call_leases SET expires_ms = ? WHERE lease_id = ?", Date.now() - 1, leaseId);
  });
}

const leaseOf = async (businessId: number, leaseId: string) =>
  (await callAdmission(env, businessId).snapshot()).leases.find((l) => l.leaseId === leaseId);
/** Calls of this business holding a slot, as the platform's snapshot reports them. */
const platformHolds = async (businessId: number) =>
  (await platformCallSnapshot(env)).byBusiness[String(businessId)] ?? 0;
const platform = () => env.CALL_CAPACITY_DO.getByName(PLATFORM_CALLS_OBJECT_NAME);
/** Slots the platform counts for this business (its calls and its idle slots). */
const platformSlotsOf = (businessId: number) =>
  runInDurableObject(
    platform(),
    (_, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM slots WHERE business_id = ?", businessId).one()
        .n,
  );
/** The platform slot a lease uses (the business's block). */
const slotOfLease = (businessId: number, leaseId: string) =>
  runInDurableObject(
    env.BUSINESS_DO.getByName(businessObjectName(businessId)),
    (_, state) =>
      state.storage.sql
        .exec<{ slot_id: string }>("SELECT slot_id FROM call_platform_slots WHERE lease_id = ?", leaseId)
        .one().slot_id,
  );

describe("lease expiry sweep", () => {
  it("a confirmed lease lives for ring timeout + call time limit + margin, with an alarm at or before that", async () => {
    const before = Date.now();
    const { businessId, leaseId, stub } = await confirmedLease();
    const lease = await leaseOf(businessId, leaseId);
    const full = (60 + 3600 + 120) * 1000;
    expect(lease!.expiresAt).toBeGreaterThanOrEqual(before + full);
    expect(lease!.expiresAt).toBeLessThanOrEqual(Date.now() + full);
    // Armed at the unconfirmed lease's ring timeout; that alarm finds nothing due and re-arms.
    const alarm = await runInDurableObject(stub, (_, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual(lease!.expiresAt);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await leaseOf(businessId, leaseId)).toBeDefined();
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBe(lease!.expiresAt);
    await callAdmission(env, businessId).release(leaseId);
  });

  it("frees a lease whose status callback never came, once Twilio says the call ended", async () => {
    const { businessId, leaseId, callSid, stub } = await confirmedLease();
    await fakeTwilio.script(callSid, { status: "completed" });
    expect(await platformHolds(businessId)).toBe(1);
    await expireLease(businessId, leaseId);

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await leaseOf(businessId, leaseId)).toBeUndefined();
    expect(await platformHolds(businessId)).toBe(0);
    expect(await fakeTwilio.lookups(callSid)).toBe(1);
  });

  it("keeps a live call's lease (Twilio says in-progress) and checks it again later", async () => {
    const { businessId, leaseId, callSid, stub } = await confirmedLease();
    await fakeTwilio.script(callSid, { status: "in-progress" });
    await expireLease(businessId, leaseId);

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const lease = await leaseOf(businessId, leaseId);
    expect(lease).toMatchObject({ callSid, lastStatus: "in-progress", failedChecks: 0 });
    // Checked again after CALL_LEASE_RECHECK_SECONDS (60 s), and the alarm is set for it.
    expect(lease!.expiresAt).toBeGreaterThan(Date.now() + 50_000);
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBe(lease!.expiresAt);
    expect(await platformHolds(businessId)).toBe(1);

    // The call ends; its callback is lost too: the next check frees it.
    await fakeTwilio.script(callSid, { status: "no-answer" });
    await expireLease(businessId, leaseId);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await leaseOf(businessId, leaseId)).toBeUndefined();
    expect(await platformHolds(businessId)).toBe(0);
    expect(await fakeTwilio.lookups(callSid)).toBe(2);
  });

  it("frees a lease never confirmed (no CallSid) after its ring timeout, without asking Twilio", async () => {
    const businessId = ++nextBusiness;
    const before = Date.now();
    const r = await callAdmission(env, businessId).reserve({ kind: "outbound", source: "bulk" });
    if (!r.ok) throw new Error("refused");
    expect(r.lease.expiresAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(r.lease.expiresAt).toBeLessThan(before + 120_000);
    await expireLease(businessId, r.lease.leaseId);
    expect(await runDurableObjectAlarm(env.BUSINESS_DO.getByName(businessObjectName(businessId)))).toBe(true);
    expect(await leaseOf(businessId, r.lease.leaseId)).toBeUndefined();
    expect(await platformHolds(businessId)).toBe(0);
  });

  it("frees a lease whose status cannot be checked after CALL_LEASE_MAX_FAILED_CHECKS (3) failures, not before", async () => {
    const { businessId, leaseId, callSid, stub } = await confirmedLease();
    await fakeTwilio.script(callSid, { httpStatus: 503 });
    for (const failedChecks of [1, 2]) {
      await expireLease(businessId, leaseId);
      expect(await runDurableObjectAlarm(stub)).toBe(true);
      expect(await leaseOf(businessId, leaseId)).toMatchObject({ failedChecks });
      expect(await platformHolds(businessId)).toBe(1);
    }
    await expireLease(businessId, leaseId);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await leaseOf(businessId, leaseId)).toBeUndefined();
    expect(await platformHolds(businessId)).toBe(0);
    expect(await fakeTwilio.lookups(callSid)).toBe(3);
  });

  it("frees a lease whose call Twilio does not know (404)", async () => {
    const { businessId, leaseId, callSid, stub } = await confirmedLease();
    await expireLease(businessId, leaseId);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await leaseOf(businessId, leaseId)).toBeUndefined();
    expect(await fakeTwilio.lookups(callSid)).toBe(1);
  });

  it("a lease its status callback released is not swept (or counted) again", async () => {
    const { businessId, leaseId, callSid, admission, stub } = await confirmedLease();
    await fakeTwilio.script(callSid, { status: "completed" });
    await expireLease(businessId, leaseId);
    await admission.release(callSid);
    expect(await leaseOf(businessId, leaseId)).toBeUndefined();
    // Its slot stays with the business, idle, for its next call: nothing for the platform to count.
    expect((await admission.snapshot()).platformSlots).toEqual({ held: 1, idle: 1 });
    const before = (await platformCallSnapshot(env)).freedTotal;
    await runDurableObjectAlarm(stub);
    expect((await platformCallSnapshot(env)).freedTotal).toEqual(before);
    expect(await fakeTwilio.lookups(callSid)).toBe(0);
    expect(await platformHolds(businessId)).toBe(0);
  });
});

describe("platform safety net (CallCapacityDO's own expiry)", () => {
  it("frees a platform slot whose business does not hold it", async () => {
    const businessId = ++nextBusiness;
    // A slot whose release never arrived (the business object never held it, or lost it).
    const slot = { slotId: "orphan-slot", businessId, kind: "outbound" as const, expiresMs: Date.now() + 60_000 };
    expect(await platform().acquire(slot)).toMatchObject({ ok: true });
    expect(await platformSlotsOf(businessId)).toBe(1);
    await runInDurableObject(platform(), (_, state) => {
      state.storage.sql.exec("UPDATE slots SET expires_ms = ? WHERE slot_id = ?", Date.now() - 1, slot.slotId);
    });
    expect(await runDurableObjectAlarm(platform())).toBe(true);
    expect(await platformSlotsOf(businessId)).toBe(0);
    expect((await platformCallSnapshot(env)).freedTotal.orphaned).toBeGreaterThanOrEqual(1);
  });

  it("keeps a platform slot its business still holds, adopting the lease's expiry", async () => {
    const { businessId, leaseId, admission } = await confirmedLease();
    const slotId = await slotOfLease(businessId, leaseId);
    await runInDurableObject(platform(), (_, state) => {
      state.storage.sql.exec("UPDATE slots SET expires_ms = ? WHERE slot_id = ?", Date.now() - 1, slotId);
    });
    expect(await runDurableObjectAlarm(platform())).toBe(true);
    expect(await platformHolds(businessId)).toBe(1);
    const expires = await runInDurableObject(
      platform(),
      (_, state) =>
        state.storage.sql.exec<{ e: number }>("SELECT expires_ms AS e FROM slots WHERE slot_id = ?", slotId).one().e,
    );
    const lease = await leaseOf(businessId, leaseId);
    expect(expires).toBeGreaterThan(lease!.expiresAt);
    await admission.release(leaseId);
    expect(await platformHolds(businessId)).toBe(0);
  });
});

describe("call metrics", () => {
  it("reports active calls per business and platform, and lease expiries by reason, from the objects", async () => {
    const { businessId, leaseId, callSid, stub } = await confirmedLease();
    const token = "metrics-token-for-calls-0123456789";
    const scrape = async () =>
      (
        await callWithSettings({ METRICS_TOKEN: token }, "/metrics", { headers: { Authorization: `Bearer ${token}` } })
      ).text();

    const live = await scrape();
    expect(live).toMatch(new RegExp(`prosaas_calls_active\\{business_id="${businessId}",kind="outbound"[^}]*\\} 1`));
    expect(live).toMatch(/prosaas_calls_platform_capacity\{[^}]*\} 50/);
    const ended = (text: string) =>
      Number(/prosaas_call_lease_expiries_total\{reason="ended"[^}]*\} (\d+)/.exec(text)?.[1]);
    const endedBefore = ended(live);

    await fakeTwilio.script(callSid, { status: "completed" });
    await expireLease(businessId, leaseId);
    await runDurableObjectAlarm(stub);
    const after = await scrape();
    expect(ended(after)).toBe(endedBefore + 1);
    expect(after).not.toMatch(new RegExp(`prosaas_calls_active\\{business_id="${businessId}"`));
  });
});
