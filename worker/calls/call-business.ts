/** What the calls part needs to know about a business: one query, business row plus its settings. */
import { eq } from "drizzle-orm";
import type { z } from "zod";
import type { Database } from "../db/client";
import { businesses, businessSettings } from "../db/schema";
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
