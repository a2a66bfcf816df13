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
  if (Math.abs(seconds) < 60) return rtf.format(seconds, "second");
  if (Math.abs(seconds) < 3600) return rtf.format(Math.round(seconds / 60), "minute");
  if (Math.abs(seconds) < 86_400) return rtf.format(Math.round(seconds / 3600), "hour");
  return formatDate(iso, locale, timeZone);
}
