/**
 * A run that dials only during the business's working hours (business_settings.working_hours, in
 * the business's time zone): is it open now, and when does it next open.
 *
 * The next opening is computed in wall-clock minutes from now, so across a DST change it can be an
 * hour off; that only moves when a deferred job wakes up — the dial itself checks `isOpen` again
 * when it arrives, and defers once more if it is early.
 */
import type { WorkingHours } from "../services/settings";

const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      weekday: "short",
      hour: "numeric",
      minute: "numeric",
      hourCycle: "h23",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Weekday (0 = Sunday) and minutes since midnight of `instant` in `timeZone`. */
export function localTime(instant: Date, timeZone: string): { day: number; minutes: number } {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  const day = DAYS.indexOf(String(parts.weekday).toLowerCase().slice(0, 3) as (typeof DAYS)[number]);
  return { day, minutes: Number(parts.hour) * 60 + Number(parts.minute) };
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** True when no hours are set at all: then nothing restricts the run. */
export function hasNoHours(hours: WorkingHours | null): boolean {
  return !hours || DAYS.every((d) => (hours[d] ?? []).length === 0);
}

/**
 * When the business is next open, from `now`: `now` itself when open; null when it never opens
 * (no hours configured — the caller treats that as unrestricted).
 */
export function nextOpening(hours: WorkingHours | null, now: Date, timeZone: string): Date | null {
  if (!hours || hasNoHours(hours)) return null;
  const { day, minutes } = localTime(now, timeZone);
  let best: number | null = null;
  for (let ahead = 0; ahead <= 7; ahead++) {
    for (const range of hours[DAYS[(day + ahead) % 7]!] ?? []) {
      const [from, to] = [toMinutes(range[0]!), toMinutes(range[1]!)];
      if (ahead === 0 && minutes >= from && minutes < to) return now;
      const delta = ahead * 1440 + from - minutes;
      if (delta > 0 && (best === null || delta < best)) best = delta;
    }
  }
  if (best === null) return null;
  // To the start of that minute, so the wake-up is not a few seconds early.
  const at = new Date(now.getTime() + best * 60_000);
  at.setUTCSeconds(0, 0);
  return at;
}
