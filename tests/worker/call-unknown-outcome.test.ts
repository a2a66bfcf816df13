/**
 * Issue 10 #6 and #7 — calls whose news does not arrive the usual way:
 * - a Twilio create that creates the call and then cuts the connection is an UNKNOWN outcome: the
 *   slot and lease stay held, the log says `unknown`, nothing is retryable or redialed; the call's
 *   first status callback (its URL names the log and lease) or the lease sweep settles it;
 * - a status callback frees the slot while Postgres is down, and the log catches up after.
 * The fake Twilio (scripts/twilio-simulator/server.ts) creates the call and cuts the answer mid-body.
 */

import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CallLogOutbox, type HandOff } from "../../durable-objects/business/call-log-outbox";
import { businessObjectName } from "../../durable-objects/names";
import { callAdmission, platformCallSnapshot } from "../../worker/calls/admission";
import { type OutboundCallError, placeOutboundCall } from "../../worker/calls/place-outbound-call";
import { getConfig, parseConfig } from "../../worker/config";
import { businesses, callLogs } from "../../worker/db/schema";
import { createCallBusiness, fakeTwilio, PUBLIC_HOST, randomCallSid, signTwilio, uniqueNumber } from "./calls-fixtures";
import { createTenant, type Tenant } from "./fixtures";
import { call, callWithSettings, errorOf, testDb } from "./helpers";
import { uniquePhone } from "./phones";

const { db, close } = testDb();
afterAll(close);
const config = getConfig(env);

const stubOf = (businessId: number) => env.BUSINESS_DO.getByName(businessObjectName(businessId));
const logOf = async (id: number) => (await db.select().from(callLogs).where(eq(callLogs.id, id)))[0]!;
const platformHolds = async (businessId: number) =>
  (await platformCallSnapshot(env)).byBusiness[String(businessId)] ?? 0;

/** Posts a status callback to the exact URL Twilio was given, signed over it. */
async function statusCallback(
  callbackUrl: string,
  params: Record<string, string>,
  settings?: Record<string, string>,
): Promise<Response> {
  const signature = await signTwilio(callbackUrl, params);
  const u = new URL(callbackUrl);
  const init = {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature },
    body: new URLSearchParams(params).toString(),
  };
  return settings
    ? callWithSettings(settings, `${u.pathname}${u.search}`, init)
    : call(`${u.pathname}${u.search}`, init);
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

