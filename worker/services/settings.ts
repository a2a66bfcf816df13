/**
 * Business settings: the row, its defaults, and the validation of updates. Reads on hot paths go
 * through the BusinessDO cache (`getBusinessSettings()` below); writes go to Postgres, then invalidate
 * that cache.
 */
import { eq } from "drizzle-orm";
import { z } from "zod";
import { businessObjectName } from "../../durable-objects/names";
import type { Config } from "../config";
import type { Database } from "../db/client";
import { businessSettings } from "../db/schema";
import type { Env } from "../env";
import { e164Schema } from "./phones";

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be HH:MM (24-hour)");
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;

/** Opening ranges per weekday in the business's timezone, e.g. { sun: [["09:00", "17:00"]] }. */
// Plain arrays rather than tuples: RPC serialisation types tuples as arrays.
export type WorkingHours = Partial<Record<(typeof DAYS)[number], string[][]>>;

const dayRanges = z.array(z.tuple([hhmm, hhmm])).max(4);
export const workingHoursSchema = z
  .object(Object.fromEntries(DAYS.map((d) => [d, dayRanges])) as Record<(typeof DAYS)[number], typeof dayRanges>)
  .partial()
  .strict()
  .refine((wh) => Object.values(wh).every((ranges) => (ranges ?? []).every(([a, b]) => a < b)), {
    message: "each range must start before it ends",
  });

/** business_settings.inbound_call_action: forward to a number, or take a voicemail. The one schema (calls read it too). */
export const inboundCallActionSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("forward"), to: e164Schema }).strict(),
  z.object({ type: z.literal("voicemail") }).strict(),
]);

export interface BusinessSettingsView {
  businessId: number;
  workingHours: WorkingHours | null;
  reminderLeadMinutes: number;
  waMessagesPerMinute: number;
  waDailyCap: number;
  waQuietHoursStart: string | null;
  waQuietHoursEnd: string | null;
  outboundCallCap: number;
  inboundCallAction: z.infer<typeof inboundCallActionSchema> | null;
  greetingText: string | null;
  updatedAt: string;
}

/** The update body; `maxCalls` is the platform cap, which no business may exceed. */
export function settingsUpdateSchema(maxCalls: number) {
  return z
    .object({
      workingHours: workingHoursSchema.nullable(),
      reminderLeadMinutes: z
        .number()
        .int()
        .min(0)
        .max(7 * 24 * 60),
      waMessagesPerMinute: z.number().int().min(1).max(60),
      waDailyCap: z.number().int().min(1).max(10_000),
      waQuietHoursStart: hhmm.nullable(),
      waQuietHoursEnd: hhmm.nullable(),
      outboundCallCap: z.number().int().min(1).max(maxCalls, `must be at most the platform maximum (${maxCalls})`),
      inboundCallAction: inboundCallActionSchema.nullable(),
      greetingText: z.string().trim().max(500).nullable(),
    })
    .partial()
    .strict()
    .refine((b) => Object.keys(b).length > 0, { message: "give at least one setting" })
    .refine((b) => (b.waQuietHoursStart === undefined) === (b.waQuietHoursEnd === undefined), {
      path: ["waQuietHoursEnd"],
      message: "waQuietHoursStart and waQuietHoursEnd are set together",
    });
}

export async function loadSettings(db: Database, businessId: number): Promise<BusinessSettingsView> {
  // A business created before its settings row existed still gets the defaults.
  await db.insert(businessSettings).values({ businessId }).onConflictDoNothing();
  const [row] = await db.select().from(businessSettings).where(eq(businessSettings.businessId, businessId));
  const r = row!;
  return {
    businessId,
    workingHours: (r.workingHours as WorkingHours | null) ?? null,
    reminderLeadMinutes: r.reminderLeadMinutes,
    waMessagesPerMinute: r.waMessagesPerMinute,
    waDailyCap: r.waDailyCap,
    waQuietHoursStart: r.waQuietHoursStart,
    waQuietHoursEnd: r.waQuietHoursEnd,
    outboundCallCap: r.outboundCallCap,
    inboundCallAction: (r.inboundCallAction as BusinessSettingsView["inboundCallAction"]) ?? null,
    greetingText: r.greetingText,
    updatedAt: r.updatedAt.toISOString(),
  };
}

/** The cap that actually applies: the business's own, never above the platform maximum. */
export function effectiveCallCap(settings: Pick<BusinessSettingsView, "outboundCallCap">, config: Config): number {
  return Math.min(settings.outboundCallCap, config.MAX_CONCURRENT_CALLS);
}

export function businessStub(env: Env, businessId: number) {
  return env.BUSINESS_DO.getByName(businessObjectName(businessId));
}

/** Settings through the business's DO cache (TTL, invalidated on update, per business). */
export function getBusinessSettings(env: Env, businessId: number): Promise<BusinessSettingsView> {
  return businessStub(env, businessId).settings(businessId);
}
