/**
 * Template variables: substitution, the fallbacks for missing values, and refusal of unknown
 * variables. The old system's scheduled messages went out with a raw "{first_name}" when a lead
 * had no first name; none of these may ever contain a known placeholder after rendering.
 */
import { describe, expect, it } from "vitest";
import {
  defaultReminderTemplate,
  placeholdersOf,
  renderTemplate,
  templateProblems,
  templateSchema,
} from "../../worker/services/templates";

const appointment = { title: "ייעוץ", date: "יום שלישי, 12 בינואר 2027", weekday: "יום שלישי", time: "10:00" };

describe("substitution", () => {
  it("fills in the lead, the business and the appointment", () => {
    const { text, unresolved } = renderTemplate(
      "שלום {first_name} {last_name}, {appointment_title} ב{appointment_date} בשעה {appointment_time}. {business_name}",
      { firstName: "דנה", lastName: "כהן", businessName: "מספרת רון", appointment },
      "he-IL",
    );
    expect(text).toBe("שלום דנה כהן, ייעוץ ביום שלישי, 12 בינואר 2027 בשעה 10:00. מספרת רון");
    expect(unresolved).toEqual([]);
  });

  it("reads {{name}} and { name } the same way, and leaves other braces alone", () => {
    const { text } = renderTemplate(
      "{{first_name}}/{ first_name } {שם} {} {1}",
      { firstName: "Dana", businessName: "B" },
      "en-US",
    );
    expect(text).toBe("Dana/Dana {שם} {} {1}");
  });
});

describe("missing values", () => {
  it("a missing first name becomes 'לקוח יקר' in Hebrew and 'there' otherwise, never a raw {first_name}", () => {
    expect(renderTemplate("שלום {first_name}!", { firstName: null, businessName: "B" }, "he-IL").text).toBe(
      "שלום לקוח יקר!",
    );
    expect(renderTemplate("Hi {first_name}!", { firstName: "  ", businessName: "B" }, "en-US").text).toBe("Hi there!");
    expect(renderTemplate("Hi {full_name}", { businessName: "B" }, "en-GB").text).toBe("Hi there");
  });

  it("a missing last name or location is dropped with its space, leaving clean text", () => {
    const values = { firstName: "Dana", lastName: null, businessName: "B" };
    expect(renderTemplate("Hi {first_name} {last_name}, welcome", values, "en-US").text).toBe("Hi Dana, welcome");
    expect(renderTemplate("{last_name} family, hello", values, "en-US").text).toBe("family, hello");
    expect(renderTemplate("Hi {first_name} {last_name}", values, "en-US").text).toBe("Hi Dana");
    expect(renderTemplate("Hi {full_name}!", { lastName: "Cohen", businessName: "B" }, "en-US").text).toBe("Hi Cohen!");
    expect(
      renderTemplate(
        "See you at {appointment_location} soon",
        { businessName: "B", appointment: { ...appointment, location: null } },
        "en-US",
      ).text,
    ).toBe("See you at soon");
  });

  it("appointment fields without an appointment are reported, not filled with blanks", () => {
    const r = renderTemplate("Your visit on {appointment_date} at {appointment_time}", { businessName: "B" }, "en-US");
    expect(r.unresolved.sort()).toEqual(["appointment_date", "appointment_time"]);
    expect(r.text).not.toMatch(/\{/);
  });

  it("no rendering ever leaves a known placeholder behind", () => {
    const all =
      "{first_name} {last_name} {full_name} {business_name} {appointment_title} {appointment_date} {appointment_weekday} {appointment_time} {appointment_location}";
    for (const values of [{ businessName: "B" }, { firstName: "", lastName: "", businessName: "B", appointment }]) {
      for (const locale of ["he-IL", "en-US"]) {
        expect(placeholdersOf(renderTemplate(all, values, locale).text)).toEqual([]);
      }
    }
  });
});

describe("validation when a template is saved", () => {
  it("refuses unknown variables, naming them", () => {
    expect(templateProblems("Hi {firstname}", "scheduled")).toEqual([
      expect.stringContaining("{firstname} is not a known variable"),
    ]);
    const parsed = templateSchema("broadcast").safeParse("Hi {first_name}, {foo}");
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.message).toContain("{foo}");
  });

  it("refuses appointment fields in a broadcast, and accepts them in scheduled messages and reminders", () => {
    expect(templateProblems("on {appointment_date}", "broadcast")).toEqual([
      "{appointment_date} cannot be used in a broadcast message",
    ]);
    expect(templateProblems("on {appointment_date}", "scheduled")).toEqual([]);
    expect(templateProblems(defaultReminderTemplate("he-IL"), "reminder")).toEqual([]);
    expect(templateProblems(defaultReminderTemplate("en-US"), "reminder")).toEqual([]);
  });

  it("refuses an empty or oversized template", () => {
    expect(templateSchema("broadcast").safeParse("   ").success).toBe(false);
    expect(templateSchema("broadcast").safeParse("x".repeat(5000)).success).toBe(false);
  });
});