describe("a Twilio create whose answer never comes (issue 10 #6)", () => {
  let t: Tenant;
  beforeAll(async () => {
    t = await createTenant(db, "Unknown outcome business");
    await db.update(businesses).set({ twilioNumber: uniqueNumber() }).where(eq(businesses.id, t.businessId));
    await t.owner.request("PATCH", "/api/settings", { outboundCallCap: 1 });
  });

  it("created then cut off: slot and lease kept, log unknown, POST /api/calls not retryable, no second call; the first status callback adopts the CallSid", async () => {
    const phone = uniquePhone();
    const lead = (await (await t.agent.request("POST", "/api/leads", { firstName: "Cut", phone })).json()) as {
      lead: { id: number };
    };
    await fakeTwilio.cutCreate(phone);

    const res = await t.agent.request("POST", "/api/calls", { leadId: lead.lead.id });
    expect(res.status).toBe(502);
    const error = await errorOf(res);
    expect(error.code).toBe("upstream_failed");
    expect(error.details).toMatchObject({ retryable: false, outcome: "unknown" });
    const callLogId = (error.details as { callLogId: number }).callLogId;

    // Twilio did create it; we hold its slot (cap 1: the next call is refused, not dialed).
    const [created] = await fakeTwilio.calls(phone);
    expect(created).toBeDefined();
    const admission = callAdmission(env, t.businessId);
    const snap = await admission.snapshot();
    expect(snap.outboundActive).toBe(1);
    expect(snap.leases[0]).toMatchObject({ state: "unknown", callSid: null });
    expect(await logOf(callLogId)).toMatchObject({ status: "unknown", callSid: null });
    const again = await t.agent.request("POST", "/api/calls", { leadId: lead.lead.id });
    expect(again.status).toBe(409);
    expect(await fakeTwilio.calls(phone)).toHaveLength(1);

    // The call's first status callback (to the URL Twilio was given) adopts its CallSid.
    const callbackUrl = created!.params.StatusCallback as string;
    expect(callbackUrl).toContain(`callLogId=${callLogId}`);
    expect(callbackUrl.startsWith(`https://${PUBLIC_HOST}/`)).toBe(true);
    const ringing = await statusCallback(callbackUrl, {
      CallSid: created!.sid,
      CallStatus: "ringing",
      SequenceNumber: "1",
    });
    expect(ringing.status).toBe(204);
    expect((await admission.snapshot()).leases[0]).toMatchObject({ state: "confirmed", callSid: created!.sid });
    // The log hears of it from the business's object (a call's progress within two seconds).
    await vi.waitFor(
      async () => expect(await logOf(callLogId)).toMatchObject({ status: "ringing", callSid: created!.sid }),
      { timeout: 5_000 },
    );

    // Its end frees the slot.
    await statusCallback(callbackUrl, { CallSid: created!.sid, CallStatus: "completed", SequenceNumber: "3" });
    expect((await admission.snapshot()).leases).toEqual([]);
    await vi.waitFor(async () => expect(await logOf(callLogId)).toMatchObject({ status: "completed" }));
    await vi.waitFor(async () => expect(await platformHolds(t.businessId)).toBe(0));
  });

  it("no callback ever comes: the lease sweep finds the call at Twilio by To/From and adopts it", async () => {
    const business = await createCallBusiness(db, { outboundCallCap: 1 });
    const to = uniqueNumber();
    await fakeTwilio.cutCreate(to);
    const err = (await caught(
      placeOutboundCall({ db, env, config, businessId: business.id, leadId: null, toNumber: to, source: "bulk" }),
    )) as OutboundCallError;
    expect(err).toMatchObject({ code: "twilio_unknown_outcome", retryable: false });
    const [created] = await fakeTwilio.calls(to);
    await fakeTwilio.script(created!.sid, { status: "in-progress" });

    const stub = stubOf(business.id);
    await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec("UPDATE call_leases SET expires_ms = ?", Date.now() - 1);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const lease = (await callAdmission(env, business.id).snapshot()).leases[0];
    expect(lease).toMatchObject({ state: "confirmed", callSid: created!.sid, lastStatus: "in-progress" });
    // The call log learns the CallSid through the object's call-log outbox (progress: within two seconds).
    await vi.waitFor(
      async () => {
        if ((await logOf(err.callLogId!)).callSid === null) await runDurableObjectAlarm(stub);
        expect(await logOf(err.callLogId!)).toMatchObject({ callSid: created!.sid, status: "in-progress" });
      },
      { timeout: 5_000, interval: 100 },
    );
    expect(await platformHolds(business.id)).toBe(1);
    await callAdmission(env, business.id).release(created!.sid);
  });

  it("a create that never reached Twilio: the sweep proves the call absent after the ring timeout, frees the slot and fails the log", async () => {
    const business = await createCallBusiness(db, { outboundCallCap: 1 });
    const to = uniqueNumber();
    // Twilio unreachable from the caller: no answer at all, so the outcome is unknown too.
    const unreachable = parseConfig({ ...env, TWILIO_API_BASE_URL: "http://127.0.0.1:9" });
    const err = (await caught(
      placeOutboundCall({
        db,
        env,
        config: unreachable,
        businessId: business.id,
        leadId: null,
        toNumber: to,
        source: "direct",
      }),
    )) as OutboundCallError;
    expect(err).toMatchObject({ code: "twilio_unknown_outcome", retryable: false });
    const stub = stubOf(business.id);
    const expire = (createdMs: number) =>
      runInDurableObject(stub, (_, state) => {
        state.storage.sql.exec("UPDATE call_leases SET expires_ms = ?, created_ms = ?", Date.now() - 1, createdMs);
      });

    // Within the ring timeout, absence proves nothing yet: kept.
    await expire(Date.now() - 1000);
    await runDurableObjectAlarm(stub);
    expect((await callAdmission(env, business.id).snapshot()).leases).toMatchObject([{ state: "unknown" }]);
    expect(await platformHolds(business.id)).toBe(1);

    // After it, Twilio still has no such call: it was never placed.
    await expire(Date.now() - 61_000);
    await runDurableObjectAlarm(stub);
    expect((await callAdmission(env, business.id).snapshot()).leases).toEqual([]);
    expect(await platformHolds(business.id)).toBe(0);
    await vi.waitFor(async () => {
      if ((await logOf(err.callLogId!)).status === "unknown") await runDurableObjectAlarm(stub);
      expect(await logOf(err.callLogId!)).toMatchObject({ status: "failed", callSid: null });
    });
    expect((await logOf(err.callLogId!)).reason).toContain("not placed");
  });
});

