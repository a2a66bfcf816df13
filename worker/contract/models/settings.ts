import { z } from "@hono/zod-openapi";
import { id, timestamp } from "./common";

const hhmm = z.string().openapi({ example: "09:00" });
const days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
const dayRanges = z.array(z.array(hhmm));

/** Opening ranges per weekday in the business's timezone, e.g. { sun: [["09:00", "17:00"]] }. */
export const workingHoursModel = z
  .strictObject(
    Object.fromEntries(days.map((d) => [d, dayRanges.optional()])) as Record<
      (typeof days)[number],
      z.ZodOptional<typeof dayRanges>
    >,
  )
  .openapi("WorkingHours");

export const inboundCallActionModel = z
  .discriminatedUnion("type", [
    z.strictObject({ type: z.literal("forward"), to: z.string() }),
    z.strictObject({ type: z.literal("voicemail") }),
  ])
  .openapi("InboundCallAction");

/** services/settings.ts `BusinessSettingsView`. */
export const settingsModel = z
  .strictObject({
    businessId: id,
    workingHours: workingHoursModel.nullable(),
    reminderLeadMinutes: z.number().int(),
    waMessagesPerMinute: z.number().int(),
    waDailyCap: z.number().int(),
    waQuietHoursStart: hhmm.nullable(),
    waQuietHoursEnd: hhmm.nullable(),
    outboundCallCap: z.number().int(),
    inboundCallAction: inboundCallActionModel.nullable(),
    greetingText: z.string().nullable(),
    updatedAt: timestamp,
  })
  .openapi("BusinessSettings");

/** The settings and the values that actually apply (the call cap never exceeds the platform's). */
export const settingsResponseModel = z
  .strictObject({
    settings: settingsModel,
    effective: z.strictObject({ outboundCallCap: z.number().int() }),
  })
  .openapi("BusinessSettingsResponse");
