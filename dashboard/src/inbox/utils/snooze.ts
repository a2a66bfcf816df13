/**
 * Snooze times as people say them ("in an hour", "tomorrow at 09:00"), worked out on the
 * business's wall clock rather than the browser's: an agent abroad who snoozes "until tomorrow
 * 09:00" means the business's morning.
 */
import { addDays, weekdayOf, zonedInstant, zonedParts } from "../../format/dates";

export type SnoozePreset = "hour" | "threeHours" | "tomorrow" | "nextWeek";

export const SNOOZE_PRESETS: readonly SnoozePreset[] = ["hour", "threeHours", "tomorrow", "nextWeek"];

/** The morning hour the day-based presets wake a conversation at. */
export const SNOOZE_MORNING = "09:00";

/** When a preset ends, seen from `now` in `timeZone`. */
export function snoozeUntil(preset: SnoozePreset, now: Date, timeZone: string): Date {
  const today = zonedParts(now, timeZone).date;
  switch (preset) {
    case "hour":
      return new Date(now.getTime() + 3_600_000);
    case "threeHours":
      return new Date(now.getTime() + 3 * 3_600_000);
    case "tomorrow":
      return zonedInstant(addDays(today, 1), SNOOZE_MORNING, timeZone);
    case "nextWeek": {
      // The next Sunday (the first working day of an Israeli week), never today.
      const days = 7 - weekdayOf(today) || 7;
      return zonedInstant(addDays(today, days), SNOOZE_MORNING, timeZone);
    }
  }
}

/** A `datetime-local` value ("2026-12-03T09:00") read on the business's clock; null when empty or malformed. */
export function customSnoozeUntil(value: string, timeZone: string): Date | null {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(value);
  return m ? zonedInstant(m[1]!, m[2]!, timeZone) : null;
}

/** The `datetime-local` value of an instant on the business's clock (for the input's default and `min`). */
export function toDateTimeLocal(instant: Date, timeZone: string): string {
  const { date, time } = zonedParts(instant, timeZone);
  return `${date}T${time}`;
}
