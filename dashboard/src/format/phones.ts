/**
 * Phone numbers: stored in E.164, shown in the business's national format (050-123-4567 for an
 * Israeli business), international for numbers of other countries. Validation for forms uses the
 * same library as the API (libphonenumber-js), in the business's region.
 */
import { type CountryCode, parsePhoneNumberFromString } from "libphonenumber-js/min";

export function formatPhone(e164: string | null | undefined, region: string): string {
  if (!e164) return "—";
  const phone = parsePhoneNumberFromString(e164);
  if (!phone) return e164;
  return phone.country === region ? phone.formatNational() : phone.formatInternational();
}

/** True when `input` is a valid number as typed in `region` (or in international form). */
export function isValidPhone(input: string, region: string): boolean {
  const phone = parsePhoneNumberFromString(input, region as CountryCode);
  return Boolean(phone?.isValid());
}

/** A WhatsApp chat JID (9725…@s.whatsapp.net) as a phone for display. */
export function phoneOfJid(jid: string, region: string): string {
  const digits = /^(\d{7,15})@s\.whatsapp\.net$/.exec(jid)?.[1];
  return digits ? formatPhone(`+${digits}`, region) : jid;
}
