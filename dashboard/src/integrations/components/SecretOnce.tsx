/** A secret the API shows once (an API key, a signing secret): selectable, with a copy button. */
import { useI18n } from "../../i18n/I18nProvider";
import { useToast } from "../../toasts/ToastProvider";

export function SecretOnce({ secret, note }: { secret: string; note: string }) {
  const { t } = useI18n();
  const toast = useToast();
  return (
    <div className="banner banner-warning stack" role="status">
      <p>{note}</p>
      <code className="secret" dir="ltr" data-testid="secret-once">
        {secret}
      </code>
      <div className="actions">
        <button
          type="button"
          className="button"
          onClick={() =>
            void navigator.clipboard?.writeText(secret).then(
              () => toast.success(t("common.copied")),
              () => undefined,
            )
          }
        >
          {t("common.copy")}
        </button>
      </div>
    </div>
  );
}
