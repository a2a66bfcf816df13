/**
 * Twilio voice webhooks. Every request is verified first (X-Twilio-Signature against
 * https://PUBLIC_HOST + path + query); a bad or missing signature is 403 and nothing is recorded.
 *
 * - POST /twilio/voice/incoming  — an inbound call: find the business by the number called, take
 *   a platform slot, answer with its greeting and action (forward or voicemail), or — at capacity —
 *   a polite refusal in the business's language, logged as `rejected` with the reason.
 * - POST /twilio/voice/status    — call progress: update the call log (out-of-order and repeated
 *   callbacks are harmless), free the slot on a terminal status, run the call-ended hooks.
 *
 * Neither waits for Postgres (issue 16 #2): the business's object answers them — the slot, the
 * answer already given to a retried CallSid, the cached greeting — and keeps the call log write
 * durably before the answer goes out, then sends it to Postgres through the queue (or with the
 * campaign dial a freed slot wakes: durable-objects/business/call-log-outbox.ts). The number's
 * owner comes from a per-isolate cache (worker/calls/call-business.ts). A status callback without
 * our URL's parameters or Twilio's Direction and To (older URLs) still finds its log in Postgres.
 * - POST /twilio/voice/recording — recording ready (both <Record action> and recordingStatusCallback
 *   land here): store its reference on the call log; answers <Hangup/>.
 *
 * Configure the Twilio number's voice URL as /twilio/voice/incoming and its status callback as
 * /twilio/voice/status (with events) so inbound calls free their slot promptly; without it the
 * lease sweep frees them later.
 */
