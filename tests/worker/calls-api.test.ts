/**
 * The dashboard's calls API: placing a direct call (through the fake Twilio), capacity refusals,
 * missing PUBLIC_HOST, the call log, and recording playback with Range — all tenant-scoped.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeRecordingBytes } from "../../scripts/twilio-simulator/recording-bytes";
import { businesses } from "../../worker/db/schema";
import { fakeTwilio, postTwilio, uniqueNumber } from "./calls-fixtures";
import { createTenant, type Tenant } from "./fixtures";
import { callWithSettings, errorOf, testDb } from "./helpers";
import { uniquePhone } from "./phones";

const { db, close } = testDb();
let t: Tenant;
beforeAll(async () => {
  t = await createTenant(db, "Calls API business");
  await db.update(businesses).set({ twilioNumber: uniqueNumber() }).where(eq(businesses.id, t.businessId));
});
afterAll(close);

async function newLead(): Promise<{ id: number; phone: string }> {
  const phone = uniquePhone();
  const res = await t.agent.request("POST", "/api/leads", { firstName: "Callee", phone });
  return { id: ((await res.json()) as { lead: { id: number } }).lead.id, phone };
}

async function endCall(callSid: string, status = "completed"): Promise<void> {
  const res = await postTwilio("/twilio/voice/status", { CallSid: callSid, CallStatus: status, SequenceNumber: "9" });
  expect(res.ok).toBe(true);
}

describe("POST /api/calls", () => {
  it("dials the lead through Twilio and logs the call", async () => {
    const lead = await newLead();
    const res = await t.agent.request("POST", "/api/calls", { leadId: lead.id });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { callLogId: number; callSid: string };
    expect(body.callSid).toMatch(/^CA[0-9a-f]{32}$/);
    const dialed = await fakeTwilio.calls(lead.phone);
    expect(dialed.map((c) => c.sid)).toEqual([body.callSid]);
    const log = (await (await t.agent.request("GET", `/api/calls/${body.callLogId}`)).json()) as {
      call: { leadId: number; source: string };
    };
    expect(log.call).toMatchObject({ leadId: lead.id, source: "direct" });
    await endCall(body.callSid);
  });

  it("at capacity answers 409 naming the cap and how many calls hold it", async () => {
    await t.owner.request("PATCH", "/api/settings", { outboundCallCap: 1 });
    const first = (await (await t.agent.request("POST", "/api/calls", { leadId: (await newLead()).id })).json()) as {
      callSid: string;
    };
    const refused = await t.agent.request("POST", "/api/calls", { leadId: (await newLead()).id });
    expect(refused.status).toBe(409);
    expect(await errorOf(refused)).toMatchObject({
      code: "call_capacity_reached",
      details: { cap: "business", active: 1, limit: 1 },
    });
    await endCall(first.callSid);
    const after = await t.agent.request("POST", "/api/calls", { leadId: (await newLead()).id });
    expect(after.status).toBe(201);
    await endCall(((await after.json()) as { callSid: string }).callSid);
    await t.owner.request("PATCH", "/api/settings", { outboundCallCap: 3 });
  });

  it("without PUBLIC_HOST answers 503 naming it, and makes no call", async () => {
    const lead = await newLead();
    const res = await callWithSettings({ PUBLIC_HOST: "" }, "/api/calls", {
      method: "POST",
      headers: { Cookie: t.agent.cookie, "Content-Type": "application/json" },
      body: JSON.stringify({ leadId: lead.id }),
    });
    expect(res.status).toBe(503);
    expect((await errorOf(res)).message).toContain("PUBLIC_HOST");
    expect(await fakeTwilio.calls(lead.phone)).toEqual([]);
  });

  it("refuses another business's lead (404) and a lead without a phone (400)", async () => {
    const other = await createTenant(db, "Other calls business");
    const lead = await newLead();
    expect((await other.agent.request("POST", "/api/calls", { leadId: lead.id })).status).toBe(404);
    const noPhone = (await (
      await t.agent.request("POST", "/api/leads", { firstName: "No phone", email: "np@example.test" })
    ).json()) as {
      lead: { id: number };
    };
    const res = await t.agent.request("POST", "/api/calls", { leadId: noPhone.lead.id });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toContain("leadId");
  });
});

describe("call log and recordings", () => {
  it("lists the business's calls newest first, filtered, and never another business's", async () => {
    const list = (await (await t.agent.request("GET", "/api/calls?direction=outbound&limit=2")).json()) as {
      calls: { id: number; businessId: number }[];
      nextBefore: number | null;
    };
    expect(list.calls).toHaveLength(2);
    expect(list.calls[0]!.id).toBeGreaterThan(list.calls[1]!.id);
    expect(list.nextBefore).toBe(list.calls[1]!.id);
    const other = await createTenant(db, "Empty calls business");
    const theirs = (await (await other.agent.request("GET", "/api/calls")).json()) as { calls: unknown[] };
    expect(theirs.calls).toEqual([]);
    expect((await other.agent.request("GET", `/api/calls/${list.calls[0]!.id}`)).status).toBe(404);
  });

  it("streams a recording with Range support, to this business's users only", async () => {
    const lead = await newLead();
    const placed = (await (await t.agent.request("POST", "/api/calls", { leadId: lead.id })).json()) as {
      callLogId: number;
      callSid: string;
    };
    const recordingSid = `RE${"ab12".repeat(8)}`;
    const cb = await postTwilio("/twilio/voice/recording", {
      CallSid: placed.callSid,
      RecordingSid: recordingSid,
      RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/ACx/Recordings/${recordingSid}`,
      RecordingDuration: "12",
      RecordingStatus: "completed",
    });
    expect(cb.ok).toBe(true);
    const expected = fakeRecordingBytes(recordingSid);

    const whole = await t.agent.request("GET", `/api/calls/${placed.callLogId}/recording`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get("content-type")).toBe("audio/mpeg");
    expect(new Uint8Array(await whole.arrayBuffer())).toEqual(expected);

    const part = await t.agent.request("GET", `/api/calls/${placed.callLogId}/recording`, undefined, {
      Range: "bytes=100-199",
    });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 100-199/${expected.length}`);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(expected.slice(100, 200));

    const cors = await t.agent.request("GET", `/api/calls/${placed.callLogId}/recording`, undefined, {
      Origin: "http://localhost:5173",
    });
    expect(cors.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(cors.headers.get("access-control-expose-headers")).toContain("Content-Range");
    await cors.arrayBuffer();
    const foreign = await t.agent.request("GET", `/api/calls/${placed.callLogId}/recording`, undefined, {
      Origin: "https://evil.example",
    });
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    await foreign.arrayBuffer();

    const other = await createTenant(db, "Eavesdropper business");
    expect((await other.owner.request("GET", `/api/calls/${placed.callLogId}/recording`)).status).toBe(404);
    await endCall(placed.callSid);
  });
});
