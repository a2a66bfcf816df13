/**
 * Call series. Admissions, refusals and signature failures are counted in the isolate where they
 * happen (label `isolate`, like the request counters). Active calls and lease expiries must be
 * global, so they are read at scrape time from CallCapacityDO, which asks each business holding
 * platform slots for its calls and counts every slot freed by reason in its storage.
 */
import { EXPIRY_REASONS } from "../../durable-objects/call-capacity/platform-slots";
import { PLATFORM_CALLS_OBJECT_NAME } from "../../durable-objects/names";
import { Counter, Gauge } from "./prom";
import { registry, type ScrapeCollector } from "./registry";

export const callAdmissions = new Counter({
  name: "prosaas_call_admissions_total",
  help: "Call slots granted, by kind (outbound, inbound) and source (direct, bulk, inbound).",
  labelNames: ["kind", "source"] as const,
  registers: [registry],
});

export const callRefusals = new Counter({
  name: "prosaas_call_refusals_total",
  help: "Call slots refused, by kind and the cap that refused (business, platform).",
  labelNames: ["kind", "cap"] as const,
  registers: [registry],
});

export const twilioSignatureFailures = new Counter({
  name: "prosaas_twilio_signature_failures_total",
  help: "Twilio webhooks refused for a missing or wrong X-Twilio-Signature, by route.",
  labelNames: ["route"] as const,
  registers: [registry],
});

const callsActive = new Gauge({
  name: "prosaas_calls_active",
  help: "Calls holding a slot now, by business and kind (read from CallCapacityDO at scrape).",
  labelNames: ["business_id", "kind"] as const,
  registers: [registry],
});

const platformActive = new Gauge({
  name: "prosaas_calls_platform_active",
  help: "Calls holding a platform slot now, all businesses (read from CallCapacityDO at scrape).",
  registers: [registry],
});

const platformCapacity = new Gauge({
  name: "prosaas_calls_platform_capacity",
  help: "The platform-wide concurrent call cap (MAX_CONCURRENT_CALLS).",
  registers: [registry],
});

const leaseExpiries = new Counter({
  name: "prosaas_call_lease_expiries_total",
  help: "Call slots freed by expiry rather than a status callback, by reason (persisted in CallCapacityDO).",
  labelNames: ["reason"] as const,
  registers: [registry],
});

/** Who ended calls, counted once per call (the callback that made it terminal), by origin. */
export const callsEnded = new Counter({
  name: "prosaas_calls_ended_total",
  help: "Calls that reached a terminal status, by source (direct, bulk, inbound).",
  labelNames: ["source"] as const,
  registers: [registry],
});

export const collectCallMetrics: ScrapeCollector = async ({ env }) => {
  const snap = await env.CALL_CAPACITY_DO.getByName(PLATFORM_CALLS_OBJECT_NAME).snapshot();
  callsActive.reset();
  for (const row of snap.byBusinessKind)
    callsActive.set({ business_id: String(row.businessId), kind: row.kind }, row.active);
  platformActive.set(snap.active);
  platformCapacity.set(snap.limit);
  // The source of truth holds the running totals; the counter mirrors them.
  leaseExpiries.reset();
  for (const reason of EXPIRY_REASONS) leaseExpiries.inc({ reason }, snap.freedTotal[reason] ?? 0);
};
