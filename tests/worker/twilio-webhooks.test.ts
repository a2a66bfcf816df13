/**
 * Twilio voice webhooks end to end through the Worker entry: signature checks, inbound calls
 * (answer, forward, voicemail, refusal at capacity), status callbacks (out of order, repeated) and
 * recordings, against real Postgres and the call-admission Durable Objects.
 *
 * Since issue 16 #2 the incoming and status webhooks answer without Postgres: the business's object
 * keeps the call's log row and updates and writes them just after (a call's progress up to two
 * seconds later, with what follows it), so tests wait for the log to show them.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterAll, afterEach, describe, expect, inject, it, vi } from "vitest";
import { businessObjectName } from "../../durable-objects/names";
import { callAdmission, platformCallSnapshot } from "../../worker/calls/admission";
import { callLogs } from "../../worker/db/schema";
import { callsEnded, twilioSignatureFailures } from "../../worker/metrics/calls";
import { createCallBusiness, PUBLIC_HOST, postTwilio, randomCallSid, signTwilio } from "./calls-fixtures";
import { BASE, call, callWithSettings, errorOf, testDb } from "./helpers";

const { db, close } = testDb();
afterAll(close);

const logOf = async (callSid: string) => (await db.select().from(callLogs).where(eq(callLogs.callSid, callSid)))[0];
/** The log once it matches (written by the business's object just after the webhook; progress up to 2 s later). */
const logMatching = (callSid: string, expected: Record<string, unknown>) =>
  vi.waitFor(
    async () => {
      const row = await logOf(callSid);
      expect(row).toMatchObject(expected);
      return row!;
    },
    { timeout: 5_000, interval: 50 },
  );
const incoming = (business: { twilioNumber: string }, callSid = randomCallSid()) => ({
  AccountSid: env.TWILIO_ACCOUNT_SID as string,
  CallSid: callSid,
  CallStatus: "ringing",
  Direction: "inbound",
  From: "+972501112233",
  To: business.twilioNumber,
});
const signatureFailures = async (route: string) =>
  (await twilioSignatureFailures.get()).values.find((v) => v.labels.route === route)?.value ?? 0;

