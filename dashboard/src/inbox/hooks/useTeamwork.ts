/**
 * Working a conversation as a team: who has it, its status, and the team's private notes. Each
 * mutation puts the API's answer in place and invalidates the lists (which filter on both); the
 * live hub's `conversation` event does the same in every other tab.
 */
import { type QueryClient, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../../api/client";
import type { Conversation, ConversationStatus } from "../../api/types";
import { useToast } from "../../toasts/ToastProvider";
import { inboxKeys } from "./keys";

function settle(queryClient: QueryClient, res: { conversation: Conversation }) {
  queryClient.setQueryData(inboxKeys.conversation(res.conversation.id), res);
  void queryClient.invalidateQueries({ queryKey: inboxKeys.conversations() });
}

export function useAssign(conversationId: number) {
  const queryClient = useQueryClient();
  const toast = useToast();
  return useMutation({
    mutationFn: (userId: number | null) => api.whatsapp.setAssignee(conversationId, userId),
    onSuccess: (res) => settle(queryClient, res),
    onError: toast.error,
  });
}

export function useSetStatus(conversationId: number) {
  const queryClient = useQueryClient();
  const toast = useToast();
  return useMutation({
    mutationFn: (v: { status: ConversationStatus; snoozedUntil?: Date }) =>
      api.whatsapp.setStatus(conversationId, v.status, v.snoozedUntil?.toISOString()),
    onSuccess: (res) => settle(queryClient, res),
    onError: toast.error,
  });
}

export function useNotes(conversationId: number) {
  return useQuery({
    queryKey: inboxKeys.notes(conversationId),
    queryFn: () => api.whatsapp.notes(conversationId),
    select: (data) => data.notes,
  });
}

/** The note's author or an admin (whatsapp.manage) may delete it. */
export function useDeleteNote(conversationId: number) {
  const queryClient = useQueryClient();
  const toast = useToast();
  return useMutation({
    mutationFn: (noteId: number) => api.whatsapp.deleteNote(conversationId, noteId),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: inboxKeys.notes(conversationId) }),
    onError: toast.error,
  });
}

export function useAddNote(conversationId: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: string) => api.whatsapp.addNote(conversationId, body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: inboxKeys.notes(conversationId) }),
  });
}
