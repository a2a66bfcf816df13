/**
 * A thread as one timeline: the customer's and our messages, and the team's private notes, in
 * the order they happened. Notes come from their own route (they are never messages), so the two
 * lists are merged here by time; equal times keep messages first.
 */
import type { ConversationNote, Message } from "../../api/types";

export type TimelineItem =
  | { kind: "message"; at: string; message: Message }
  | { kind: "note"; at: string; note: ConversationNote };

export function mergeTimeline(messages: readonly Message[], notes: readonly ConversationNote[]): TimelineItem[] {
  const items: TimelineItem[] = [
    ...messages.map((message) => ({ kind: "message" as const, at: message.sentAt, message })),
    ...notes.map((note) => ({ kind: "note" as const, at: note.createdAt, note })),
  ];
  // Array.prototype.sort is stable: same-instant items keep messages-then-notes, each in its own order.
  return items.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}
