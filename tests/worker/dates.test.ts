/**
 * Dates as customers read them, checked inside workerd (its ICU and tz data are what production
 * formats with). Israel's 2026 DST: clocks jump 02:00 → 03:00 on Friday 27 March and fall back
 * 02:00 → 01:00 on Sunday 25 October.
 */
import { describe, expect, it } from "vitest";
import {
  formatAppointment,
  instantOf,
  parseTypedDate,
  reminderDueAt,
  resolveLocalDateTime,
  resolveYear,
} from "../../worker/services/dates";

const IL = { timezone: "Asia/Jerusalem", locale: "he-IL" };
const US = { timezone: "America/New_York", locale: "en-US" };

describe("appointment dates in the business's locale and zone", () => {
  it("gives the Hebrew weekday and date, and the time on the business's clock", () => {
    expect(formatAppointment(new Date("2027-01-12T08:00:00Z"), IL)).toEqual({
      date: "יום שלישי, 12 בינואר 2027",
      weekday: "יום שלישי",
      time: "10:00",
    });
  });

  it("takes the weekday from the business's zone, not UTC (the old system's weekday bug)", () => {
    // 22:30 UTC on Tuesday is 00:30 on Wednesday in Israel.
    const f = formatAppointment(new Date("2026-11-03T22:30:00Z"), IL);
    expect(f.weekday).toBe("יום רביעי");
    expect(f.date).toBe("יום רביעי, 4 בנובמבר 2026");
    expect(f.time).toBe("00:30");
  });

  it("shows 10:00 on both sides of a DST change (no fixed offset anywhere)", () => {
    // Winter (+02:00) the day before, summer (+03:00) the day of the change.
    expect(formatAppointment(new Date("2026-03-26T08:00:00Z"), IL)).toMatchObject({
      weekday: "יום חמישי",
      time: "10:00",
    });
    expect(formatAppointment(new Date("2026-03-27T07:00:00Z"), IL)).toMatchObject({
      weekday: "יום שישי",
      time: "10:00",
    });
    expect(formatAppointment(new Date("2026-10-24T07:00:00Z"), IL)).toMatchObject({
      weekday: "יום שבת",
      time: "10:00",
    });
    expect(formatAppointment(new Date("2026-10-25T08:00:00Z"), IL)).toMatchObject({
      weekday: "יום ראשון",
      time: "10:00",
    });
  });

  it("formats across the year boundary in the business's zone", () => {
    // Still 31 December in UTC; already New Year's Day (a Friday) in Israel.
    expect(formatAppointment(new Date("2026-12-31T22:30:00Z"), IL)).toEqual({
      date: "יום שישי, 1 בינואר 2027",
      weekday: "יום שישי",
      time: "00:30",
    });
    expect(formatAppointment(new Date("2027-01-01T05:30:00Z"), US)).toEqual({
      date: "Friday, January 1, 2027",
      weekday: "Friday",
      time: "12:30 AM",
    });
  });
});

describe("wall time to instant", () => {
  it("uses the offset in force on that date", () => {
    expect(instantOf({ year: 2026, month: 3, day: 26, hour: 10, minute: 0 }, IL.timezone).toISOString()).toBe(
      "2026-03-26T08:00:00.000Z",
    );
    expect(instantOf({ year: 2026, month: 3, day: 27, hour: 10, minute: 0 }, IL.timezone).toISOString()).toBe(
      "2026-03-27T07:00:00.000Z",
    );
  });

  it("moves a time skipped by DST forward by the gap, and takes the earlier of a repeated time", () => {
    expect(instantOf({ year: 2026, month: 3, day: 27, hour: 2, minute: 30 }, IL.timezone).toISOString()).toBe(
      "2026-03-27T00:30:00.000Z", // 03:30 summer time
    );
    expect(instantOf({ year: 2026, month: 10, day: 25, hour: 1, minute: 30 }, IL.timezone).toISOString()).toBe(
      "2026-10-24T22:30:00.000Z", // the first 01:30, still summer time
    );
    expect(instantOf({ year: 2026, month: 3, day: 8, hour: 2, minute: 30 }, US.timezone).toISOString()).toBe(
      "2026-03-08T07:30:00.000Z", // 03:30 EDT
    );
  });
});

