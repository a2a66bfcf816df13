/**
 * Appointments and their reminders (worker/services/appointments.ts and reminders.ts have the
 * rules), and the business's reminder text.
 */
import { z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { businessIdOf } from "../auth/middleware";
import { jsonBody, jsonContent } from "../contract/content";
import { appointmentModel, reminderTemplateModel } from "../contract/models/scheduling";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { businessSettings } from "../db/schema";
import { notFound } from "../errors";
import { idParam } from "../lib/schemas";
import {
  appointmentView,
  cancelAppointment,
  createAppointment,
  createAppointmentSchema,
  getAppointment,
  listAppointments,
  listAppointmentsQuery,
  updateAppointment,
  updateAppointmentSchema,
} from "../services/appointments";
import { formatAppointment } from "../services/dates";
import { businessProfile } from "../services/message-context";
import { defaultReminderTemplate, renderTemplate, templateSchema } from "../services/templates";

export const appointmentRoutes = createRouter();

const one = z.strictObject({ appointment: appointmentModel });

async function profileOf(c: Parameters<typeof businessIdOf>[0]) {
  const business = await businessProfile(c.get("db")(), businessIdOf(c));
  if (!business) throw notFound("Business");
  return business;
}

const list = apiRoute({
  method: "get",
  path: "/api/appointments",
  tag: "Appointments",
  summary: "Appointments by start time (default: upcoming), filtered by dates, lead and status",
  auth: { permission: "appointments.read" },
  request: { query: listAppointmentsQuery },
  responses: {
    200: jsonContent(
      z.strictObject({ appointments: z.array(appointmentModel), nextCursor: z.string().nullable() }),
      "A page of appointments",
    ),
  },
  errors: ["not_found"],
});

appointmentRoutes.openapi(list, async (c) => {
  const business = await profileOf(c);
  const page = await listAppointments(c.get("db")(), business.id, c.req.valid("query"));
  return c.json({ ...page, appointments: page.appointments.map((a) => appointmentView(a, business)) }, 200);
});

const create = apiRoute({
  method: "post",
  path: "/api/appointments",
  tag: "Appointments",
  summary: "Book an appointment (an instant, or a date and time of the business's clock) with its reminder",
  auth: { permission: "appointments.write" },
  request: { body: jsonBody(createAppointmentSchema) },
  responses: { 201: jsonContent(one, "Booked") },
  errors: ["not_found"],
});

appointmentRoutes.openapi(create, async (c) => {
  const business = await profileOf(c);
  const appointment = await createAppointment(c.get("db")(), business, c.req.valid("json"));
  return c.json({ appointment: appointmentView(appointment, business) }, 201);
});

const get = apiRoute({
  method: "get",
  path: "/api/appointments/{id}",
  tag: "Appointments",
  summary: "One appointment and its reminder's state",
  auth: { permission: "appointments.read" },
  request: { params: idParam },
  responses: { 200: jsonContent(one, "The appointment") },
  errors: ["not_found"],
});

appointmentRoutes.openapi(get, async (c) => {
  const business = await profileOf(c);
  const appointment = await getAppointment(c.get("db")(), business.id, c.req.valid("param").id);
  return c.json({ appointment: appointmentView(appointment, business) }, 200);
});

const update = apiRoute({
  method: "patch",
  path: "/api/appointments/{id}",
  tag: "Appointments",
  summary: "Change or reschedule an appointment (its reminder is planned again)",
  auth: { permission: "appointments.write" },
  request: { params: idParam, body: jsonBody(updateAppointmentSchema) },
  responses: { 200: jsonContent(one, "The updated appointment") },
  errors: ["not_found", "conflict"],
});

appointmentRoutes.openapi(update, async (c) => {
  const business = await profileOf(c);
  const appointment = await updateAppointment(c.get("db")(), business, c.req.valid("param").id, c.req.valid("json"));
  return c.json({ appointment: appointmentView(appointment, business) }, 200);
});

/** Cancels the appointment (and its reminder if not sent); the record stays. */
const cancel = apiRoute({
  method: "delete",
  path: "/api/appointments/{id}",
  tag: "Appointments",
  summary: "Cancel an appointment and its unsent reminder (the record stays)",
  auth: { permission: "appointments.write" },
  request: { params: idParam },
  responses: { 200: jsonContent(one, "Cancelled") },
  errors: ["not_found", "conflict"],
});

appointmentRoutes.openapi(cancel, async (c) => {
  const business = await profileOf(c);
  const appointment = await cancelAppointment(c.get("db")(), business.id, c.req.valid("param").id);
  return c.json({ appointment: appointmentView(appointment, business) }, 200);
});

// ---- the reminder text (business_settings.reminder_template) -----------------------------------

/** A sample of what a reminder would say, so the text can be checked before customers see it. */
function preview(template: string, business: { name: string; timezone: string; locale: string }): string {
  const sampleStart = new Date(Date.now() + 2 * 86_400_000);
  return renderTemplate(
    template,
    {
      firstName: null,
      lastName: null,
      businessName: business.name,
      appointment: { title: "…", location: null, ...formatAppointment(sampleStart, business) },
    },
    business.locale,
  ).text;
}

async function reminderTemplateView(c: Parameters<typeof businessIdOf>[0]) {
  const business = await profileOf(c);
  const [row] = await c
    .get("db")()
    .select({ template: businessSettings.reminderTemplate })
    .from(businessSettings)
    .where(eq(businessSettings.businessId, business.id));
  const custom = row?.template ?? null;
  const effective = custom ?? defaultReminderTemplate(business.locale);
  return { template: custom, default: defaultReminderTemplate(business.locale), preview: preview(effective, business) };
}

const getReminderTemplate = apiRoute({
  method: "get",
  path: "/api/settings/reminder-template",
  tag: "Business",
  summary: "The reminder text, the built-in default and a preview",
  auth: { permission: "settings.read" },
  responses: { 200: jsonContent(reminderTemplateModel, "The reminder text") },
  errors: ["not_found"],
});

appointmentRoutes.openapi(getReminderTemplate, async (c) => c.json(await reminderTemplateView(c), 200));

/** `{ template: "..." }` sets the business's own text; `{ template: null }` goes back to the default. */
const putReminderTemplate = apiRoute({
  method: "put",
  path: "/api/settings/reminder-template",
  tag: "Business",
  summary: "Set the reminder text (null: back to the built-in one)",
  auth: { permission: "settings.update" },
  request: { body: jsonBody(z.strictObject({ template: templateSchema("reminder").nullable() })) },
  responses: { 200: jsonContent(reminderTemplateModel, "The reminder text, with a preview") },
  errors: ["not_found"],
});

appointmentRoutes.openapi(putReminderTemplate, async (c) => {
  const businessId = businessIdOf(c);
  const { template } = c.req.valid("json");
  await c
    .get("db")()
    .insert(businessSettings)
    .values({ businessId, reminderTemplate: template })
    .onConflictDoUpdate({
      target: businessSettings.businessId,
      set: { reminderTemplate: template, updatedAt: new Date() },
    });
  return c.json(await reminderTemplateView(c), 200);
});
