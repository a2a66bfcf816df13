/**
 * Message templates: `{variable}` substitution for broadcasts, scheduled messages, appointment
 * reminders and the inbox's canned replies. One home for which variables exist, where each may be used, and what a missing
 * value becomes — so a customer never receives a raw "{first_name}".
 *
 * Syntax: `{name}`; `{{name}}` (the habit of other tools) is read the same way, as is `{ name }`.
 * Any other brace text is left as typed. A name that is not a known variable, or not available
 * where the template is used, is refused when the template is saved (400 naming the field).
 *
 * Missing values (the fallbacks):
 *  - first_name: the lead has no first name → "לקוח יקר" for Hebrew businesses, "there" otherwise
 *    (so "שלום {first_name}" → "שלום לקוח יקר", "Hi {first_name}" → "Hi there").
 *  - full_name: first and last name; neither → the first_name fallback.
 *  - last_name, appointment_location: dropped cleanly, with the space before them, so
 *    "Hi {first_name} {last_name}, …" → "Hi Dana, …".
 *  - business_name: always present.
 *  - appointment_*: in a reminder, always present. In a scheduled message they describe the
 *    lead's next upcoming appointment when the message is sent; with none there is no honest
 *    text to put there, so the render reports them as `unresolved` and the caller does not send
 *    (the scheduled message fails with that reason) rather than sending "your appointment on  at ".
 */
import { z } from "zod";

/** Where a template is used; each place offers its own variables. */
export type TemplateUse = "broadcast" | "scheduled" | "reminder" | "canned";

const LEAD = ["first_name", "last_name", "full_name"] as const;
const BUSINESS = ["business_name"] as const;
const APPOINTMENT = [
  "appointment_title",
  "appointment_date",
  "appointment_weekday",
  "appointment_time",
  "appointment_location",
] as const;

export const templateVariables = [...LEAD, ...BUSINESS, ...APPOINTMENT] as const;
export type TemplateVariable = (typeof templateVariables)[number];

/**
 * Broadcasts render thousands of messages at once from the lead row alone; per-lead appointment
 * look-ups there would be a query per lead, and "your next appointment" is not what a broadcast
 * is for. Scheduled messages and reminders may use appointment fields.
 */
export const variablesFor: Record<TemplateUse, readonly TemplateVariable[]> = {
  broadcast: [...LEAD, ...BUSINESS],
  scheduled: templateVariables,
  reminder: templateVariables,
  // A canned reply is rendered for one conversation while an agent writes: the lead's next
  // appointment is one look-up, and an unresolved one is shown to the agent, not sent.
  canned: templateVariables,
};

const APPOINTMENT_SET = new Set<string>(APPOINTMENT);

export const TEMPLATE_MAX_LENGTH = 4096;

// `{{ name }}` or `{ name }`; names are ASCII identifiers, so Hebrew or emoji in braces is text.
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}|\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}/g;

/** The variable names a template refers to, in order of first use. */
export function placeholdersOf(template: string): string[] {
  const names = new Set<string>();
  for (const m of template.matchAll(PLACEHOLDER)) names.add((m[1] ?? m[2])!);
  return [...names];
}

/** Why a template cannot be used for `use`, or an empty list. */
export function templateProblems(template: string, use: TemplateUse): string[] {
  const allowed = new Set<string>(variablesFor[use]);
  const problems: string[] = [];
  for (const name of placeholdersOf(template)) {
    if (allowed.has(name)) continue;
    if ((templateVariables as readonly string[]).includes(name)) {
      problems.push(`{${name}} cannot be used in a ${use} message`);
    } else {
      problems.push(`{${name}} is not a known variable (known: ${variablesFor[use].map((v) => `{${v}}`).join(", ")})`);
    }
  }
  return problems;
}

/** A template field for request bodies: trimmed, bounded, every variable known for `use`. */
export function templateSchema(use: TemplateUse) {
  return z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(TEMPLATE_MAX_LENGTH)
    .superRefine((text, ctx) => {
      for (const message of templateProblems(text, use)) ctx.addIssue({ code: "custom", message });
    });
}

export function isHebrew(locale: string): boolean {
  return /^(he|iw)(-|$)/i.test(locale);
}

/** What {first_name} becomes when the lead has none. */
export function firstNameFallback(locale: string): string {
  return isHebrew(locale) ? "לקוח יקר" : "there";
}

export interface TemplateValues {
  firstName?: string | null;
  lastName?: string | null;
  businessName: string;
  appointment?: {
    title: string;
    date: string;
    weekday: string;
    time: string;
    location?: string | null;
  } | null;
}

export interface RenderResult {
  text: string;
  /** Variables with no value and no fallback (appointment fields with no appointment). */
  unresolved: TemplateVariable[];
}

const blank = (v: string | null | undefined): v is null | undefined | "" =>
  v === null || v === undefined || v.trim() === "";

function variableValue(name: string, values: TemplateValues, locale: string): string | null {
  const first = blank(values.firstName) ? null : values.firstName.trim();
  const last = blank(values.lastName) ? null : values.lastName.trim();
  const appt = values.appointment ?? null;
  switch (name) {
    case "first_name":
      return first ?? firstNameFallback(locale);
    case "last_name":
      return last ?? "";
    case "full_name":
      return [first, last].filter(Boolean).join(" ") || firstNameFallback(locale);
    case "business_name":
      return values.businessName;
    case "appointment_title":
      return appt ? appt.title : null;
    case "appointment_date":
      return appt ? appt.date : null;
    case "appointment_weekday":
      return appt ? appt.weekday : null;
    case "appointment_time":
      return appt ? appt.time : null;
    case "appointment_location":
      return appt ? (blank(appt.location) ? "" : appt.location.trim()) : null;
    default:
      // Unknown names are refused when a template is saved; one that got into the database some
      // other way is dropped rather than sent raw.
      return "";
  }
}

/**
 * Fills in a template. An empty value takes the space before it along (or the one after it at
 * the start of a line), so dropping a value leaves no double spaces or " ," behind.
 */
export function renderTemplate(template: string, values: TemplateValues, locale: string): RenderResult {
  const unresolved = new Set<TemplateVariable>();
  let out = "";
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    const name = (m[1] ?? m[2])!;
    const start = m.index;
    const end = start + m[0].length;
    let value = variableValue(name, values, locale);
    if (value === null) {
      unresolved.add(name as TemplateVariable);
      value = "";
    }
    out += template.slice(last, start);
    last = end;
    if (value === "") {
      const next = template[end];
      const atBoundary = next === undefined || next === "\n" || /[\s,.;:!?)\]]/.test(next);
      if (out.endsWith(" ") && atBoundary) out = out.replace(/ +$/, "");
      else if ((out === "" || out.endsWith("\n")) && next === " ") last = end + 1;
      continue;
    }
    out += value;
  }
  out += template.slice(last);
  return { text: out, unresolved: [...unresolved] };
}

/** Whether a template needs an appointment (so senders know to look one up). */
export function usesAppointment(template: string): boolean {
  return placeholdersOf(template).some((name) => APPOINTMENT_SET.has(name));
}

/** The reminder text when the business has not written its own (business_settings.reminder_template). */
export function defaultReminderTemplate(locale: string): string {
  return isHebrew(locale)
    ? "שלום {first_name}, תזכורת: {appointment_title} ב{appointment_date} בשעה {appointment_time}. {business_name}"
    : "Hi {first_name}, a reminder: {appointment_title} on {appointment_date} at {appointment_time}. {business_name}";
}
