/** Query keys of the inbox: one factory, so live events and mutations touch exactly these. */
export const inboxKeys = {
  all: ["inbox"] as const,
  conversations: () => [...inboxKeys.all, "conversations"] as const,
  messages: (conversationId: number) => [...inboxKeys.all, "messages", conversationId] as const,
  outbound: (outboundId: number) => ["outbound", outboundId] as const,
};
