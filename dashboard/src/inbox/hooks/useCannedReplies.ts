/** The business's canned replies: read by everyone who replies, managed by admins (settings). */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../../api/client";
import { inboxKeys } from "./keys";

export function useCannedReplies(enabled = true) {
  return useQuery({
    queryKey: inboxKeys.cannedReplies,
    queryFn: api.whatsapp.cannedReplies,
    select: (data) => data.cannedReplies,
    enabled,
    // They change rarely (an admin in settings, which refetches them); not on every keystroke.
    staleTime: 60_000,
  });
}

/** Create, change and delete (admins); each refetches the one list. Errors are the caller's (field errors). */
export function useCannedReplyMutations() {
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries({ queryKey: inboxKeys.cannedReplies });
  return {
    create: useMutation({ mutationFn: api.whatsapp.createCannedReply, onSuccess: refresh }),
    update: useMutation({
      mutationFn: (v: { id: number; shortcut: string; body: string }) =>
        api.whatsapp.updateCannedReply(v.id, { shortcut: v.shortcut, body: v.body }),
      onSuccess: refresh,
    }),
    remove: useMutation({ mutationFn: api.whatsapp.deleteCannedReply, onSuccess: refresh }),
  };
}

/** A canned reply's text for this conversation (the API fills in the lead's and business's variables). */
export function useRenderCannedReply(conversationId: number) {
  return useMutation({
    mutationFn: (cannedId: number) => api.whatsapp.renderCannedReply(conversationId, cannedId),
  });
}