describe("a date typed without a year is its next occurrence (the old year-correction bug)", () => {
  it('"12/01" typed in December means next January, not last January', () => {
    expect(resolveYear({ month: 1, day: 12 }, { year: 2026, month: 12, day: 20 })).toBe(2027);
    const r = resolveLocalDateTime({ date: "12/01", time: "10:00" }, IL, new Date("2026-12-20T09:00:00Z"));
    expect(r).toEqual({ ok: true, instant: new Date("2027-01-12T08:00:00Z"), year: 2027, yearInferred: true });
  });

  it("today counts as this year's occurrence; yesterday means next year", () => {
    expect(resolveYear({ month: 1, day: 12 }, { year: 2027, month: 1, day: 12 })).toBe(2027);
    expect(resolveYear({ month: 1, day: 12 }, { year: 2027, month: 1, day: 13 })).toBe(2028);
    expect(resolveYear({ month: 12, day: 31 }, { year: 2026, month: 6, day: 1 })).toBe(2026);
  });

  it("29/02 without a year is the next leap day", () => {
    expect(resolveYear({ month: 2, day: 29 }, { year: 2026, month: 3, day: 1 })).toBe(2028);
    expect(resolveYear({ month: 2, day: 29 }, { year: 2028, month: 2, day: 29 })).toBe(2028);
  });

  it("decides 'today' on the business's calendar, not UTC's", () => {
    // 22:30 UTC on 31 Dec 2026 is already 1 Jan 2027 in Israel: "31/12" is a year away there.
    const now = new Date("2026-12-31T22:30:00Z");
    const r = resolveLocalDateTime({ date: "31/12", time: "09:00" }, IL, now);
    expect(r.ok && r.year).toBe(2027);
    // In New York it is still 31 Dec 2026 (17:30): today.
    const ny = resolveLocalDateTime({ date: "12/31", time: "20:00" }, US, now);
    expect(ny.ok && ny.instant.toISOString()).toBe("2027-01-01T01:00:00.000Z");
  });

  it("keeps a year that was typed, including two-digit and ISO forms", () => {
    const now = new Date("2026-12-20T09:00:00Z");
    for (const date of ["12/01/2026", "12.1.26", "2026-01-12"]) {
      const r = resolveLocalDateTime({ date, time: "10:00" }, IL, now);
      expect(r, date).toMatchObject({ ok: true, year: 2026, yearInferred: false });
    }
  });

  it("reads day and month in the order of the business's locale", () => {
    expect(parseTypedDate("12/01", "he-IL")).toEqual({ ok: true, day: 12, month: 1, year: null });
    expect(parseTypedDate("01/12", "en-US")).toEqual({ ok: true, day: 12, month: 1, year: null });
    expect(parseTypedDate("12/01", "en-GB")).toEqual({ ok: true, day: 12, month: 1, year: null });
  });

  it("refuses dates that do not exist, and text that is not a date", () => {
    for (const text of ["31/02", "30/02/2028", "29/02/2027", "13/13", "0/5", "tomorrow", "12/01/1999", ""]) {
      expect(parseTypedDate(text, "he-IL").ok, text).toBe(false);
    }
    expect(parseTypedDate("29/02", "he-IL").ok).toBe(true);
    expect(resolveLocalDateTime({ date: "12/01", time: "25:00" }, IL, new Date())).toMatchObject({
      ok: false,
      field: "time",
    });
  });
});

describe("reminder due time", () => {
  it("whole days before keep the wall-clock time across a DST change", () => {
    // Friday 27 March 10:00 (summer) → Thursday 26 March 10:00 (winter): 23 elapsed hours.
    const startsAt = new Date("2026-03-27T07:00:00Z");
    expect(reminderDueAt(startsAt, 24 * 60, IL.timezone).toISOString()).toBe("2026-03-26T08:00:00.000Z");
    // Sunday 25 October 10:00 (winter) → Saturday 24 October 10:00 (summer): 25 elapsed hours.
    expect(reminderDueAt(new Date("2026-10-25T08:00:00Z"), 24 * 60, IL.timezone).toISOString()).toBe(
      "2026-10-24T07:00:00.000Z",
    );
  });

  it("the part below a day is elapsed time", () => {
    // 90 minutes before 03:30 summer time on the morning of the change is 01:00 winter time.
    const startsAt = new Date("2026-03-27T00:30:00Z");
    expect(reminderDueAt(startsAt, 90, IL.timezone).toISOString()).toBe("2026-03-26T23:00:00.000Z");
    expect(reminderDueAt(startsAt, 24 * 60 + 30, IL.timezone).toISOString()).toBe(
      new Date(Date.parse("2026-03-26T01:30:00Z") - 30 * 60_000).toISOString(),
    );
  });
});