describe("webhook signatures", () => {
  const vectors = inject("twilioVectors");
  const vector = (name: (typeof vectors)[number]["name"]) => vectors.find((v) => v.name === name)!;
  const send = (v: { path: string; contentType: string; body: string }, signature: string | null) =>
    call(v.path, {
      method: "POST",
      headers: { "Content-Type": v.contentType, ...(signature === null ? {} : { "X-Twilio-Signature": signature }) },
      body: v.body,
    });

  it("accepts a request signed by the official twilio library (form body)", async () => {
    const v = vector("incoming-unknown-number");
    const res = await send(v, v.signature);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/xml");
    const xml = await res.text();
    expect(xml).toContain("The number you have called is not in service.");
    expect(xml).toContain("המספר שחייגתם אינו זמין");
    // An unknown number is answered politely and nothing is recorded.
    expect(await logOf(v.callSid)).toBeUndefined();
  });

  it("accepts a JSON body signed through bodySHA256, and refuses it changed", async () => {
    const v = vector("status-json-body");
    expect((await send(v, v.signature)).status).toBe(204);
    const tampered = await send({ ...v, body: v.body.replace("completed", "canceled") }, v.signature);
    expect(tampered.status).toBe(403);
    expect((await errorOf(tampered)).code).toBe("invalid_signature");
  });

  it("accepts a signature over the URL with :443 (a port variant Twilio's library accepts)", async () => {
    const v = vector("status-signed-with-port");
    expect((await send(v, v.signature)).status).toBe(204);
  });

  it("refuses tampered parameters, a wrong token, a wrong URL and a missing header: 403, counted, nothing recorded", async () => {
    const before = await signatureFailures("/twilio/voice/incoming");
    const business = await createCallBusiness(db);
    const params = incoming(business);
    const good = await signTwilio(`https://${PUBLIC_HOST}/twilio/voice/incoming`, params);
    const attempts = [
      // Tampered: signed for one caller, sent with another.
      postTwilio("/twilio/voice/incoming", { ...params, From: "+972509999999" }, { signature: good }),
      postTwilio("/twilio/voice/incoming", params, { token: "0".repeat(32) }),
      // Signed over the URL the request claims to be for (Host header), not PUBLIC_HOST.
      postTwilio("/twilio/voice/incoming", params, { signedUrl: `${BASE}/twilio/voice/incoming` }),
      postTwilio("/twilio/voice/incoming", params, { signedUrl: `https://${PUBLIC_HOST}/twilio/voice/status` }),
      postTwilio("/twilio/voice/incoming", params, { signature: null }),
      postTwilio("/twilio/voice/incoming", params, { signature: "" }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(403);
      expect(await errorOf(res)).toEqual({
        code: "invalid_signature",
        message: "X-Twilio-Signature is missing or does not match this request",
      });
    }
    expect(await signatureFailures("/twilio/voice/incoming")).toBe(before + 6);
    expect(await logOf(params.CallSid)).toBeUndefined();
    expect((await callAdmission(env, business.id).snapshot()).leases).toEqual([]);
    // The same request, correctly signed, goes through.
    expect((await postTwilio("/twilio/voice/incoming", params)).status).toBe(200);
    await callAdmission(env, business.id).release(params.CallSid);
  });

  it("ignores Host and X-Forwarded-* headers: the URL checked is built from PUBLIC_HOST", async () => {
    const business = await createCallBusiness(db);
    const params = incoming(business);
    const forged = await signTwilio("https://attacker.example/twilio/voice/incoming", params);
    const res = await call("/twilio/voice/incoming", {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": forged,
        "X-Forwarded-Host": "attacker.example",
        "X-Forwarded-Proto": "https",
      },
      body: new URLSearchParams(params).toString(),
    });
    expect(res.status).toBe(403);
  });
});

