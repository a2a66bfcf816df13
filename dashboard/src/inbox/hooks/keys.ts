import type { ConversationFilters } from "../utils/filters";

/** Query keys of the inbox: one factory, so live events and mutations touch exactly these. */
export const inboxKeys = {
  all: ["inbox"] as const,
  /** Every list of conversations, whatever its filters (the prefix live events invalidate). */
  conversations: () => [...inboxKeys.all, "conversations"] as const,
  conversationList: (filters: ConversationFilters) => [...inboxKeys.conversations(), filters] as const,
  conversation: (conversationId: number) => [...inboxKeys.all, "conversation", conversationId] as const,
  messages: (conversationId: number) => [...inboxKeys.all, "messages", conversationId] as const,
  notes: (conversationId: number) => [...inboxKeys.all, "notes", conversationId] as const,
  outbound: (outboundId: number) => ["outbound", outboundId] as const,
  /** Not under `all`: an inbound message changes no canned reply, so it need not refetch them. */
  cannedReplies: ["canned-replies"] as const,
};