describe("a status callback while Postgres is down (issue 10 #7)", () => {
  it("the Worker frees the slot and answers without Postgres; the business's object writes the update", async () => {
    const business = await createCallBusiness(db, { outboundCallCap: 1 });
    const to = uniqueNumber();
    const placed = await placeOutboundCall({
      db,
      env,
      config,
      businessId: business.id,
      leadId: null,
      toNumber: to,
      source: "direct",
    });
    if (!placed.ok) throw new Error(placed.refusal.message);
    const [created] = await fakeTwilio.calls(to);
    const callbackUrl = created!.params.StatusCallback as string;

    // The Worker handling the callback cannot reach Postgres (a dead port).
    const deadDatabase = { DATABASE_URL: "postgres://nobody:nothing@127.0.0.1:1/gone" };
    const res = await statusCallback(
      callbackUrl,
      { CallSid: placed.callSid, CallStatus: "completed", SequenceNumber: "4", CallDuration: "12" },
      deadDatabase,
    );
    expect(res.status).toBe(204);
    const admission = callAdmission(env, business.id);
    expect((await admission.snapshot()).leases).toEqual([]);
    await vi.waitFor(async () => expect(await platformHolds(business.id)).toBe(0));
    // A new call can take the slot at once.
    const next = await admission.reserve({ kind: "outbound", source: "bulk", businessCap: 1 });
    expect(next.ok).toBe(true);
    if (next.ok) await admission.release(next.lease.leaseId);
    // The update was kept by the business's object, which writes it with its own connection.
    await vi.waitFor(async () =>
      expect(await logOf(placed.callLogId)).toMatchObject({
        status: "completed",
        callSid: placed.callSid,
        durationSeconds: 12,
      }),
    );
    await vi.waitFor(async () => expect((await admission.snapshot()).pendingCallLogUpdates).toBe(0));
  });

  it("the object's call log writes: a call's writes go out together, in order; a failed hand-out waits with backoff", async () => {
    const business = await createCallBusiness(db);
    await callAdmission(env, business.id).snapshot();
    const sent: HandOff[] = [];
    let down = true;
    await runInDurableObject(stubOf(business.id), async (_, state) => {
      // An outbox on the object's own storage (a new business: its own outbox is empty and
      // unarmed), handing out to a queue that is away at first.
      const outbox = new CallLogOutbox(
        state.storage.sql,
        async () => {},
        async () => {},
      );
      outbox.handOffWith(async (handOff) => {
        if (down) throw new Error("queue unavailable");
        sent.push(handOff);
      });
      const kinds = (h: HandOff) => h.writes.map((w) => (w.kind === "dialed" ? "dialed" : `${w.kind ?? w.status}`));
      const sid = randomCallSid();
      const progress = {
        callLogId: 1,
        callSid: sid,
        status: "ringing",
        sequenceNumber: 1,
        durationSeconds: null,
        at: null,
        reason: null,
      };
      expect(await outbox.keep({ kind: "dialed", callLogId: 1, callSid: sid, job: null }, true)).toBeNull();
      expect(await outbox.keep(progress, true)).toBeNull();
      // Progress waits (batched with what follows)…
      expect(outbox.nextDue()).toBeGreaterThan(Date.now());
      // …and goes with the call's end, in order, to whoever took the end.
      const handed = await outbox.keep({ ...progress, status: "completed", sequenceNumber: 3 }, true);
      expect(handed && kinds(handed)).toEqual(["dialed", "ringing", "completed"]);
      // Not applied (given back): the flush hands them out, and while that fails they wait.
      outbox.takeBack(handed!.ids);
      await outbox.flush(Date.now());
      expect(sent).toEqual([]);
      expect(outbox.size()).toBe(3);
      expect(outbox.nextDue()).toBeGreaterThan(Date.now());

      down = false;
      await outbox.flush(Date.now() + 10_000);
      expect(sent.map(kinds)).toEqual([["dialed", "ringing", "completed"]]);
      // Handed out, not yet acknowledged: still here, not handed out again before the grace.
      expect(outbox.size()).toBe(3);
      await outbox.flush(Date.now() + 10_000);
      expect(sent).toHaveLength(1);
      outbox.ack(sent[0]!.ids);
      expect(outbox.size()).toBe(0);
    });
  });
});
