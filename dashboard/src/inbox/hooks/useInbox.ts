import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useState } from "react";
import { api } from "../../api/client";
import type { Message } from "../../api/types";
import { useMe } from "../../auth/hooks/useMe";
import type { ConversationFilters } from "../utils/filters";
import { inboxKeys } from "./keys";

export const CONVERSATIONS_PAGE_SIZE = 50;

/**
 * The list as filtered, in keyset pages (the API's cursor). The previous answer stays on screen
 * while a new filter or search loads. A live event's invalidation refetches every loaded page from
 * the first, each from the cursor the fresh page before it gives, so the pages stay one consistent
 * list however the conversations moved.
 */
export function useConversations(filters: ConversationFilters) {
  return useInfiniteQuery({
    queryKey: inboxKeys.conversationList(filters),
    queryFn: ({ pageParam, signal }) =>
      api.whatsapp.conversations(
        {
          view: filters.view,
          assigneeId: filters.assigneeId,
          status: filters.status === "all" ? undefined : filters.status,
          q: filters.q,
          limit: CONVERSATIONS_PAGE_SIZE,
          cursor: pageParam,
        },
        signal,
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    placeholderData: (previous) => previous,
  });
}

/** One conversation (header, assignee, status, times) whether or not the filtered list holds it. */
export function useConversation(conversationId: number | undefined) {
  return useQuery({
    queryKey: inboxKeys.conversation(conversationId ?? 0),
    queryFn: () => api.whatsapp.conversation(conversationId!),
    enabled: conversationId !== undefined,
    select: (data) => data.conversation,
  });
}

export function useThread(conversationId: number | undefined) {
  return useQuery({
    queryKey: inboxKeys.messages(conversationId ?? 0),
    queryFn: () => api.whatsapp.messages(conversationId!),
    enabled: conversationId !== undefined,
    // Oldest first for display.
    select: (data) => [...data.messages].reverse(),
  });
}

export function useMarkRead() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: api.whatsapp.markRead,
    onSuccess: (_res, conversationId) => {
      void queryClient.invalidateQueries({ queryKey: inboxKeys.conversations() });
      void queryClient.invalidateQueries({ queryKey: inboxKeys.conversation(conversationId) });
    },
  });
}

/** A reply shown before the server has it: pending until the thread holds it, failed with the reason. */
export interface PendingReply {
  clientMessageId: string;
  conversationId: number;
  text: string;
  outboundId?: number;
  state: "sending" | "queued" | "failed";
  error?: string;
  /** Whether resending may reuse clientMessageId (the outcome was unknown) or needs a new one. */
  reuseId: boolean;
  /** An attached file (then `text` is its caption), kept so a retry can upload it again. */
  attachment?: { file: File; fileName: string; contentType: string; voiceNote: boolean };
}

/**
 * Replies with an optimistic bubble. The API is idempotent on clientMessageId, so a retry after a
 * network error or a 5xx reuses it and can never send twice; a reply the shard refused for good
 * (outbound failed) is resent with a new id.
 */
export function useReplies(conversationId: number | undefined) {
  const queryClient = useQueryClient();
  const me = useMe();
  const [pending, setPending] = useState<PendingReply[]>([]);

  const update = useCallback(
    (id: string, patch: Partial<PendingReply>) =>
      setPending((list) => list.map((p) => (p.clientMessageId === id ? { ...p, ...patch } : p))),
    [],
  );

  const send = useMutation({
    mutationFn: (reply: PendingReply) =>
      reply.attachment
        ? api.whatsapp.attach(reply.conversationId, reply.attachment.file, {
            contentType: reply.attachment.contentType,
            fileName: reply.attachment.fileName,
            caption: reply.text,
            clientMessageId: reply.clientMessageId,
            voiceNote: reply.attachment.voiceNote,
          })
        : api.whatsapp.reply(reply.conversationId, reply.text, reply.clientMessageId),
    onMutate: (reply) => {
      setPending((list) => [...list.filter((p) => p.clientMessageId !== reply.clientMessageId), reply]);
    },
    onSuccess: (res, reply) => {
      update(reply.clientMessageId, { outboundId: res.outboundId, state: "queued" });
      void queryClient.invalidateQueries({ queryKey: inboxKeys.messages(reply.conversationId) });
    },
    onError: (err, reply) => update(reply.clientMessageId, { state: "failed", error: err.message, reuseId: true }),
  });

  /** Drops bubbles the thread now holds (matched by the idempotency key the API stores). */
  const reconcile = (messages: Message[] | undefined) => {
    if (!messages || !me) return pending.filter((p) => p.conversationId === conversationId);
    const keys = new Set(messages.map((m) => m.idempotencyKey).filter(Boolean));
    return pending.filter(
      (p) => p.conversationId === conversationId && !keys.has(`reply:${me.user.id}:${p.clientMessageId}`),
    );
  };

  return { send, pending, reconcile, update };
}

/** Follows one queued reply until it is sent or failed (live events usually get there first). */
export function useOutboundStatus(outboundId: number | undefined) {
  return useQuery({
    queryKey: inboxKeys.outbound(outboundId ?? 0),
    queryFn: () => api.whatsapp.outbound(outboundId!),
    enabled: outboundId !== undefined,
    refetchInterval: (q) => {
      const status = q.state.data?.message.status;
      return status === "sent" || status === "failed" || status === "cancelled" ? false : 3000;
    },
  });
}