describe("POST /twilio/voice/incoming", () => {
  const held: { businessId: number; ref: string }[] = [];
  afterEach(async () => {
    const released = held.splice(0);
    await Promise.all(released.map((h) => callAdmission(env, h.businessId).release(h.ref)));
    // Platform releases follow in the background; the next test counts the platform's slots.
    await vi.waitFor(async () => {
      for (const h of released)
        expect((await callAdmission(env, h.businessId).snapshot()).pendingPlatformReleases).toBe(0);
    });
  });

  it("answers a he-IL business's call with its Hebrew greeting and a voicemail, and logs it", async () => {
    const business = await createCallBusiness(db, { locale: "he-IL", name: "מספרה" });
    const params = incoming(business);
    held.push({ businessId: business.id, ref: params.CallSid });
    const res = await postTwilio("/twilio/voice/incoming", params);
    expect(res.status).toBe(200);
    const xml = await res.text();
    expect(xml).toContain('<Say language="he-IL" voice="Google.he-IL-Standard-A">שלום, הגעתם למספרה.</Say>');
    expect(xml).toContain(`recordingStatusCallback="https://${PUBLIC_HOST}/twilio/voice/recording"`);
    expect(xml).toMatch(/<Record [^>]*maxLength="120"/);

    const row = await logMatching(params.CallSid, {
      businessId: business.id,
      direction: "inbound",
      source: "inbound",
      status: "ringing",
      fromNumber: "+972501112233",
      toNumber: business.twilioNumber,
    });
    const snap = await callAdmission(env, business.id).snapshot();
    expect(snap.leases).toMatchObject([{ kind: "inbound", callSid: params.CallSid, leaseId: row!.leaseId }]);

    // Twilio retries the webhook: same answer, still one slot and one log row.
    expect(await (await postTwilio("/twilio/voice/incoming", params)).text()).toBe(xml);
    expect((await callAdmission(env, business.id).snapshot()).inboundActive).toBe(1);
    expect(await db.select().from(callLogs).where(eq(callLogs.callSid, params.CallSid))).toHaveLength(1);
  });

  it("forwards an English business's call to its configured number", async () => {
    const business = await createCallBusiness(db, {
      locale: "en-US",
      inboundCallAction: { type: "forward", to: "+442071838750" },
      greetingText: "Thanks for calling Acme & Sons.",
    });
    const params = incoming(business);
    held.push({ businessId: business.id, ref: params.CallSid });
    const xml = await (await postTwilio("/twilio/voice/incoming", params)).text();
    expect(xml).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Say language="en-US">Thanks for calling Acme &amp; Sons.</Say>' +
        '<Dial timeout="60">+442071838750</Dial></Response>',
    );
  });

  it("at capacity answers a polite refusal in the business's language and logs the call as rejected with the reason", async () => {
    const filler = await createCallBusiness(db);
    const fillerAdmission = callAdmission(env, filler.id);
    const already = (await platformCallSnapshot(env)).active;
    for (let i = already; i < 50; i++) {
      const r = await fillerAdmission.reserve({ kind: "inbound", callSid: randomCallSid() });
      if (!r.ok) throw new Error("filler refused");
      held.push({ businessId: filler.id, ref: r.lease.leaseId });
    }
    const hebrew = await createCallBusiness(db, { locale: "he-IL" });
    const english = await createCallBusiness(db, { locale: "en-GB" });
    const he = incoming(hebrew);
    const en = incoming(english);

    const heXml = await (await postTwilio("/twilio/voice/incoming", he)).text();
    expect(heXml).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Say language="he-IL" voice="Google.he-IL-Standard-A">' +
        "שלום, כל הקווים שלנו תפוסים כרגע. אנא נסו שוב בעוד מספר דקות. תודה ולהתראות.</Say><Hangup/></Response>",
    );
    const enXml = await (await postTwilio("/twilio/voice/incoming", en)).text();
    expect(enXml).toContain("all our lines are busy right now");
    expect(enXml).not.toMatch(/<Record|<Dial/);

    for (const [params, business] of [
      [he, hebrew],
      [en, english],
    ] as const) {
      await logMatching(params.CallSid, {
        businessId: business.id,
        direction: "inbound",
        status: "rejected",
        reason: "platform cap 50 reached (50 active)",
        leaseId: null,
      });
      expect((await callAdmission(env, business.id).snapshot()).leases).toEqual([]);
    }
    // A retry of a refused call is refused again, without a second row.
    expect(await (await postTwilio("/twilio/voice/incoming", he)).text()).toBe(heXml);
    // Its (later) completed callback does not turn the rejected log into something else.
    const completed = { CallSid: he.CallSid, CallStatus: "completed", Direction: "inbound", To: hebrew.twilioNumber };
    expect((await postTwilio("/twilio/voice/status", completed)).status).toBe(204);
    await vi.waitFor(async () =>
      expect((await callAdmission(env, hebrew.id).snapshot()).pendingCallLogUpdates).toBe(0),
    );
    expect((await logOf(he.CallSid))!.status).toBe("rejected");
    expect(await db.select().from(callLogs).where(eq(callLogs.callSid, he.CallSid))).toHaveLength(1);
  });

  it("a retry after the call ended gets the same answer and takes no slot again", async () => {
    const business = await createCallBusiness(db, { locale: "en-US" });
    const params = incoming(business);
    const xml = await (await postTwilio("/twilio/voice/incoming", params)).text();
    await logMatching(params.CallSid, { status: "ringing" });
    const end = { CallSid: params.CallSid, CallStatus: "completed", Direction: "inbound", To: business.twilioNumber };
    expect((await postTwilio("/twilio/voice/status", end)).status).toBe(204);
    expect((await callAdmission(env, business.id).snapshot()).inboundActive).toBe(0);

    // Twilio's retry of the incoming webhook, late: the same answer, no slot, no second row.
    expect(await (await postTwilio("/twilio/voice/incoming", params)).text()).toBe(xml);
    expect((await callAdmission(env, business.id).snapshot()).inboundActive).toBe(0);
    await logMatching(params.CallSid, { status: "completed" });
    expect(await db.select().from(callLogs).where(eq(callLogs.callSid, params.CallSid))).toHaveLength(1);
  });

  it("answers a call and its status callbacks while the Worker cannot reach Postgres; nothing is lost", async () => {
    const business = await createCallBusiness(db, { locale: "en-US", greetingText: "Hello from Acme." });
    // The number's owner is read once, then kept for a minute (this isolate).
    const first = incoming(business);
    held.push({ businessId: business.id, ref: first.CallSid });
    expect((await postTwilio("/twilio/voice/incoming", first)).status).toBe(200);

    const deadDatabase = { DATABASE_URL: "postgres://nobody:nothing@127.0.0.1:1/gone" };
    const signed = async (path: string, params: Record<string, string>) =>
      callWithSettings(deadDatabase, path, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          "X-Twilio-Signature": await signTwilio(`https://${PUBLIC_HOST}${path}`, params),
        },
        body: new URLSearchParams(params).toString(),
      });
    const params = incoming(business);
    const answered = await signed("/twilio/voice/incoming", params);
    expect(answered.status).toBe(200);
    expect(await answered.text()).toContain("Hello from Acme.");
    expect((await callAdmission(env, business.id).snapshot()).inboundActive).toBe(2);
    for (const [i, s] of ["in-progress", "completed"].entries()) {
      const res = await signed("/twilio/voice/status", {
        CallSid: params.CallSid,
        CallStatus: s,
        SequenceNumber: String(i + 2),
        CallDuration: "30",
        Direction: "inbound",
        To: business.twilioNumber,
      });
      expect(res.status).toBe(204);
    }
    expect((await callAdmission(env, business.id).snapshot()).inboundActive).toBe(1);
    // The business's object wrote the row and both updates (in order: answered, then ended).
    const row = await logMatching(params.CallSid, { status: "completed", sequenceNumber: 3, durationSeconds: 30 });
    expect(row.answeredAt).not.toBeNull();
    expect(row.endedAt).not.toBeNull();
  });

  it("answers a call with the default greeting and voicemail when the business's settings cannot be read", async () => {
    const business = await createCallBusiness(db, {
      locale: "en-US",
      greetingText: "Hello from Acme.",
      inboundCallAction: { type: "forward", to: "+15551230000" },
    });
    // The business's object cannot read its settings now (Postgres away, nothing cached).
    await runInDurableObject(env.BUSINESS_DO.getByName(businessObjectName(business.id)), (instance) => {
      const object = instance as unknown as {
        host: { loadSettings: () => Promise<never> };
        settingsCache: unknown;
      };
      object.settingsCache = null;
      object.host.loadSettings = () => Promise.reject(new Error("connect ECONNREFUSED"));
    });
    const params = incoming(business);
    held.push({ businessId: business.id, ref: params.CallSid });
    const res = await postTwilio("/twilio/voice/incoming", params);
    expect(res.status).toBe(200);
    const xml = await res.text();
    // Not its forward nor its custom greeting (unknown now): the default greeting, then voicemail.
    expect(xml).not.toContain("Hello from Acme.");
    expect(xml).not.toContain("<Dial");
    expect(xml).toMatch(/<Record [^>]*maxLength="120"/);
    expect((await callAdmission(env, business.id).snapshot()).inboundActive).toBe(1);
    await logMatching(params.CallSid, { businessId: business.id, status: "ringing" });
  });

  it("validates the form: a request without CallSid is 400 naming the field", async () => {
    const res = await postTwilio("/twilio/voice/incoming", { To: "+15550000000" });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({
      code: "validation_failed",
      details: { fields: [{ field: "CallSid" }] },
    });
  });
});

