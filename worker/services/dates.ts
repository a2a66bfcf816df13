/**
 * Dates as a business sees them: in its own time zone and locale. Everything here is built on
 * Intl (the runtime's ICU and tz database), never on fixed offsets, so DST and year boundaries
 * come out right; the functions are pure (they take `now`), so they are tested at any instant.
 *
 * - `formatAppointment`: "יום שלישי, 12 בינואר 2027" / "10:00" for he-IL, in the business's zone.
 *   The old system formatted in the server's zone (UTC), so an appointment at 00:30 Israel time
 *   got the previous day's weekday: formatting here always passes `timeZone`.
 * - `resolveLocalDateTime`: a date and time typed by a person ("12/01", "14:30") → an instant.
 *   A date typed without a year means its NEXT occurrence (the old system's year-correction bug
 *   sent "12/01" typed in December to last January).
 * - `reminderDueAt`: when a reminder N minutes before an appointment is due, DST-aware.
 */

export interface WallClock {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

export interface BusinessClock {
  timezone: string;
  locale: string;
}

// Creating a DateTimeFormat is expensive (ICU data); cache one per zone/locale/option set.
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(locale: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale}|${JSON.stringify(options)}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, options);
    formatters.set(key, f);
  }
  return f;
}

/** The wall clock of `instant` in `timeZone` (Gregorian, 24-hour, Latin digits). */
export function wallClockOf(instant: Date, timeZone: string): WallClock {
  const parts = formatter("en-US", {
    timeZone,
    calendar: "gregory",
    numberingSystem: "latn",
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  }).formatToParts(instant);
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
  return {
    year: get("year"),
    month: get("month"),
    day: get("day"),
    hour: get("hour") % 24,
    minute: get("minute"),
    second: get("second"),
  };
}

function wallAsUtcMs(w: WallClock): number {
  const ms = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  // Date.UTC maps years 0-99 to 1900-1999; we never want that.
  return w.year < 100 ? new Date(ms).setUTCFullYear(w.year) : ms;
}

/** The zone's offset from UTC at `ms` (milliseconds, positive east of Greenwich). */
function offsetAt(ms: number, timeZone: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  return wallAsUtcMs(wallClockOf(new Date(whole), timeZone)) - whole;
}

/**
 * The instant at which the wall clock in `timeZone` shows `wall`. A wall time can exist twice
 * (the hour repeated when DST ends) or not at all (the hour skipped when it starts); we follow
 * Temporal's "compatible" rule, which is what people mean: a repeated time is the EARLIER instant,
 * a skipped time is moved forward by the length of the gap (02:30 on the night clocks jump from
 * 02:00 to 03:00 becomes 03:30).
 */
export function instantOf(wall: Omit<WallClock, "second"> & { second?: number }, timeZone: string): Date {
  const local = wallAsUtcMs({ ...wall, second: wall.second ?? 0 });
  // Zones change offset at most once in any 48 hours, so the offsets a day either side are the
  // only candidates.
  const before = offsetAt(local - 86_400_000, timeZone);
  const after = offsetAt(local + 86_400_000, timeZone);
  const candidates = [...new Set([local - before, local - after])].filter((t) => offsetAt(t, timeZone) === local - t);
  if (candidates.length > 0) return new Date(Math.min(...candidates));
  // In the gap: keep the offset in force before the transition, which lands after it.
  return new Date(local - before);
}

