/**
 * Calls for the dashboard: place a direct call to a lead, the call log, and recordings.
 */
import { and, desc, eq, gte, lte, type SQL, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { businessIdOf, requireAuth, requirePermission } from "../auth/middleware";
import { outboundCallErrorToApiError, placeOutboundCall, refusalToApiError } from "../calls/place-outbound-call";
import { callLogs, leads } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { idParam, isoDateTime, MAX_ID } from "../lib/schemas";
import { validate } from "../lib/validate";

export const callRoutes = new Hono<AppEnv>();
callRoutes.use("/api/calls", requireAuth);
callRoutes.use("/api/calls/*", requireAuth);

const placeBody = z.object({ leadId: z.number().int().positive().max(MAX_ID) }).strict();

/**
 * Reserve a slot → dial through Twilio → confirm. At capacity: 409 saying which cap and how many
 * calls hold it. Without PUBLIC_HOST (Twilio could not call back): 503 naming it, no call made.
 */
callRoutes.post("/api/calls", requirePermission("calls.place"), validate("json", placeBody), async (c) => {
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

callRoutes.get("/api/calls", requirePermission("calls.read"), validate("query", listQuery), async (c) => {
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
  return c.json({ calls: page, nextBefore: rows.length > q.limit ? page[page.length - 1]!.id : null });
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

callRoutes.get("/api/calls/:id", requirePermission("calls.read"), validate("param", idParam), async (c) => {
  return c.json({ call: await callOf(c, c.req.valid("param").id) });
});

/**
 * Streams the call's recording from Twilio (with Range, so the dashboard's player can seek). The
 * media URL is built from the recording SID and our account — never from a stored URL — so this
 * can only ever fetch our own Twilio recordings.
 */
callRoutes.get("/api/calls/:id/recording", requirePermission("calls.read"), validate("param", idParam), async (c) => {
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
