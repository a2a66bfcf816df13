/**
 * Calls for the dashboard: place a direct call to a lead, the call log, and recordings.
 */
import { z } from "@hono/zod-openapi";
import { and, desc, eq, gte, lte, type SQL, sql } from "drizzle-orm";
import { businessIdOf } from "../auth/middleware";
import { callAdmission, platformCallSnapshot } from "../calls/admission";
import { outboundCallErrorToApiError, placeOutboundCall, refusalToApiError } from "../calls/place-outbound-call";
import { jsonBody, jsonContent } from "../contract/content";
import { callLogModel } from "../contract/models/call";
import { id } from "../contract/models/common";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { callLogs, leads } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { idParam, isoDateTime, MAX_ID } from "../lib/schemas";
import { publishLive } from "../live/publish";
import { effectiveCallCap, getBusinessSettings } from "../services/settings";

export const callRoutes = createRouter();

const placeBody = z.object({ leadId: z.number().int().positive().max(MAX_ID) }).strict();

/**
 * Reserve a slot → dial through Twilio → confirm. At capacity: 409 saying which cap and how many
 * calls hold it. Without PUBLIC_HOST (Twilio could not call back): 503 naming it, no call made.
 */
const placeCall = apiRoute({
  method: "post",
  path: "/api/calls",
  tag: "Calls",
  summary: "Call a lead now (a direct call through Twilio)",
  description:
    "Reserves a call slot, dials through Twilio and confirms. At capacity: 409 `call_capacity_reached` saying which cap and how many calls hold it (Retry-After). Without PUBLIC_HOST or Twilio settings: 503 naming the variable; no call is made.",
  auth: { permission: "calls.place" },
  request: { body: jsonBody(placeBody) },
  responses: {
    201: jsonContent(
      z.strictObject({
        callLogId: id,
        callSid: z.string(),
        status: z.string().openapi({ description: "Twilio's status of the new call (usually `queued`)" }),
      }),
      "The call was placed",
    ),
  },
  errors: ["not_found", "conflict", "call_capacity_reached", "upstream_failed", "service_unavailable"],
});

callRoutes.openapi(placeCall, async (c) => {
  const businessId = businessIdOf(c);
  const { leadId } = c.req.valid("json");
  const db = c.get("db")();
  const [lead] = await db
    .select({ id: leads.id, phone: leads.phoneE164 })
    .from(leads)
    .where(and(eq(leads.id, leadId), eq(leads.businessId, businessId), sql`${leads.deletedAt} is null`));
  if (!lead) throw notFound("Lead");
  if (!lead.phone)
    throw new ApiError("validation_failed", "Invalid body: leadId", {
      fields: [{ field: "leadId", message: "the lead has no phone number" }],
    });
  try {
    const result = await placeOutboundCall({
      db,
      env: c.env,
      config: c.get("config"),
      businessId,
      leadId,
      toNumber: lead.phone,
      source: "direct",
      createdByUserId: c.get("auth").user.id,
    });
    if (!result.ok) throw refusalToApiError(result.refusal);
    await publishLive(c.env, businessId, { type: "calls", callLogId: result.callLogId, status: result.twilioStatus });
    return c.json({ callLogId: result.callLogId, callSid: result.callSid, status: result.twilioStatus }, 201);
  } catch (err) {
    throw outboundCallErrorToApiError(err) ?? err;
  }
});

const listQuery = z
  .object({
    direction: z.enum(["inbound", "outbound"]).optional(),
    status: z.string().max(40).optional(),
    leadId: z.coerce.number().int().positive().max(MAX_ID).optional(),
    from: isoDateTime.optional(),
    to: isoDateTime.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    /** The last id of the previous page (newest first). */
    before: z.coerce.number().int().positive().max(MAX_ID).optional(),
  })
  .strict();

const listCalls = apiRoute({
  method: "get",
  path: "/api/calls",
  tag: "Calls",
  summary: "The call log, newest first",
  auth: { permission: "calls.read" },
  request: { query: listQuery },
  responses: {
    200: jsonContent(
      z.strictObject({
        calls: z.array(callLogModel),
        nextBefore: id.nullable().openapi({ description: "Pass as `before` for the next page" }),
      }),
      "A page of calls",
    ),
  },
});

