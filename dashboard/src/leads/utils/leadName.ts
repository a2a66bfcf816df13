import type { Lead } from "../../api/types";
import { formatPhone } from "../../format/phones";

/** How a lead is named on screen: its name, else its phone, else its email, else #id. */
export function leadName(lead: Pick<Lead, "id" | "firstName" | "lastName" | "phoneE164" | "email">, region: string) {
  const name = [lead.firstName, lead.lastName].filter(Boolean).join(" ").trim();
  if (name) return name;
  if (lead.phoneE164) return formatPhone(lead.phoneE164, region);
  return lead.email ?? `#${lead.id}`;
}
