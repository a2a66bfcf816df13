import type { Conversation } from "../../api/types";

/**
 * The loaded pages as one list, most recent activity first. Each page is read from the cursor the
 * page before it ended on, and activity only moves a conversation up, so pages do not overlap; if
 * one ever did (say the server's order changed between two reads), the conversation is shown once,
 * where it came first, and the next refetch puts it right.
 */
export function conversationsOf(pages: readonly { conversations: Conversation[] }[] | undefined): Conversation[] {
  const seen = new Set<number>();
  const list: Conversation[] = [];
  for (const page of pages ?? []) {
    for (const c of page.conversations) {
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      list.push(c);
    }
  }
  return list;
}
