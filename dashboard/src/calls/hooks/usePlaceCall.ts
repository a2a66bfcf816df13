/**
 * Click-to-call, from the log or a lead: POST /api/calls. A refusal at capacity says which cap
 * refused and how many calls hold it (the API's `details`), in the UI's language.
 */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { contract, fromContract } from "../../api/client";
import { ApiError } from "../../api/errors";
import { useI18n } from "../../i18n/I18nProvider";
import { useToast } from "../../toasts/ToastProvider";
import { callKeys } from "./keys";

export function capRefusalText(err: unknown, t: ReturnType<typeof useI18n>["t"]): string | null {
  if (!(err instanceof ApiError) || err.code !== "call_capacity_reached") return null;
  const d = err.details as { cap?: string; active?: number; limit?: number } | undefined;
  const cap =
    d?.cap === "platform" ? t("calls.cap.platform") : d?.cap === "rate" ? t("calls.cap.rate") : t("calls.cap.business");
  return t("calls.capRefused", { cap, active: d?.active ?? "?", limit: d?.limit ?? "?" });
}

export function usePlaceCall(onPlaced?: () => void) {
  const { t } = useI18n();
  const toast = useToast();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (leadId: number) => fromContract(contract.POST("/api/calls", { body: { leadId } })),
    onSuccess: () => {
      toast.success(t("lead.callPlaced"));
      void queryClient.invalidateQueries({ queryKey: callKeys.all });
      onPlaced?.();
    },
    onError: (err) => {
      const refusal = capRefusalText(err, t);
      if (refusal) toast.error(new ApiError(409, "call_capacity_reached", refusal));
      else toast.error(err);
    },
  });
}
