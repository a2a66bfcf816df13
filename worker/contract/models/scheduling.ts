/** Scheduled messages and appointments (with their reminders). */
import { z } from "@hono/zod-openapi";
import { appointmentStatuses, reminderStatuses, scheduledMessageStatuses } from "../../db/schema";
import { id, timestamp } from "./common";

export const scheduledMessageModel = z
  .strictObject({
    id,
    businessId: id,
    leadId: id,
    template: z.string(),
    renderedText: z.string().nullable(),
    sendAt: timestamp,
    status: z.enum(scheduledMessageStatuses),
    claimedAt: timestamp.nullable(),
    sentAt: timestamp.nullable(),
    waMessageId: z.string().nullable(),
    lastError: z.string().nullable(),
    createdByUserId: id.nullable(),
    createdAt: timestamp,
  })
  .openapi("ScheduledMessage");

/** An appointment, with `display`: its start in the business's locale and timezone. */
export const appointmentModel = z
  .strictObject({
    id,
    businessId: id,
    leadId: id,
    title: z.string(),
    location: z.string().nullable(),
    notes: z.string().nullable(),
    startsAt: timestamp,
    endsAt: timestamp.nullable(),
    status: z.enum(appointmentStatuses),
    reminderMinutesBefore: z.number().int().nullable(),
    reminderDueAt: timestamp.nullable(),
    reminderStatus: z.enum(reminderStatuses),
    reminderSentAt: timestamp.nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
    display: z
      .strictObject({ date: z.string(), weekday: z.string(), time: z.string() })
      .openapi({ example: { date: "יום שלישי, 12 בינואר 2027", weekday: "יום שלישי", time: "10:00" } }),
  })
  .openapi("Appointment");

export const reminderTemplateModel = z.strictObject({
  template: z.string().nullable().openapi({ description: "The business's own text; null = the built-in one" }),
  default: z.string(),
  preview: z.string().openapi({ description: "What a reminder would say now, for a sample appointment" }),
});