callRoutes.openapi(listCalls, async (c) => {
  const q = c.req.valid("query");
  const where: SQL[] = [eq(callLogs.businessId, businessIdOf(c))];
  if (q.direction) where.push(eq(callLogs.direction, q.direction));
  if (q.status) where.push(eq(callLogs.status, q.status));
  if (q.leadId) where.push(eq(callLogs.leadId, q.leadId));
  if (q.from) where.push(gte(callLogs.createdAt, new Date(q.from)));
  if (q.to) where.push(lte(callLogs.createdAt, new Date(q.to)));
  if (q.before) where.push(sql`${callLogs.id} < ${q.before}`);
  const rows = await c
    .get("db")()
    .select()
    .from(callLogs)
    .where(and(...where))
    .orderBy(desc(callLogs.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  return c.json({ calls: page, nextBefore: rows.length > q.limit ? page[page.length - 1]!.id : null }, 200);
});

const gauge = (description: string) =>
  z.strictObject({ active: z.number().int().min(0), cap: z.number().int().min(0) }).openapi({ description });

/**
 * The call slots right now, for the dashboard's gauge: this business's outbound calls against its
 * cap, and every call of the platform against the platform cap (the two caps a call can be refused
 * by). Registered before /api/calls/{id} so "capacity" is not read as an id.
 */
const capacity = apiRoute({
  method: "get",
  path: "/api/calls/capacity",
  tag: "Calls",
  summary: "Active calls now against the business cap and the platform cap",
  auth: { permission: "calls.read" },
  responses: {
    200: jsonContent(
      z.strictObject({
        business: gauge("This business's outbound calls (direct and campaign) and its effective cap"),
        inbound: z.number().int().min(0).openapi({ description: "This business's inbound calls in progress" }),
        platform: gauge("Every call on the platform (all businesses, both directions) and the platform cap"),
      }),
      "The slots",
    ),
  },
});

callRoutes.openapi(capacity, async (c) => {
  const businessId = businessIdOf(c);
  const [slots, settings, platform] = await Promise.all([
    callAdmission(c.env, businessId).snapshot(),
    getBusinessSettings(c.env, businessId),
    platformCallSnapshot(c.env),
  ]);
  return c.json(
    {
      business: { active: slots.outboundActive, cap: effectiveCallCap(settings, c.get("config")) },
      inbound: slots.inboundActive,
      platform: { active: platform.active, cap: platform.limit },
    },
    200,
  );
});

async function callOf(c: Parameters<typeof businessIdOf>[0], id: number) {
  const [call] = await c
    .get("db")()
    .select()
    .from(callLogs)
    .where(and(eq(callLogs.id, id), eq(callLogs.businessId, businessIdOf(c))));
  if (!call) throw notFound("Call");
  return call;
}

const getCall = apiRoute({
  method: "get",
  path: "/api/calls/{id}",
  tag: "Calls",
  summary: "One call",
  auth: { permission: "calls.read" },
  request: { params: idParam },
  responses: { 200: jsonContent(z.strictObject({ call: callLogModel }), "The call") },
  errors: ["not_found"],
});

callRoutes.openapi(getCall, async (c) => {
  return c.json({ call: await callOf(c, c.req.valid("param").id) }, 200);
});

/**
 * Streams the call's recording from Twilio (with Range, so the dashboard's player can seek). The
 * media URL is built from the recording SID and our account — never from a stored URL — so this
 * can only ever fetch our own Twilio recordings.
 */
const audio = (description: string) => ({
  description,
  content: { "audio/mpeg": { schema: z.string().openapi({ format: "binary" }) } },
});

const getRecording = apiRoute({
  method: "get",
  path: "/api/calls/{id}/recording",
  tag: "Calls",
  summary: "Stream the call's recording (MP3), with Range for seeking",
  auth: { permission: "calls.read" },
  request: {
    params: idParam,
    headers: z.object({
      range: z
        .string()
        .optional()
        .openapi({ description: "`bytes=start-end`; other forms are ignored", example: "bytes=0-" }),
    }),
  },
  responses: {
    200: audio("The whole recording"),
    206: {
      ...audio("The requested byte range"),
      headers: z.object({ "Content-Range": z.string().openapi({ example: "bytes 0-1023/48000" }) }),
    },
    416: {
      description: "The range lies outside the recording",
      headers: z.object({ "Content-Range": z.string().openapi({ example: "bytes */48000" }) }),
    },
  },
  errors: ["not_found", "upstream_failed", "service_unavailable"],
});

callRoutes.openapi(getRecording, async (c) => {
  const call = await callOf(c, c.req.valid("param").id);
  if (!call.recordingSid || !/^RE[0-9a-f]{32}$/i.test(call.recordingSid)) throw notFound("Recording");
  const config = c.get("config");
  if (!config.TWILIO_ACCOUNT_SID || !config.TWILIO_AUTH_TOKEN) {
    throw new ApiError(
      "service_unavailable",
      "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are needed to fetch recordings",
    );
  }
  const url = `${config.TWILIO_API_BASE_URL}/2010-04-01/Accounts/${config.TWILIO_ACCOUNT_SID}/Recordings/${call.recordingSid}.mp3`;
  const range = c.req.header("range");
  const upstream = await fetch(url, {
    headers: {
      Authorization: `Basic ${btoa(`${config.TWILIO_ACCOUNT_SID}:${config.TWILIO_AUTH_TOKEN}`)}`,
      ...(range && /^bytes=\d*-\d*$/.test(range) ? { Range: range } : {}),
    },
  }).catch(() => null);
  if (!upstream) throw new ApiError("upstream_failed", "Twilio did not answer for the recording");
  if (upstream.status === 404) throw notFound("Recording");
  if (upstream.status === 416) {
    return new Response(null, {
      status: 416,
      headers: { "Content-Range": upstream.headers.get("content-range") ?? "" },
    });
  }
  if (!upstream.ok || !upstream.body)
    throw new ApiError("upstream_failed", `Twilio answered ${upstream.status} for the recording`);
  const headers = new Headers({
    "Content-Type": "audio/mpeg",
    "Accept-Ranges": "bytes",
    "Cache-Control": "private, max-age=300",
  });
  for (const name of ["content-length", "content-range"]) {
    const value = upstream.headers.get(name);
    if (value) headers.set(name, value);
  }
  return new Response(upstream.body, { status: upstream.status, headers });
});
