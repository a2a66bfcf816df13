/** Dates and times for people: Intl, in the business's timezone, in the UI's language. */
import type { Locale } from "../i18n/messages";

const intlLocale = (locale: Locale) => (locale === "he" ? "he-IL" : "en-GB");

export function formatDateTime(iso: string | null | undefined, locale: Locale, timeZone: string): string {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(intlLocale(locale), { dateStyle: "medium", timeStyle: "short", timeZone }).format(
    new Date(iso),
  );
}

export function formatDate(iso: string | null | undefined, locale: Locale, timeZone: string): string {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(intlLocale(locale), { dateStyle: "medium", timeZone }).format(new Date(iso));
}

export function formatTime(date: Date, locale: Locale, timeZone: string): string {
  return new Intl.DateTimeFormat(intlLocale(locale), { timeStyle: "short", timeZone }).format(date);
}

/** "5 minutes ago" style for recent times, else the date. */
export function formatRelative(iso: string | null | undefined, locale: Locale, timeZone: string, now = Date.now()) {
  if (!iso) return "—";
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(intlLocale(locale), { numeric: "auto" });
  if (Math.abs(seconds) < 60) return wordsOnly(rtf.format(seconds, "second"));
  if (Math.abs(seconds) < 3600) return wordsOnly(rtf.format(Math.round(seconds / 60), "minute"));
  if (Math.abs(seconds) < 86_400) return wordsOnly(rtf.format(Math.round(seconds / 3600), "hour"));
  return formatDate(iso, locale, timeZone);
}

/**
 * ICU's Hebrew says one and two in the word itself and then repeats the number in brackets
 * ("לפני שעתיים (2)", "לפני דקה (1)"), which reads as a typo: the words alone say it.
 */
function wordsOnly(relative: string): string {
  return relative.replace(/\s*\(\d+\)$/, "");
}

/** The wall-clock date (YYYY-MM-DD) and time (HH:MM) of an instant in a timezone. */
export function zonedParts(instant: Date | string, timeZone: string): { date: string; time: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(new Date(instant))
      .map((p) => [p.type, p.value]),
  );
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}` };
}

/**
 * The instant a wall-clock date and time name in a timezone (the first, when a DST change repeats
 * the hour). Found by correcting a UTC guess by the zone's offset there, twice (enough across a change).
 */
export function zonedInstant(date: string, time: string, timeZone: string): Date {
  const wanted = Date.parse(`${date}T${time}:00Z`);
  let guess = wanted;
  for (let i = 0; i < 2; i++) {
    const p = zonedParts(new Date(guess), timeZone);
    guess += wanted - Date.parse(`${p.date}T${p.time}:00Z`);
  }
  return new Date(guess);
}

/** YYYY-MM-DD plus n days (calendar arithmetic, no timezone involved). */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** Weekday of a YYYY-MM-DD date, 0 = Sunday. */
export function weekdayOf(date: string): number {
  return new Date(`${date}T00:00:00Z`).getUTCDay();
}

/** A calendar day's heading: weekday and date in the UI's language (the date is a plain date, read in UTC). */
export function formatDay(date: string, locale: Locale): string {
  return new Intl.DateTimeFormat(intlLocale(locale), {
    weekday: "short",
    day: "numeric",
    month: "short",
    timeZone: "UTC",
  }).format(new Date(`${date}T12:00:00Z`));
}

/** The same day on the Hebrew calendar ("כ״ה בטבת"), shown beside the civil date in Hebrew. */
export function formatHebrewCalendarDay(date: string): string {
  return new Intl.DateTimeFormat("he-IL-u-ca-hebrew", { day: "numeric", month: "long", timeZone: "UTC" }).format(
    new Date(`${date}T12:00:00Z`),
  );
}

/** Seconds as "1:05" (m:ss) or "1:02:05". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/**
 * A span of time for people, in its two largest units: "45 sec", "4 min", "2 hr 10 min", "3 days 4 hr"
 * (Intl's short unit names, in the UI's language).
 */
export function formatElapsed(seconds: number | null | undefined, locale: Locale): string {
  if (seconds === null || seconds === undefined) return "—";
  const unit = (value: number, name: "second" | "minute" | "hour" | "day") =>
    new Intl.NumberFormat(intlLocale(locale), { style: "unit", unit: name, unitDisplay: "short" }).format(value);
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return unit(s, "second");
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return unit(minutes, "minute");
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 ? `${unit(hours, "hour")} ${unit(minutes % 60, "minute")}` : unit(hours, "hour");
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${unit(days, "day")} ${unit(hours % 24, "hour")}` : unit(days, "day");
}
