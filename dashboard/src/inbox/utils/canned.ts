/**
 * Typing `/` at the start of the composer asks for a canned reply: what follows the slash (up to
 * the first space) filters them by shortcut. Shortcuts that start with it come first, then those
 * that merely contain it.
 */
import type { CannedReply } from "../../api/types";

/** The shortcut being typed, or null when the composer is not asking for a canned reply. */
export function slashQuery(text: string): string | null {
  const m = /^\/(\S*)$/.exec(text);
  return m ? m[1]!.toLowerCase() : null;
}

export function matchCanned(replies: readonly CannedReply[], query: string, limit = 8): CannedReply[] {
  const q = query.toLowerCase();
  const starts = replies.filter((r) => r.shortcut.toLowerCase().startsWith(q));
  const contains = replies.filter(
    (r) => !r.shortcut.toLowerCase().startsWith(q) && r.shortcut.toLowerCase().includes(q),
  );
  return [...starts, ...contains].slice(0, limit);
}

/**
 * The variables a canned reply may use: the lead's, the business's and the lead's next appointment
 * (variablesFor.canned in worker/services/templates.ts;
 * tests/node/inbox-ui.test.ts holds the two lists equal). Written out here so the settings page does
 * not pull the Worker's template module (and zod) into the browser.
 */
export const CANNED_VARIABLES = [
  "first_name",
  "last_name",
  "full_name",
  "business_name",
  "appointment_title",
  "appointment_date",
  "appointment_weekday",
  "appointment_time",
  "appointment_location",
] as const;