describe("POST /twilio/voice/status", () => {
  /** Calls ended so far, by source: what follows a call's end runs once per call, on this count. */
  const endedCount = async (source: string) =>
    (await callsEnded.get()).values.find((v) => v.labels.source === source)?.value ?? 0;

  const numbers = new Map<string, string>();
  async function admittedInboundCall() {
    const business = await createCallBusiness(db);
    const params = incoming(business);
    expect((await postTwilio("/twilio/voice/incoming", params)).status).toBe(200);
    numbers.set(params.CallSid, business.twilioNumber);
    await logMatching(params.CallSid, { status: "ringing" });
    return { business, callSid: params.CallSid };
  }
  /** A status callback as Twilio sends it for an inbound call (with Direction and the number called). */
  const status = (callSid: string, CallStatus: string, extra: Record<string, string> = {}) =>
    postTwilio("/twilio/voice/status", {
      CallSid: callSid,
      CallStatus,
      Direction: "inbound",
      To: numbers.get(callSid) ?? "+15550000000",
      From: "+972501112233",
      ...extra,
    });
  /** The platform slot is freed in the background after the business's lease (its outbox): wait for it. */
  const platformFreedOne = (before: number) =>
    vi.waitFor(async () => expect((await platformCallSnapshot(env)).active).toBe(before - 1));

  it("applies callbacks arriving out of order by SequenceNumber; terminal never regresses; the slot is freed once", async () => {
    const { business, callSid } = await admittedInboundCall();
    const platformBefore = (await platformCallSnapshot(env)).active;
    const endedBefore = await endedCount("inbound");

    expect((await status(callSid, "completed", { SequenceNumber: "3", CallDuration: "42" })).status).toBe(204);
    expect((await callAdmission(env, business.id).snapshot()).leases).toEqual([]);
    await platformFreedOne(platformBefore);

    expect((await status(callSid, "ringing", { SequenceNumber: "1" })).status).toBe(204);
    expect((await status(callSid, "in-progress", { SequenceNumber: "2" })).status).toBe(204);
    expect((await status(callSid, "completed", { SequenceNumber: "3", CallDuration: "42" })).status).toBe(204);

    const row = await logMatching(callSid, { status: "completed", sequenceNumber: 3, durationSeconds: 42 });
    expect(row.endedAt).not.toBeNull();
    await platformFreedOne(platformBefore);

    // The call's end was acted on once, for the transition; the repeat was seen as a repeat.
    expect(await endedCount("inbound")).toBe(endedBefore + 1);
  });

  it("applies callbacks in order, recording when the call was answered and ended", async () => {
    const { business, callSid } = await admittedInboundCall();
    for (const [i, s] of ["ringing", "in-progress"].entries()) {
      expect((await status(callSid, s, { SequenceNumber: String(i + 1) })).status).toBe(204);
    }
    // Progress reaches Postgres within two seconds (batched), so a dashboard shows the call answered.
    await logMatching(callSid, { status: "in-progress" });
    expect((await callAdmission(env, business.id).snapshot()).inboundActive).toBe(1);
    expect((await status(callSid, "busy", { SequenceNumber: "3" })).status).toBe(204);
    const row = await logMatching(callSid, { status: "busy" });
    expect(row.answeredAt).not.toBeNull();
    expect(row.endedAt).not.toBeNull();
    expect((await callAdmission(env, business.id).snapshot()).inboundActive).toBe(0);
  });

  it("without SequenceNumber, a status further along wins and an earlier one is ignored", async () => {
    const { business, callSid } = await admittedInboundCall();
    await status(callSid, "in-progress");
    await status(callSid, "ringing");
    await logMatching(callSid, { status: "in-progress" });
    await status(callSid, "canceled");
    await status(callSid, "in-progress");
    await vi.waitFor(
      async () => expect((await callAdmission(env, business.id).snapshot()).pendingCallLogUpdates).toBe(0),
      { timeout: 5_000 },
    );
    expect((await logOf(callSid))!.status).toBe("canceled");
    expect((await callAdmission(env, business.id).snapshot()).leases).toEqual([]);
  });

  it("concurrent duplicate terminal callbacks: one transition, acted on once, one slot freed", async () => {
    const { business, callSid } = await admittedInboundCall();
    const platformBefore = (await platformCallSnapshot(env)).active;
    const endedBefore = await endedCount("inbound");
    const results = await Promise.all(
      Array.from({ length: 5 }, () => status(callSid, "completed", { SequenceNumber: "4" })),
    );
    expect(results.map((r) => r.status)).toEqual([204, 204, 204, 204, 204]);
    // All five are kept by the business's object and written just after: one is the transition.
    await vi.waitFor(async () =>
      expect((await callAdmission(env, business.id).snapshot()).pendingCallLogUpdates).toBe(0),
    );
    expect(await endedCount("inbound")).toBe(endedBefore + 1);
    await platformFreedOne(platformBefore);
    expect((await callAdmission(env, business.id).snapshot()).leases).toEqual([]);
  });

  it("a callback for a call we never logged is acknowledged and changes nothing", async () => {
    const business = await createCallBusiness(db);
    const callSid = randomCallSid();
    numbers.set(callSid, business.twilioNumber);
    expect((await status(callSid, "completed")).status).toBe(204);
    // Without Direction and To (an older callback), the log is looked up in Postgres instead.
    const bare = randomCallSid();
    expect((await postTwilio("/twilio/voice/status", { CallSid: bare, CallStatus: "completed" })).status).toBe(204);
    await vi.waitFor(async () =>
      expect((await callAdmission(env, business.id).snapshot()).pendingCallLogUpdates).toBe(0),
    );
    expect(await logOf(callSid)).toBeUndefined();
    expect(await logOf(bare)).toBeUndefined();
  });

  it("a status Twilio may add later is acknowledged and ignored", async () => {
    const { business, callSid } = await admittedInboundCall();
    expect((await status(callSid, "teleported", { SequenceNumber: "9" })).status).toBe(204);
    expect((await callAdmission(env, business.id).snapshot()).pendingCallLogUpdates).toBe(0);
    expect((await logOf(callSid))!.status).toBe("ringing");
  });
});

