/**
 * Appointments and their reminders (worker/services/appointments.ts and reminders.ts have the
 * rules), and the business's reminder text.
 */
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { businessIdOf, requireAuth, requirePermission } from "../auth/middleware";
import { businessSettings } from "../db/schema";
import { notFound } from "../errors";
import { idParam } from "../lib/schemas";
import { validate } from "../lib/validate";
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

export const appointmentRoutes = new Hono<AppEnv>();
for (const path of ["/api/appointments", "/api/appointments/*", "/api/settings/reminder-template"])
  appointmentRoutes.use(path, requireAuth);

async function profileOf(c: Parameters<typeof businessIdOf>[0]) {
  const business = await businessProfile(c.get("db")(), businessIdOf(c));
  if (!business) throw notFound("Business");
  return business;
}

appointmentRoutes.get(
  "/api/appointments",
  requirePermission("appointments.read"),
  validate("query", listAppointmentsQuery),
  async (c) => {
    const business = await profileOf(c);
    const page = await listAppointments(c.get("db")(), business.id, c.req.valid("query"));
    return c.json({ ...page, appointments: page.appointments.map((a) => appointmentView(a, business)) });
  },
);

appointmentRoutes.post(
  "/api/appointments",
  requirePermission("appointments.write"),
  validate("json", createAppointmentSchema),
  async (c) => {
    const business = await profileOf(c);
    const appointment = await createAppointment(c.get("db")(), business, c.req.valid("json"));
    return c.json({ appointment: appointmentView(appointment, business) }, 201);
  },
);

appointmentRoutes.get(
  "/api/appointments/:id",
  requirePermission("appointments.read"),
  validate("param", idParam),
  async (c) => {
    const business = await profileOf(c);
    const appointment = await getAppointment(c.get("db")(), business.id, c.req.valid("param").id);
    return c.json({ appointment: appointmentView(appointment, business) });
  },
);

appointmentRoutes.patch(
  "/api/appointments/:id",
  requirePermission("appointments.write"),
  validate("param", idParam),
  validate("json", updateAppointmentSchema),
  async (c) => {
    const business = await profileOf(c);
    const appointment = await updateAppointment(c.get("db")(), business, c.req.valid("param").id, c.req.valid("json"));
    return c.json({ appointment: appointmentView(appointment, business) });
  },
);

/** Cancels the appointment (and its reminder if not sent); the record stays. */
appointmentRoutes.delete(
  "/api/appointments/:id",
  requirePermission("appointments.write"),
  validate("param", idParam),
  async (c) => {
    const business = await profileOf(c);
    const appointment = await cancelAppointment(c.get("db")(), business.id, c.req.valid("param").id);
    return c.json({ appointment: appointmentView(appointment, business) });
  },
);

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

appointmentRoutes.get("/api/settings/reminder-template", requirePermission("settings.read"), async (c) =>
  c.json(await reminderTemplateView(c)),
);

/** `{ template: "..." }` sets the business's own text; `{ template: null }` goes back to the default. */
appointmentRoutes.put(
  "/api/settings/reminder-template",
  requirePermission("settings.update"),
  validate("json", z.object({ template: templateSchema("reminder").nullable() }).strict()),
  async (c) => {
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
    return c.json(await reminderTemplateView(c));
  },
);
