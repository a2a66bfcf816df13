/**
 * "When" in a request body, in one of two forms:
 *  - an exact instant: ISO 8601 with an offset (`"2027-01-12T10:00:00+02:00"`), under the
 *    caller's field name (`sendAt`, `startsAt`);
 *  - what a person types: `date` ("12/01", "12/01/2027", "2027-01-12", in the order of the
 *    business's locale) and `time` ("10:00"), read on the business's clock. A date without a year
 *    is its next occurrence (see resolveLocalDateTime in ./dates.ts).
 * Refusals name the field, like every other validation error.
 */
import { z } from "zod";
import { ApiError } from "../errors";
import { isoDateTime } from "../lib/schemas";
import { type BusinessClock, resolveLocalDateTime } from "./dates";

export const isoInstant = isoDateTime;

export const typedWhenFields = {
  date: z.string().trim().min(1).max(20).optional(),
  time: z.string().trim().min(1).max(10).optional(),
};

export interface WhenInput {
  date?: string | undefined;
  time?: string | undefined;
}

export function fieldError(field: string, message: string): ApiError {
  return new ApiError("validation_failed", `Invalid body: ${field}`, { fields: [{ field, message }] });
}

/**
 * The instant the body asks for, or null when it gives none (allowed on updates). `instantField`
 * names the ISO form (sendAt/startsAt). Seconds and milliseconds are dropped: messages and
 * appointments are scheduled to the minute, and whole seconds keep reminder keys exact.
 */
export function resolveWhen(
  input: WhenInput & Record<string, unknown>,
  instantField: string,
  clock: BusinessClock,
  now: Date,
): Date | null {
  const iso = input[instantField];
  const typed = input.date !== undefined || input.time !== undefined;
  if (iso !== undefined && typed) {
    throw fieldError(instantField, `give either ${instantField} or date and time, not both`);
  }
  if (typeof iso === "string") return toMinute(new Date(iso));
  if (!typed) return null;
  if (input.date === undefined) throw fieldError("date", "is required with time");
  if (input.time === undefined) throw fieldError("time", "is required with date");
  const resolved = resolveLocalDateTime({ date: input.date, time: input.time }, clock, now);
  if (!resolved.ok) throw fieldError(resolved.field, resolved.message);
  return toMinute(resolved.instant);
}

function toMinute(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 60_000) * 60_000);
}
