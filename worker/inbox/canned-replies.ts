/**
 * Canned replies: a business's saved answers, typed as `/shortcut` in the composer. Bodies use the
 * project's one template language (services/templates.ts, use "canned"); rendering fills them
 * for one conversation's lead and business, exactly as a scheduled message would be filled.
 */
import { z } from "@hono/zod-openapi";
import type { Database } from "../db/client";
import { appointmentValues, businessProfile, leadsById, nextAppointments } from "../services/message-context";
import { type RenderResult, renderTemplate, templateSchema } from "../services/templates";

/**
 * `/hours`, `/מחירים`, `/follow-up_2`: lowercase letters of any script, digits, - and _. Typed
 * after a slash, so no spaces; stored lowercased so `/Hours` and `/hours` are one shortcut.
 */
export const shortcutSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[\p{Ll}\p{Lo}\p{Lm}\p{Mn}\p{Nd}_-]{1,40}$/u, "must be 1-40 lowercase letters, digits, - or _ (no spaces)");

export const cannedBodySchema = templateSchema("canned");

/** The body filled in for a conversation's lead (none: the fallbacks, e.g. "there" / "לקוח יקר"). */
export async function renderCannedReply(
  db: Database,
  businessId: number,
  leadId: number | null,
  body: string,
): Promise<RenderResult> {
  const business = await businessProfile(db, businessId);
  if (!business) throw new Error(`business ${businessId} not found`);
  const lead = leadId !== null ? ((await leadsById(db, [leadId])).get(leadId) ?? null) : null;
  const owned = lead && lead.businessId === businessId && lead.deletedAt === null ? lead : null;
  const appointment = owned ? (await nextAppointments(db, businessId, [owned.id])).get(owned.id) : undefined;
  return renderTemplate(
    body,
    {
      firstName: owned?.firstName ?? null,
      lastName: owned?.lastName ?? null,
      businessName: business.name,
      appointment: appointment ? appointmentValues(appointment, business) : null,
    },
    business.locale,
  );
}
