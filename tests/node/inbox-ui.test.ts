/**
 * The inbox page's own logic, apart from the browser: snooze times on the business's clock, the
 * filters in the address, notes merged into the thread by time, `/` and canned-reply matching,
 * the search hit's highlighting, the list's pages as one list, and which queries a live
 * `conversation` event refreshes.
 */
import { describe, expect, it } from "vitest";
import type { Conversation, ConversationNote, Message } from "../../dashboard/src/api/types";
import { formatRelative } from "../../dashboard/src/format/dates";
import { inboxKeys } from "../../dashboard/src/inbox/hooks/keys";
import { CANNED_VARIABLES, matchCanned, slashQuery } from "../../dashboard/src/inbox/utils/canned";
import { DEFAULT_FILTERS, filtersSearch, parseFilters } from "../../dashboard/src/inbox/utils/filters";
import { highlight } from "../../dashboard/src/inbox/utils/highlight";
import { conversationsOf } from "../../dashboard/src/inbox/utils/pages";
import { customSnoozeUntil, snoozeUntil, toDateTimeLocal } from "../../dashboard/src/inbox/utils/snooze";
import { mergeTimeline } from "../../dashboard/src/inbox/utils/timeline";
import { applyLiveFrame } from "../../dashboard/src/live/frames";
import { variablesFor } from "../../worker/services/templates";

describe("snooze presets", () => {
  // 2026-12-03 is a Thursday; 23:30 in Jerusalem (UTC+2 in December) is 21:30Z.
  const lateThursday = new Date("2026-12-03T21:30:00Z");

  it("'tomorrow 09:00' is the business's next morning, not the browser's or UTC's", () => {
    expect(snoozeUntil("tomorrow", lateThursday, "Asia/Jerusalem").toISOString()).toBe("2026-12-04T07:00:00.000Z");
    // The same instant is already Friday in Tokyo: tomorrow there is Saturday.
    expect(snoozeUntil("tomorrow", lateThursday, "Asia/Tokyo").toISOString()).toBe("2026-12-05T00:00:00.000Z");
  });

  it("'next Sunday' is never today, and crosses a daylight-saving change on the wall clock", () => {
    expect(snoozeUntil("nextWeek", lateThursday, "Asia/Jerusalem").toISOString()).toBe("2026-12-06T07:00:00.000Z");
    const sunday = new Date("2026-12-06T10:00:00Z");
    expect(snoozeUntil("nextWeek", sunday, "Asia/Jerusalem").toISOString()).toBe("2026-12-13T07:00:00.000Z");
    // Israel moves to summer time on Friday 2026-03-27: the Sunday after is 09:00 at UTC+3.
    expect(snoozeUntil("nextWeek", new Date("2026-03-26T08:00:00Z"), "Asia/Jerusalem").toISOString()).toBe(
      "2026-03-29T06:00:00.000Z",
    );
  });

  it("hours are hours from now", () => {
    expect(snoozeUntil("hour", lateThursday, "Asia/Jerusalem").toISOString()).toBe("2026-12-03T22:30:00.000Z");
    expect(snoozeUntil("threeHours", lateThursday, "Asia/Jerusalem").toISOString()).toBe("2026-12-04T00:30:00.000Z");
  });

  it("a custom date-time is read on the business's clock, and shown back the same way", () => {
    expect(customSnoozeUntil("2026-12-10T14:15", "Asia/Jerusalem")?.toISOString()).toBe("2026-12-10T12:15:00.000Z");
    expect(customSnoozeUntil("", "Asia/Jerusalem")).toBeNull();
    expect(toDateTimeLocal(lateThursday, "Asia/Jerusalem")).toBe("2026-12-03T23:30");
  });
});

describe("filters in the address", () => {
  it("defaults to all conversations that are open, and leaves defaults out of the address", () => {
    expect(parseFilters("")).toEqual(DEFAULT_FILTERS);
    expect(filtersSearch(DEFAULT_FILTERS)).toBe("");
  });

  it("round-trips a view, a status, an agent and a Hebrew search", () => {
    const filters = { view: "all" as const, status: "resolved" as const, assigneeId: 7, q: "תור מחר" };
    expect(parseFilters(filtersSearch(filters))).toEqual(filters);
  });

  it("ignores what it does not know", () => {
    expect(parseFilters("?view=everyone&status=closed&assignee=-3&q=%20%20")).toEqual(DEFAULT_FILTERS);
  });
});

