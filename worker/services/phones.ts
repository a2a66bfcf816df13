/**
 * Phone numbers, with libphonenumber-js (full metadata, so validity is checked per number range,
 * not just by length). Everything stored is E.164.
 */
import { type CountryCode, parsePhoneNumberFromString } from "libphonenumber-js/max";
import { z } from "zod";

export type PhoneResult = { ok: true; e164: string } | { ok: false; message: string };

/** Reads a number as typed by a person; numbers without a country code are read in `region`. */
export function normalizePhone(input: string, region: string): PhoneResult {
  const text = input.trim();
  if (text === "") return { ok: false, message: "is empty" };
  const parsed = parsePhoneNumberFromString(text, region.toUpperCase() as CountryCode);
  if (!parsed) return { ok: false, message: `"${text.slice(0, 40)}" is not a phone number` };
  if (!parsed.isValid())
    return { ok: false, message: `"${text.slice(0, 40)}" is not a valid phone number for ${parsed.country ?? region}` };
  return { ok: true, e164: parsed.number };
}

/**
 * The E.164 shape (+, a non-zero digit, 7 to 15 digits in all): the one home of that rule. The same
 * pattern serves SQL (`E164_SQL`; Postgres regular expressions read `\d` alike).
 */
export const E164 = /^\+[1-9]\d{6,14}$/;
export const E164_SQL = E164.source;
export const isE164 = (v: string): boolean => E164.test(v);

/** A number already in E.164 form (+ and digits), valid. */
export const e164Schema = z.string().refine((v) => isE164(v) && normalizePhone(v, "US").ok, {
  message: "must be a valid phone number in E.164 form, e.g. +972501234567",
});
