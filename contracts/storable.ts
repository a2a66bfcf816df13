/**
 * What Postgres can store, as one boundary shared by the shard (its event builder) and the edge
 * (the event schema). WhatsApp content is sender-controlled: a text with U+0000, a lone surrogate
 * or a `fileLength` of 2^60 is a valid WhatsApp message, so it is cleaned or bounded here, never
 * refused (a refused event used to block every later event of its business).
 *
 * Runtime-neutral: no Node or Workers API.
 */

/** Postgres `integer`: ids such as business ids live in this range. */
export const PG_INT_MAX = 2_147_483_647;

/** The last second Postgres and JavaScript both represent as a timestamp (9999-12-31T23:59:59Z). */
export const MAX_UNIX_SECONDS = 253_402_300_799;

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const NUL = "\u0000";

/**
 * Text Postgres can store: U+0000 removed (Postgres `text` refuses it, SQLSTATE 22021), lone
 * surrogates replaced by U+FFFD (they are not valid UTF-8), cut to `max` UTF-16 units without
 * splitting a surrogate pair.
 */
export function cleanText(value: string, max: number): string {
  let out = value.replaceAll(NUL, "").replace(LONE_SURROGATE, "\uFFFD");
  if (out.length > max) {
    out = out.slice(0, max);
    // A pair cut in half leaves a lone high surrogate at the end: drop it.
    if (/[\uD800-\uDBFF]$/.test(out)) out = out.slice(0, -1);
  }
  return out;
}

/** `cleanText` for optional values: empty after cleaning counts as absent. */
export function cleanOptionalText(value: string | null | undefined, max: number): string | undefined {
  if (value === null || value === undefined) return undefined;
  const cleaned = cleanText(value, max);
  return cleaned === "" ? undefined : cleaned;
}

/** A count (e.g. a byte size) as a safe non-negative integer, or undefined when it is not one. */
export function boundedCount(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** Unix seconds a timestamp column can hold (1970 … 9999), or undefined. Fractions are floored. */
export function boundedUnixSeconds(value: unknown): number | undefined {
  if (typeof value !== "number" || !Number.isFinite(value)) return undefined;
  const seconds = Math.floor(value);
  return seconds > 0 && seconds <= MAX_UNIX_SECONDS ? seconds : undefined;
}

/** A small integer code (e.g. a disconnect status), or undefined when it is not one. */
export function boundedCode(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && Math.abs(value) <= PG_INT_MAX ? value : undefined;
}
