/** Small zod building blocks shared by routes (kept here so every route validates alike). */
import { z } from "zod";

export const emailSchema = z
  .email({ message: "must be an email address" })
  .max(254)
  .transform((v) => v.trim().toLowerCase());

export const passwordSchema = z.string().min(10, "must be at least 10 characters").max(200);

export const timezoneSchema = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat("en", { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: "must be an IANA time zone such as Asia/Jerusalem" },
);

export const localeSchema = z.string().refine(
  (locale) => {
    try {
      return Intl.getCanonicalLocales(locale).length === 1;
    } catch {
      return false;
    }
  },
  { message: "must be a BCP 47 locale such as he-IL" },
);

export const regionSchema = z
  .string()
  .regex(/^[A-Za-z]{2}$/, "must be a two-letter region code such as IL")
  .transform((v) => v.toUpperCase());

/** Largest Postgres `integer`: a larger id can name no row, and must not reach the database. */
export const MAX_ID = 2_147_483_647;

export const idSchema = z.coerce
  .number()
  .int()
  .positive({ message: "must be a positive id" })
  .max(MAX_ID, "is not an id");

export const idParam = z.object({ id: idSchema });

export const hexColor = z.string().regex(/^#[0-9a-fA-F]{6}$/, "must be a #rrggbb colour");

/**
 * Instants the API takes (`from`, `to`, `startsAt`, `sendAt`, a run's `schedule.start`, …).
 * Postgres has no year 0 and refuses the six-digit years JavaScript writes after 9999, so an
 * unbounded ISO string was a 500. 1900 to 9999 covers everything a business schedules or
 * searches, with room above for the few days a duration or retry delay adds.
 */
export const MIN_INSTANT_MS = Date.UTC(1900, 0, 1);
export const MAX_INSTANT_MS = Date.UTC(9999, 0, 1);
export const INSTANT_RANGE_MESSAGE = "must be between the years 1900 and 9999";

export function isStorableInstant(ms: number): boolean {
  return Number.isFinite(ms) && ms >= MIN_INSTANT_MS && ms < MAX_INSTANT_MS;
}

export const isoDateTime = z.iso
  .datetime({ offset: true, message: "must be an ISO 8601 date-time with an offset" })
  .refine((v) => isStorableInstant(Date.parse(v)), { message: INSTANT_RANGE_MESSAGE });

/** Optional free text up to `max` characters, trimmed; an empty string clears the field (null). */
export const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .nullable()
    .optional()
    .transform((v) => (v === "" ? null : v));