import { z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { callAdmission } from "../calls/admission";
import { type CallBusiness, numberOwner } from "../calls/call-business";
import { runCallEndedHooks } from "../calls/call-ended";
import { applyRecording, applyStatusUpdate } from "../calls/call-logs";
import { CALL_STATUSES, type CallStatus, isTerminalStatus } from "../calls/call-status";
import { type CallLogUpdate, callbackRefOf } from "../calls/status-callback";
import { verifiedTwilioParams } from "../calls/twilio-webhook";
import { dial, hangup, record, type TwimlElement, twimlResponse } from "../calls/twiml";
import { sayGreeting, sayPrompt, type VoiceLanguage, voiceLanguage } from "../calls/voice-prompts";
import { type Config, requirePublicHost } from "../config";
import { noContent } from "../contract/content";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { signedBody } from "../contract/signed-body";
import { ApiError, validationError } from "../errors";
import { log } from "../lib/log";

export const twilioVoiceRoutes = createRouter();

// Twilio's callbacks are small forms; anything large is not Twilio.
const twilioBodyLimit = bodyLimit({
  maxSize: 64 * 1024,
  onError: () => {
    throw new ApiError("payload_too_large", "a Twilio callback is never larger than 64 KB");
  },
});

/** What every Twilio webhook declares: its form body (signed, checked by the handler, then validated). */
function twilioWebhook(form: z.ZodType) {
  return {
    method: "post" as const,
    tag: "Twilio webhooks" as const,
    auth: "twilio" as const,
    request: {
      body: signedBody(
        form,
        "application/x-www-form-urlencoded",
        "Twilio's parameters (more may come; unknown ones are ignored), read only once X-Twilio-Signature checks out.",
      ),
    },
    errors: ["config_invalid"] as const,
    middleware: [twilioBodyLimit],
  };
}

/** TwiML: what Twilio does with the call next. */
const twiml = (description: string) => ({
  description,
  content: { "text/xml": { schema: z.string().openapi({ example: "<Response><Hangup/></Response>" }) } },
});

const callSid = z.string().regex(/^CA[0-9a-f]{32}$/i, "must be a Twilio CallSid");
const optionalInt = z.coerce.number().int().min(0).optional();

function parseForm<S extends z.ZodType>(schema: S, params: Record<string, string>): z.output<S> {
  const parsed = schema.safeParse(params);
  if (!parsed.success) throw validationError(parsed.error, "form");
  return parsed.data;
}

const xml = { "Content-Type": "text/xml; charset=utf-8" };

function recordingUrl(config: Config): string {
  return `https://${requirePublicHost(config)}/twilio/voice/recording`;
}

function answerTwiml(business: CallBusiness, lang: VoiceLanguage, config: Config): string {
  const verbs: TwimlElement[] = [sayGreeting(lang, business.name, business.greetingText)];
  const action = business.inboundCallAction;
  if (action.type === "forward") {
    verbs.push(dial(action.to, { timeout: config.CALL_RING_TIMEOUT_SECONDS }));
  } else {
    const url = recordingUrl(config);
    verbs.push(
      sayPrompt(lang, "voicemail"),
      record({
        action: url,
        maxLength: 120,
        playBeep: true,
        recordingStatusCallback: url,
        recordingStatusCallbackEvent: "completed",
        recordingStatusCallbackMethod: "POST",
      }),
      hangup(),
    );
  }
  return twimlResponse(...verbs);
}

const refusalTwiml = (lang: VoiceLanguage) => twimlResponse(sayPrompt(lang, "atCapacity"), hangup());

const incomingSchema = z.object({
  CallSid: callSid,
  To: z.string().min(1),
  From: z.string().optional(),
  CallStatus: z.string().optional(),
});

const incomingCall = apiRoute({
  ...twilioWebhook(incomingSchema),
  path: "/twilio/voice/incoming",
  summary: "An inbound call: answer it, or refuse it at capacity",
  description:
    "Finds the business by the number called, takes a call slot and answers with its greeting and action (forward or voicemail); at capacity, a polite refusal in the business's language (logged as `rejected`). A retry for the same CallSid gets the same answer. Answers without waiting for the database: the call log is kept by the business's object and written just after.",
  responses: { 200: twiml("TwiML for the call") },
});

twilioVoiceRoutes.openapi(incomingCall, async (c) => {
  const p = parseForm(incomingSchema, await verifiedTwilioParams(c, "/twilio/voice/incoming"));
  const config = c.get("config");
  const fields = { requestId: c.get("requestId"), callSid: p.CallSid, to: p.To };

  // No Postgres on this path (issue 16 #2): the number's owner from a short per-isolate cache; the
  // answer, the slot, the greeting and the log row from the business's object, which keeps the
  // row until Postgres takes it (durable before this answer goes out).
  const owner = await numberOwner(c.get("db"), p.To, Date.now(), (refresh) => c.executionCtx.waitUntil(refresh));
  if (!owner) {
    log.warn("inbound call to a number no business owns", fields);
    return c.body(twimlResponse(sayPrompt("he", "notInService"), sayPrompt("en", "notInService"), hangup()), 200, xml);
  }
  const lang = voiceLanguage(owner.locale);
  const status = (CALL_STATUSES as readonly string[]).includes(p.CallStatus ?? "") ? p.CallStatus! : "ringing";
  // Twilio retries this webhook when we are slow: the same CallSid gets the same answer, and a
  // retry after the call ended takes no slot.
  // The call's log row reaches Postgres just after this answer, through the queue (the object keeps
  // it until then): a webhook opening its own database connection would cost more than the rest of
  // its work under load (bench:webhook).
  const { answer, settings } = await callAdmission(c.env, owner.id).admitInbound({
    callSid: p.CallSid,
    from: p.From ?? null,
    to: p.To,
    status,
  });
  if (!answer.admitted) {
    log.warn("inbound call refused at capacity", { ...fields, businessId: owner.id, reason: answer.reason });
    return c.body(refusalTwiml(lang), 200, xml);
  }
  // Without its settings (unreadable now) the call still gets an answer: the default greeting and voicemail.
  const business: CallBusiness = {
    ...owner,
    outboundCallCap: settings?.outboundCallCap ?? null,
    inboundCallAction: settings?.inboundCallAction ?? { type: "voicemail" },
    greetingText: settings?.greetingText ?? null,
  };
  log.info("inbound call admitted", { ...fields, businessId: owner.id, leaseId: answer.leaseId });
  return c.body(answerTwiml(business, lang, config), 200, xml);
});

const statusSchema = z.object({
  CallSid: callSid,
  CallStatus: z.string().min(1),
  SequenceNumber: optionalInt,
  CallDuration: optionalInt,
  Timestamp: z.string().optional(),
  /** `inbound` for a call to one of our numbers (then `To` is that number), `outbound-api` for ours. */
  Direction: z.string().optional(),
  To: z.string().optional(),
});

const callStatus = apiRoute({
  ...twilioWebhook(statusSchema),
  path: "/twilio/voice/status",
  summary: "Call progress: update the call log; on a terminal status free the slot",
  description:
    "Out-of-order (SequenceNumber) and repeated callbacks are harmless. The first terminal status frees the call's slot and runs what follows a call's end (a campaign's job, the next waiting campaign call). Query `callLogId` links a call placed before Twilio returned its CallSid; an inbound call's business is found by `To` (with `Direction` inbound). Answers once the update is kept by the business's object, without waiting for the database: a call's end is written just after, its progress within seconds.",
  responses: { 204: { description: "Applied, or ignored (unknown status, unknown call)" } },
});

twilioVoiceRoutes.openapi(callStatus, async (c) => {
  const p = parseForm(statusSchema, await verifiedTwilioParams(c, "/twilio/voice/status"));
  const fields = { requestId: c.get("requestId"), callSid: p.CallSid, status: p.CallStatus };
  if (!(CALL_STATUSES as readonly string[]).includes(p.CallStatus)) {
    log.warn("status callback with a status we do not know; ignored", fields);
    return noContent(c);
  }
  const status = p.CallStatus as CallStatus;
  const at = p.Timestamp ? new Date(p.Timestamp) : null;
  // Calls we place carry their business, log and lease in this (Twilio-signed) URL.
  const { callLogId, ref } = callbackRefOf(c.req.query());
  const update: CallLogUpdate & { callSid: string } = {
    callSid: p.CallSid,
    status,
    sequenceNumber: p.SequenceNumber ?? null,
    durationSeconds: p.CallDuration ?? null,
    at: at && !Number.isNaN(at.getTime()) ? at.toISOString() : null,
    callLogId,
    reason: null,
  };
  // No Postgres on this path (issue 16 #2): the business's object frees the slot and keeps the
  // update (durable before this answer goes out), and writes it to Postgres in the background —
  // a call's progress batched with what follows it (durable-objects/business/call-log-outbox.ts).
  // Calls we place name their business, log and lease in this (Twilio-signed) URL; an inbound
  // call's business owns the number called.
  const businessId =
    ref?.businessId ??
    (p.Direction === "inbound" && p.To
      ? ((await numberOwner(c.get("db"), p.To, Date.now(), (refresh) => c.executionCtx.waitUntil(refresh)))?.id ?? null)
      : null);
  if (businessId !== null) {
    // A call's end (with what waited for it) reaches Postgres just after this answer: through the
    // queue, or with the campaign dial the freed slot wakes.
    const slot = await callAdmission(c.env, businessId).recordCallStatus(ref?.leaseId ?? null, update);
    log.info("call status", { ...fields, callLogId, businessId, ...slot });
    return noContent(c);
  }

  // Without either (older URLs, a callback without its call's parameters): the log names the business.
  const config = c.get("config");
  const db = c.get("db")();
  const result = await applyStatusUpdate(db, { ...update, at: update.at ? new Date(update.at) : null });
  const row = result.row;
  if (!row) {
    log.warn("status callback for a call we have no log of", fields);
    return noContent(c);
  }
  if (isTerminalStatus(status)) {
    const admission = callAdmission(c.env, row.businessId);
    const released = await admission.release(p.CallSid);
    // Before the confirm attached the CallSid, the lease is known by its id.
    if (!released.released && row.leaseId) await admission.release(row.leaseId);
    if (isTerminalStatus(row.status)) {
      await runCallEndedHooks({ row, firstTime: result.becameTerminal, db, env: c.env, config });
    }
  }
  log.info("call status", { ...fields, callLogId: row.id, applied: result.applied, stored: row.status });
  return noContent(c);
});

const recordingSchema = z.object({
  CallSid: callSid,
  RecordingSid: z.string().optional(),
  RecordingUrl: z.url().optional(),
  RecordingDuration: optionalInt,
  RecordingStatus: z.string().optional(),
});

const recordingReady = apiRoute({
  ...twilioWebhook(recordingSchema),
  path: "/twilio/voice/recording",
  summary: "A recording is ready: store its reference on the call log",
  description: "Both <Record action> and recordingStatusCallback land here.",
  responses: { 200: twiml("<Hangup/>") },
});

twilioVoiceRoutes.openapi(recordingReady, async (c) => {
  const p = parseForm(recordingSchema, await verifiedTwilioParams(c, "/twilio/voice/recording"));
  const fields = { requestId: c.get("requestId"), callSid: p.CallSid, recordingSid: p.RecordingSid };
  const done = twimlResponse(hangup());
  if (p.RecordingStatus && p.RecordingStatus !== "completed") {
    log.warn("recording not stored: Twilio reports it not completed", { ...fields, status: p.RecordingStatus });
    return c.body(done, 200, xml);
  }
  if (!p.RecordingSid && !p.RecordingUrl) return c.body(done, 200, xml);
  const row = await applyRecording(c.get("db")(), {
    callSid: p.CallSid,
    recordingSid: p.RecordingSid ?? null,
    recordingUrl: p.RecordingUrl ?? null,
    durationSeconds: p.RecordingDuration ?? null,
  });
  if (!row) log.warn("recording for a call we have no log of", fields);
  else log.info("recording stored", { ...fields, callLogId: row.id });
  return c.body(done, 200, xml);
});