describe("POST /twilio/voice/recording", () => {
  it("stores the recording reference on the call log; repeated callbacks are harmless", async () => {
    const business = await createCallBusiness(db);
    const params = incoming(business);
    await postTwilio("/twilio/voice/incoming", params);
    await logMatching(params.CallSid, { status: "ringing" });
    const recording = {
      CallSid: params.CallSid,
      RecordingSid: `RE${"1".repeat(32)}`,
      RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE${"1".repeat(32)}`,
      RecordingDuration: "17",
      RecordingStatus: "completed",
    };
    for (let i = 0; i < 2; i++) {
      const res = await postTwilio("/twilio/voice/recording", recording);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>');
    }
    expect(await logOf(params.CallSid)).toMatchObject({
      recordingSid: recording.RecordingSid,
      recordingUrl: recording.RecordingUrl,
      recordingDurationSeconds: 17,
    });
    // The <Record action> request (no RecordingSid) keeps what the status callback stored.
    await postTwilio("/twilio/voice/recording", {
      CallSid: params.CallSid,
      RecordingUrl: recording.RecordingUrl,
      RecordingDuration: "17",
    });
    expect((await logOf(params.CallSid))!.recordingSid).toBe(recording.RecordingSid);
    await callAdmission(env, business.id).release(params.CallSid);
  });

  it("does not store a recording Twilio reports as failed, and refuses a bad signature", async () => {
    const business = await createCallBusiness(db);
    const params = incoming(business);
    await postTwilio("/twilio/voice/incoming", params);
    await logMatching(params.CallSid, { status: "ringing" });
    const failed = { CallSid: params.CallSid, RecordingSid: `RE${"2".repeat(32)}`, RecordingStatus: "failed" };
    expect((await postTwilio("/twilio/voice/recording", failed)).status).toBe(200);
    const forged = { ...failed, RecordingStatus: "completed", RecordingUrl: "https://evil.example/r.mp3" };
    expect((await postTwilio("/twilio/voice/recording", forged, { signature: null })).status).toBe(403);
    expect(await logOf(params.CallSid)).toMatchObject({ recordingSid: null, recordingUrl: null });
    await callAdmission(env, business.id).release(params.CallSid);
  });
});
