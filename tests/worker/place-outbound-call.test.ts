/**
 * placeOutboundCall — the one path direct calls and bulk campaigns dial through — against real
 * Postgres, the admission Durable Objects and the fake Twilio REST server (the real fetch path).
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { callAdmission } from "../../worker/calls/admission";
import {
  OutboundCallError,
  outboundCallErrorToApiError,
  placeOutboundCall,
  refusalToApiError,
} from "../../worker/calls/place-outbound-call";
import { TwilioApiError, twilioClient } from "../../worker/calls/twilio-client";
import { ConfigError, getConfig, parseConfig } from "../../worker/config";
import { callLogs, leads } from "../../worker/db/schema";
import { createCallBusiness, fakeTwilio, PUBLIC_HOST, postTwilio, uniqueNumber } from "./calls-fixtures";
import { testDb } from "./helpers";

const { db, close } = testDb();
afterAll(close);
const config = getConfig(env);

async function lead(businessId: number, phone = uniqueNumber()) {
  const [row] = await db.insert(leads).values({ businessId, phoneE164: phone, firstName: "Dana" }).returning();
  return row!;
}

const place = (businessId: number, toNumber: string, extra: Partial<Parameters<typeof placeOutboundCall>[0]> = {}) =>
  placeOutboundCall({ db, env, config, businessId, leadId: null, toNumber, source: "direct", ...extra });

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

describe("placeOutboundCall", () => {
  it("reserves, creates the call at Twilio with callbacks and limits, confirms, and logs it", async () => {
    const business = await createCallBusiness(db, { locale: "he-IL" });
    const l = await lead(business.id);
    const result = await place(business.id, l.phoneE164!, { leadId: l.id, createdByUserId: null });
    if (!result.ok) throw new Error(result.refusal.message);

    const [created] = await fakeTwilio.calls(l.phoneE164!);
    expect(created!.sid).toBe(result.callSid);
    expect(created!.params).toMatchObject({
      To: l.phoneE164,
      From: business.twilioNumber,
      // The callback URL names the call log, business and lease (Twilio signs it): the status
      // callback reaches the slot without Postgres.
      StatusCallback: `https://${PUBLIC_HOST}/twilio/voice/status?callLogId=${result.callLogId}&businessId=${business.id}&leaseId=${result.leaseId}`,
      StatusCallbackMethod: "POST",
      StatusCallbackEvent: ["initiated", "ringing", "answered", "completed"],
      Timeout: "60",
      TimeLimit: "3600",
    });
    expect(created!.params.Twiml).toContain('<Say language="he-IL"');

    const [row] = await db.select().from(callLogs).where(eq(callLogs.id, result.callLogId));
    expect(row).toMatchObject({
      businessId: business.id,
      leadId: l.id,
      direction: "outbound",
      source: "direct",
      status: "queued",
      callSid: result.callSid,
      leaseId: result.leaseId,
      fromNumber: business.twilioNumber,
      toNumber: l.phoneE164,
    });
    const snap = await callAdmission(env, business.id).snapshot();
    expect(snap.leases).toMatchObject([{ leaseId: result.leaseId, callSid: result.callSid, state: "confirmed" }]);

    // Its status callback (signed over the URL Twilio was given) ends it and frees the slot.
    const res = await postTwilio(`/twilio/voice/status?callLogId=${result.callLogId}`, {
      CallSid: result.callSid,
      CallStatus: "completed",
      SequenceNumber: "3",
      CallDuration: "12",
    });
    expect(res.status).toBe(204);
    expect((await callAdmission(env, business.id).snapshot()).leases).toEqual([]);
  });

  it("without PUBLIC_HOST: a ConfigError naming it (503 at the route), nothing reserved, no call made", async () => {
    const business = await createCallBusiness(db);
    const to = uniqueNumber();
    const noHost = parseConfig({ ...env, PUBLIC_HOST: "" });
    const err = await caught(
      placeOutboundCall({
        db,
        env,
        config: noHost,
        businessId: business.id,
        leadId: null,
        toNumber: to,
        source: "bulk",
      }),
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map((i) => i.variable)).toEqual(["PUBLIC_HOST"]);
    const api = outboundCallErrorToApiError(err)!;
    expect(api.status).toBe(503);
    expect(api.details).toEqual({ variables: ["PUBLIC_HOST"] });
    expect(await fakeTwilio.calls(to)).toEqual([]);
    expect((await callAdmission(env, business.id).snapshot()).leases).toEqual([]);
    expect(await db.select().from(callLogs).where(eq(callLogs.businessId, business.id))).toEqual([]);
  });

  it("direct and bulk share the business cap: after 1 direct call, bulk places 2, the next gets a typed refusal", async () => {
    const business = await createCallBusiness(db, { outboundCallCap: 3 });
    expect((await place(business.id, uniqueNumber())).ok).toBe(true);
    const bulk = [];
    for (let i = 0; i < 3; i++) bulk.push(await place(business.id, uniqueNumber(), { source: "bulk" }));
    expect(bulk.map((r) => r.ok)).toEqual([true, true, false]);
    const refused = bulk[2]!;
    if (refused.ok) throw new Error("expected a refusal");
    expect(refused.refusal).toMatchObject({ cap: "business", active: 3, limit: 3 });
    const api = refusalToApiError(refused.refusal);
    expect(api.status).toBe(409);
    expect(api.details).toEqual({ cap: "business", active: 3, limit: 3 });
    // Refused: no call at Twilio and no call log for it.
    expect(await db.select().from(callLogs).where(eq(callLogs.businessId, business.id))).toHaveLength(3);
  });

  it("uses the business's outbound_call_cap from its settings", async () => {
    const business = await createCallBusiness(db, { outboundCallCap: 1 });
    expect((await place(business.id, uniqueNumber())).ok).toBe(true);
    expect(await place(business.id, uniqueNumber())).toMatchObject({
      ok: false,
      refusal: { cap: "business", limit: 1 },
    });
  });

  it("Twilio refuses the call (4xx): slot released, log failed with Twilio's reason, a permanent error", async () => {
    const business = await createCallBusiness(db, { outboundCallCap: 1 });
    const to = uniqueNumber();
    await fakeTwilio.failCreate(to, {
      httpStatus: 400,
      code: 21215,
      message: "Geo Permission configuration is not permitting call",
    });
    const err = (await caught(place(business.id, to))) as OutboundCallError;
    expect(err).toBeInstanceOf(OutboundCallError);
    expect(err).toMatchObject({ code: "twilio_rejected", retryable: false, twilio: { httpStatus: 400, code: 21215 } });
    expect(outboundCallErrorToApiError(err)!.status).toBe(502);
    const [row] = await db.select().from(callLogs).where(eq(callLogs.id, err.callLogId!));
    expect(row!.status).toBe("failed");
    expect(row!.reason).toContain("21215");
    expect(row!.callSid).toBeNull();
    expect((await callAdmission(env, business.id).snapshot()).leases).toEqual([]);
    // The slot is free again: with cap 1, the next call goes through.
    expect((await place(business.id, uniqueNumber())).ok).toBe(true);
  });

  it("Twilio unavailable (5xx): slot released, a retryable error", async () => {
    const business = await createCallBusiness(db);
    const to = uniqueNumber();
    await fakeTwilio.failCreate(to, { httpStatus: 503, code: 20503, message: "Service Unavailable" });
    const err = (await caught(place(business.id, to, { source: "bulk" }))) as OutboundCallError;
    expect(err).toMatchObject({ code: "twilio_unavailable", retryable: true });
    expect((await callAdmission(env, business.id).snapshot()).leases).toEqual([]);
  });

  it("refuses bad input before taking a slot", async () => {
    const business = await createCallBusiness(db);
    const other = await createCallBusiness(db);
    const otherLead = await lead(other.id);
    expect(await caught(place(business.id, "0501234567"))).toMatchObject({ code: "invalid_number" });
    expect(await caught(place(business.id, otherLead.phoneE164!, { leadId: otherLead.id }))).toMatchObject({
      code: "lead_not_found",
    });
    expect(await caught(place(2_000_000_000, uniqueNumber()))).toMatchObject({ code: "business_not_found" });
    expect((await callAdmission(env, business.id).snapshot()).leases).toEqual([]);
  });

  it("a status callback that beats the confirm finds its log by the id in its URL and frees the lease", async () => {
    const business = await createCallBusiness(db);
    const admission = callAdmission(env, business.id);
    const reserved = await admission.reserve({ kind: "outbound", source: "direct" });
    if (!reserved.ok) throw new Error("refused");
    const [row] = await db
      .insert(callLogs)
      .values({
        businessId: business.id,
        direction: "outbound",
        source: "direct",
        status: "queued",
        leaseId: reserved.lease.leaseId,
      })
      .returning();
    const callSid = `CA${"b".repeat(32)}`.slice(0, 34);
    const res = await postTwilio(`/twilio/voice/status?callLogId=${row!.id}`, {
      CallSid: callSid,
      CallStatus: "failed",
      SequenceNumber: "0",
    });
    expect(res.status).toBe(204);
    expect((await db.select().from(callLogs).where(eq(callLogs.id, row!.id)))[0]).toMatchObject({
      callSid,
      status: "failed",
    });
    expect((await admission.snapshot()).leases).toEqual([]);
    // The confirm arriving afterwards holds nothing.
    expect(await admission.confirm(reserved.lease.leaseId, callSid)).toEqual({ confirmed: false, reason: "not_held" });
  });
});

describe("Twilio REST client", () => {
  it("fetches a call's status", async () => {
    const business = await createCallBusiness(db);
    const result = await place(business.id, uniqueNumber());
    if (!result.ok) throw new Error("refused");
    await fakeTwilio.script(result.callSid, { status: "in-progress" });
    expect(await twilioClient(config).fetchCall(result.callSid)).toMatchObject({
      sid: result.callSid,
      status: "in-progress",
    });
    await callAdmission(env, business.id).release(result.callSid);
  });

  it("classifies errors: 404 and bad credentials permanent with Twilio's code; 5xx and network errors retryable", async () => {
    const client = twilioClient(config);
    const notFound = (await caught(client.fetchCall(`CA${"0".repeat(32)}`))) as TwilioApiError;
    expect(notFound).toMatchObject({ kind: "permanent", httpStatus: 404, twilioCode: 20404 });

    const wrongToken = twilioClient(parseConfig({ ...env, TWILIO_AUTH_TOKEN: "wrong-token" }));
    const unauthorized = (await caught(wrongToken.fetchCall(`CA${"0".repeat(32)}`))) as TwilioApiError;
    expect(unauthorized).toMatchObject({ kind: "permanent", httpStatus: 401, twilioCode: 20003 });
    expect(unauthorized.message).toBe("Twilio 401 (error 20003): Authenticate");

    const sid = `CA${"5".repeat(32)}`;
    await fakeTwilio.script(sid, { httpStatus: 500 });
    expect(await caught(client.fetchCall(sid))).toMatchObject({ kind: "retryable", httpStatus: 500 });

    const unreachable = twilioClient(parseConfig({ ...env, TWILIO_API_BASE_URL: "http://127.0.0.1:9" }));
    const network = (await caught(unreachable.fetchCall(sid))) as TwilioApiError;
    expect(network).toBeInstanceOf(TwilioApiError);
    expect(network).toMatchObject({ kind: "retryable", httpStatus: null });
  });

  it("needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, and says which is missing", () => {
    const err = (() => {
      try {
        twilioClient(parseConfig({ ...env, TWILIO_AUTH_TOKEN: "" }));
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.issues.map((i) => i.variable)).toEqual(["TWILIO_AUTH_TOKEN"]);
  });
});