describe("the thread's timeline", () => {
  const message = (id: number, sentAt: string) => ({ id, sentAt }) as Message;
  const note = (id: number, createdAt: string) => ({ id, createdAt }) as ConversationNote;

  it("puts notes between the messages they were written between", () => {
    const items = mergeTimeline(
      [message(1, "2026-12-01T10:00:00Z"), message(2, "2026-12-01T10:05:00Z")],
      [note(9, "2026-12-01T10:02:00Z"), note(8, "2026-12-01T09:00:00Z")],
    );
    expect(items.map((i) => (i.kind === "note" ? `n${i.note.id}` : `m${i.message.id}`))).toEqual([
      "n8",
      "m1",
      "n9",
      "m2",
    ]);
  });

  it("keeps a message before a note of the same instant", () => {
    const at = "2026-12-01T10:00:00Z";
    expect(mergeTimeline([message(1, at)], [note(1, at)]).map((i) => i.kind)).toEqual(["message", "note"]);
  });
});

describe("canned replies by `/`", () => {
  it("opens only for a slash at the very start with no space yet", () => {
    expect(slashQuery("/")).toBe("");
    expect(slashQuery("/Hou")).toBe("hou");
    expect(slashQuery("/hours and")).toBeNull();
    expect(slashQuery("see /hours")).toBeNull();
    expect(slashQuery("")).toBeNull();
  });

  it("lists shortcuts starting with the text first, then those containing it", () => {
    const replies = ["thanks", "hours", "open-hours", "address"].map((shortcut, id) => ({
      id,
      shortcut,
      body: "",
      updatedAt: "",
    }));
    expect(matchCanned(replies, "hou").map((r) => r.shortcut)).toEqual(["hours", "open-hours"]);
    expect(matchCanned(replies, "").map((r) => r.shortcut)).toEqual(["thanks", "hours", "open-hours", "address"]);
    expect(matchCanned(replies, "zzz")).toEqual([]);
  });

  it("offers exactly the variables the API renders in a canned reply", () => {
    expect([...CANNED_VARIABLES].sort()).toEqual([...variablesFor.canned].sort());
  });
});

describe("a search hit's snippet", () => {
  it("marks each searched word, Hebrew included, as text (never markup)", () => {
    expect(highlight("שלום, אפשר לקבוע תור למחר?", "תור")).toEqual([
      { text: "שלום, אפשר לקבוע ", hit: false },
      { text: "תור", hit: true },
      { text: " למחר?", hit: false },
    ]);
    expect(highlight("<b>Tomorrow</b> at 10", "tomorrow (")).toEqual([
      { text: "<b>", hit: false },
      { text: "Tomorrow", hit: true },
      { text: "</b> at 10", hit: false },
    ]);
    expect(highlight("no query", undefined)).toEqual([{ text: "no query", hit: false }]);
  });
});

describe("the list's pages", () => {
  const page = (...ids: number[]) => ({ conversations: ids.map((id) => ({ id }) as Conversation) });

  it("reads as one list, in page order", () => {
    expect(conversationsOf([page(9, 7, 5), page(4, 2)]).map((c) => c.id)).toEqual([9, 7, 5, 4, 2]);
    expect(conversationsOf(undefined)).toEqual([]);
  });

  it("shows a conversation two pages both hold once, where it came first", () => {
    expect(conversationsOf([page(9, 7, 5), page(5, 4), page(4, 1)]).map((c) => c.id)).toEqual([9, 7, 5, 4, 1]);
  });
});

describe("a conversation's last activity", () => {
  const now = Date.parse("2026-12-03T12:00:00Z");
  const ago = (seconds: number) => new Date(now - seconds * 1000).toISOString();
  const relative = (seconds: number, locale: "he" | "en") =>
    formatRelative(ago(seconds), locale, "Asia/Jerusalem", now);

  it("reads as words in Hebrew, without the number repeated in brackets", () => {
    expect(relative(2 * 3600, "he")).toBe("לפני שעתיים");
    expect(relative(60, "he")).toBe("לפני דקה");
    expect(relative(3 * 3600, "he")).toBe("לפני 3 שעות");
    expect(relative(2 * 3600, "en")).toBe("2 hours ago");
  });
});

describe("live events", () => {
  it("a conversation event makes its lists, its header and its notes stale, and nothing else", () => {
    const stale: unknown[] = [];
    applyLiveFrame((key) => stale.push(key), { type: "conversation", conversationId: 12, change: "note", cursor: 5 });
    expect(stale).toEqual([inboxKeys.conversations(), inboxKeys.conversation(12), inboxKeys.notes(12)]);
    // The list prefix covers every filtered list.
    const list = inboxKeys.conversationList({ view: "mine", status: "open", q: "תור" });
    expect(list.slice(0, inboxKeys.conversations().length)).toEqual([...inboxKeys.conversations()]);
  });
});
