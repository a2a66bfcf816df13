/** Says why WhatsApp sends are paused (ban signal, logged out) and offers resume to those allowed. */
import { useI18n } from "../../i18n/I18nProvider";
import { useCan } from "../../permissions/useCan";
import { useToast } from "../../toasts/ToastProvider";
import { useWhatsAppActions, useWhatsAppStatus } from "../hooks/useWhatsAppStatus";

export function PausedBanner() {
  const { t } = useI18n();
  const can = useCan();
  const toast = useToast();
  const status = useWhatsAppStatus();
  const { resume } = useWhatsAppActions();
  const sends = status.data?.sends;
  if (!sends?.paused) return null;
  return (
    <div className="banner banner-warning" role="alert">
      <span>{t("wa.paused", { reason: sends.pausedReason ?? "" })}</span>
      {can("whatsapp.manage") && (
        <button
          type="button"
          className="button"
          disabled={resume.isPending}
          onClick={() =>
            resume.mutate(undefined, { onSuccess: (r) => toast.success(t("wa.resumed", { count: r.requeued })) })
          }
        >
          {t("wa.resume")}
        </button>
      )}
    </div>
  );
}