/** Today's date on the business's calendar. */
export function todayIn(timeZone: string, now: Date): CalendarDate {
  const w = wallClockOf(now, timeZone);
  return { year: w.year, month: w.month, day: w.day };
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function compareDates(a: CalendarDate, b: CalendarDate): number {
  return a.year - b.year || a.month - b.month || a.day - b.day;
}

/**
 * The year of the next occurrence of day/month, counting today: the first year, from this year
 * on, in which that date exists and is not before `today`. "12/01" typed on 20 Dec 2026 → 2027;
 * typed on 12 Jan 2027 → 2027 (today). 29/02 → the next leap year that is not in the past.
 */
export function resolveYear(monthDay: { month: number; day: number }, today: CalendarDate): number {
  for (let year = today.year; year <= today.year + 8; year++) {
    if (monthDay.day > daysInMonth(year, monthDay.month)) continue;
    if (compareDates({ year, month: monthDay.month, day: monthDay.day }, today) >= 0) return year;
  }
  throw new RangeError(`no year has ${monthDay.day}/${monthDay.month}`);
}

/**
 * Whether the locale writes the month before the day in a numeric date (en-US: 1/12/2027 is
 * January 12), asked of Intl rather than kept in a table.
 */
export function monthFirst(locale: string): boolean {
  const types = formatter(locale, { year: "numeric", month: "numeric", day: "numeric", timeZone: "UTC" })
    .formatToParts(new Date(Date.UTC(2027, 0, 12)))
    .map((p) => p.type);
  return types.indexOf("month") < types.indexOf("day");
}

export type ParsedDate = { ok: true; month: number; day: number; year: number | null } | { ok: false; message: string };

/**
 * A date as a person types it: ISO "2027-01-12", or day and month with an optional year
 * ("12/01", "12.1.27", "12-01-2027") in the order the business's locale writes them (month
 * first for en-US). A two-digit year means 20yy. The day must exist in that month (29/02 needs a
 * leap year when the year is given).
 */
export function parseTypedDate(text: string, locale: string): ParsedDate {
  const trimmed = text.trim();
  let year: number | null = null;
  let month: number;
  let day: number;
  const iso = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(trimmed);
  if (iso) {
    year = Number(iso[1]);
    month = Number(iso[2]);
    day = Number(iso[3]);
  } else {
    const typed = /^(\d{1,2})[./-](\d{1,2})(?:[./-](\d{2}|\d{4}))?$/.exec(trimmed);
    if (!typed) return { ok: false, message: "must be a date such as 12/01, 12/01/2027 or 2027-01-12" };
    const [first, second] = [Number(typed[1]), Number(typed[2])];
    [month, day] = monthFirst(locale) ? [first, second] : [second, first];
    if (typed[3]) year = typed[3].length === 2 ? 2000 + Number(typed[3]) : Number(typed[3]);
  }
  if (month < 1 || month > 12) return { ok: false, message: `has no month ${month}` };
  if (year !== null && (year < 2000 || year > 2100))
    return { ok: false, message: "year must be between 2000 and 2100" };
  const maxDay = daysInMonth(year ?? 2028, month); // 2028 is a leap year: 29/02 without a year is fine
  if (day < 1 || day > maxDay) return { ok: false, message: `has no day ${day} in month ${month}` };
  return { ok: true, month, day, year };
}

export type ParsedTime = { ok: true; hour: number; minute: number } | { ok: false; message: string };

/** "14:30", "9:05" (24-hour). */
export function parseTypedTime(text: string): ParsedTime {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59)
    return { ok: false, message: "must be a 24-hour time such as 14:30" };
  return { ok: true, hour: Number(m[1]), minute: Number(m[2]) };
}

export type ResolvedDateTime =
  | { ok: true; instant: Date; year: number; yearInferred: boolean }
  | { ok: false; field: "date" | "time"; message: string };

/**
 * A typed date and time in the business's zone → the instant. Without a year, the date's next
 * occurrence on the business's calendar (see resolveYear); the time does not move it, so a time
 * earlier today stays today (the caller decides whether the past is allowed).
 */
export function resolveLocalDateTime(
  input: { date: string; time: string },
  clock: BusinessClock,
  now: Date,
): ResolvedDateTime {
  const date = parseTypedDate(input.date, clock.locale);
  if (!date.ok) return { ok: false, field: "date", message: date.message };
  const time = parseTypedTime(input.time);
  if (!time.ok) return { ok: false, field: "time", message: time.message };
  const year = date.year ?? resolveYear({ month: date.month, day: date.day }, todayIn(clock.timezone, now));
  const instant = instantOf(
    { year, month: date.month, day: date.day, hour: time.hour, minute: time.minute },
    clock.timezone,
  );
  return { ok: true, instant, year, yearInferred: date.year === null };
}

export interface FormattedAppointment {
  /** Weekday and date, in full: "יום שלישי, 12 בינואר 2027", "Tuesday, January 12, 2027". */
  date: string;
  /** "יום שלישי", "Tuesday". */
  weekday: string;
  /** "10:00", "10:00 AM": the locale's own 12/24-hour clock. */
  time: string;
}

/** An appointment's date and time as the business's customers read them. */
export function formatAppointment(instant: Date, clock: BusinessClock): FormattedAppointment {
  const { timezone: timeZone, locale } = clock;
  return {
    date: formatter(locale, { dateStyle: "full", timeZone }).format(instant),
    weekday: formatter(locale, { weekday: "long", timeZone }).format(instant),
    // Two-digit hours ("00:30", "09:05 AM"): CLDR's short style gives Hebrew "0:30", which reads oddly.
    time: formatter(locale, { hour: "2-digit", minute: "2-digit", timeZone }).format(instant),
  };
}

/**
 * When the reminder for an appointment at `startsAt` is due, `minutesBefore` ahead of it. Whole
 * days are counted on the business's wall clock and the remainder in elapsed minutes: "1 day
 * before" a 10:00 appointment is 10:00 the day before even when a DST change lies in between
 * (elapsed minutes would say 09:00 or 11:00); "90 minutes before" is 90 real minutes.
 */
export function reminderDueAt(startsAt: Date, minutesBefore: number, timeZone: string): Date {
  const days = Math.floor(minutesBefore / 1440);
  const rest = minutesBefore - days * 1440;
  let anchor = startsAt;
  if (days > 0) {
    const w = wallClockOf(startsAt, timeZone);
    const shifted = new Date(Date.UTC(w.year, w.month - 1, w.day - days));
    anchor = instantOf(
      {
        year: shifted.getUTCFullYear(),
        month: shifted.getUTCMonth() + 1,
        day: shifted.getUTCDate(),
        hour: w.hour,
        minute: w.minute,
        second: w.second,
      },
      timeZone,
    );
  }
  return new Date(anchor.getTime() - rest * 60_000);
}
