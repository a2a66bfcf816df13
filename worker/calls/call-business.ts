/** What the calls part needs to know about a business: one query, business row plus its settings. */
import { eq } from "drizzle-orm";
import type { z } from "zod";
import type { Database } from "../db/client";
import { businesses, businessSettings } from "../db/schema";
import { log } from "../lib/log";
import { inboundCallActionSchema } from "../services/settings";

/** business_settings.inbound_call_action (its one schema is the settings'); voicemail when unset or unreadable. */
export type InboundCallAction = z.infer<typeof inboundCallActionSchema>;

export interface CallBusiness {
  id: number;
  name: string;
  locale: string;
  twilioNumber: string | null;
  /** business_settings.outbound_call_cap, or null when the business has no settings row (then the default applies). */
  outboundCallCap: number | null;
  inboundCallAction: InboundCallAction;
  greetingText: string | null;
}

async function load(db: Database, where: ReturnType<typeof eq>): Promise<CallBusiness | null> {
  const [row] = await db
    .select({
      id: businesses.id,
      name: businesses.name,
      locale: businesses.locale,
      twilioNumber: businesses.twilioNumber,
      outboundCallCap: businessSettings.outboundCallCap,
      inboundCallAction: businessSettings.inboundCallAction,
      greetingText: businessSettings.greetingText,
    })
    .from(businesses)
    .leftJoin(businessSettings, eq(businessSettings.businessId, businesses.id))
    .where(where)
    .limit(1);
  if (!row) return null;
  const action = inboundCallActionSchema.safeParse(row.inboundCallAction);
  return { ...row, inboundCallAction: action.success ? action.data : { type: "voicemail" } };
}

export const businessForCalls = (db: Database, businessId: number) => load(db, eq(businesses.id, businessId));

/** The business whose Twilio number was called (`To` of an inbound call). */
export const businessByTwilioNumber = (db: Database, number: string) => load(db, eq(businesses.twilioNumber, number));

/** Who owns a Twilio number: what an inbound call needs before its business's object answers. */
export interface NumberOwner {
  id: number;
  name: string;
  locale: string;
  twilioNumber: string;
}

/**
 * How long this isolate trusts a number's owner (or its absence). A number moved to another
 * business, or a business renamed, reaches inbound calls within this time; the greeting and the
 * inbound action come from the business's object (its settings cache, invalidated on update), so
 * a change there applies at once.
 */
export const NUMBER_OWNER_TTL_MS = 60_000;
/**
 * An expired entry is refreshed in the background by one request, while every request (that one
 * included) answers from it; a failed refresh is tried again after this long. Waiting for the
 * refresh held one call each minute for a Postgres connection (bench:webhook: 2-3 s under load),
 * and every webhook in flight when they all went at once (a 100-client run stalled for seconds).
 */
const NUMBER_OWNER_REFRESH_MS = 5_000;
const NUMBER_OWNER_MAX = 10_000;
const numberOwners = new Map<string, { owner: NumberOwner | null; expiresAtMs: number; refreshingUntilMs: number }>();

async function loadNumberOwner(db: () => Database, number: string, nowMs: number): Promise<NumberOwner | null> {
  const [row] = await db()
    .select({
      id: businesses.id,
      name: businesses.name,
      locale: businesses.locale,
      twilioNumber: businesses.twilioNumber,
    })
    .from(businesses)
    .where(eq(businesses.twilioNumber, number))
    .limit(1);
  const owner = row?.twilioNumber ? { ...row, twilioNumber: row.twilioNumber } : null;
  // Bounded: the oldest entry goes first (Map keeps insertion order).
  numberOwners.delete(number);
  if (numberOwners.size >= NUMBER_OWNER_MAX) numberOwners.delete(numberOwners.keys().next().value!);
  numberOwners.set(number, { owner, expiresAtMs: nowMs + NUMBER_OWNER_TTL_MS, refreshingUntilMs: 0 });
  return owner;
}

/**
 * The business whose Twilio number was called, from a per-isolate cache (issue 16 #2: the incoming
 * webhook then reaches Postgres once per number per minute, not once per call). `db` is opened only
 * to load: a number seen for the first time waits for it; an expired entry answers at once and is
 * refreshed in the background, kept alive by `waitUntil` (the request's) when given.
 */
export async function numberOwner(
  db: () => Database,
  number: string,
  nowMs = Date.now(),
  waitUntil?: (refresh: Promise<unknown>) => void,
): Promise<NumberOwner | null> {
  const cached = numberOwners.get(number);
  if (!cached) return loadNumberOwner(db, number, nowMs);
  if (nowMs >= cached.expiresAtMs && nowMs >= cached.refreshingUntilMs) {
    cached.refreshingUntilMs = nowMs + NUMBER_OWNER_REFRESH_MS;
    const refresh = (async () => loadNumberOwner(db, number, nowMs))().catch((err: unknown) =>
      log.warn("could not refresh a number's business; the last one answers meanwhile", {
        number,
        error: err instanceof Error ? err.message : String(err),
      }),
    );
    waitUntil?.(refresh);
  }
  return cached.owner;
}

/** Forgets every number's owner in this isolate (a business or its number changed here; others wait out the TTL). */
export function forgetNumberOwners(): void {
  numberOwners.clear();
}
