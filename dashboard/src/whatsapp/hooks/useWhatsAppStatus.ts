import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../../api/client";
import type { SessionInfo, WhatsAppStatus } from "../../api/types";
import { useToast } from "../../toasts/ToastProvider";
import { whatsappKeys } from "./keys";

/**
 * The WhatsApp session and send state. Live `whatsapp` events refetch it (QR rotation, connect,
 * logout, pause); while a QR is showing it is also polled, in case a rotation event is missed.
 */
export function useWhatsAppStatus() {
  return useQuery({
    queryKey: whatsappKeys.status(),
    queryFn: api.whatsapp.status,
    refetchInterval: (q) => (sessionOf(q.state.data?.session)?.state === "qr" ? 15_000 : false),
  });
}

export function sessionOf(session: WhatsAppStatus["session"] | undefined): SessionInfo | null {
  return session && "state" in session ? session : null;
}

export function useWhatsAppActions() {
  const queryClient = useQueryClient();
  const toast = useToast();
  const refresh = () => queryClient.invalidateQueries({ queryKey: whatsappKeys.all });
  const connect = useMutation({ mutationFn: api.whatsapp.connect, onSettled: refresh, onError: toast.error });
  const logout = useMutation({ mutationFn: api.whatsapp.logout, onSettled: refresh, onError: toast.error });
  const resume = useMutation({ mutationFn: api.whatsapp.resumeSends, onSettled: refresh, onError: toast.error });
  return { connect, logout, resume };
}
