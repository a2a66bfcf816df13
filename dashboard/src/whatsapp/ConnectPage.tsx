/**
 * WhatsApp connect (admin+): the session state; while pairing, the QR the shard rendered, replaced
 * as soon as it rotates (live `whatsapp` events refetch the status), or the pairing code.
 */

import { useBusiness } from "../auth/hooks/useBusiness";
import { formatPhone } from "../format/phones";
import { useI18n } from "../i18n/I18nProvider";
import type { MessageKey } from "../i18n/messages";
import { sessionOf, useWhatsAppActions, useWhatsAppStatus } from "./hooks/useWhatsAppStatus";

export default function ConnectPage() {
  const { t } = useI18n();
  const business = useBusiness();
  const status = useWhatsAppStatus();
  const { connect, logout } = useWhatsAppActions();
  const session = sessionOf(status.data?.session);
  const error = status.data && !session ? (status.data.session as { error: string }).error : null;
  // No session on the shard yet is simply "not connected".
  const state = session?.state ?? (error === "session_not_found" ? "closed" : undefined);

  return (
    <section className="page narrow">
      <h1>{t("wa.title")}</h1>
      <div className="card">
        <p>
          <strong>{t("wa.state")}: </strong>
          <span data-testid="wa-state" data-state={state ?? "unknown"}>
            {state
              ? t(`wa.state.${state}` as MessageKey)
              : status.isPending
                ? t("common.loading")
                : t("wa.state.unknown", { error: error ?? "" })}
          </span>
          {session?.reason && state !== "open" && <span className="muted"> · {session.reason}</span>}
        </p>
        {state === "open" && session?.phoneNumber && (
          <p>{t("wa.connectedAs", { phone: formatPhone(`+${session.phoneNumber}`, business.phoneRegion) })}</p>
        )}
        {session?.watchdog && (session.watchdog.state !== "ok" || session.watchdog.reconnects > 0) && (
          <p className="muted" data-testid="wa-watchdog" data-watchdog={session.watchdog.state}>
            {t(`wa.watchdog.${session.watchdog.state}` as MessageKey, { count: session.watchdog.reconnects })}
            {session.watchdog.reason && <> · {session.watchdog.reason}</>}
          </p>
        )}
        {state === "qr" && session?.qrDataUrl && (
          <figure className="qr">
            <img src={session.qrDataUrl} alt={t("wa.qrAlt")} data-qr={session.qr} width={264} height={264} />
            <figcaption>{t("wa.scan")}</figcaption>
          </figure>
        )}
        {state === "qr" && session?.pairingCode && (
          <p className="pairing-code" dir="ltr">
            {t("wa.pairingCode", { code: session.pairingCode })}
          </p>
        )}
        {state === "qr" && <p className="muted">{t("wa.pairingHelp")}</p>}
        <div className="actions">
          {status.data && state !== "open" && state !== "qr" && state !== "connecting" && (
            <button
              type="button"
              className="button primary"
              disabled={connect.isPending}
              onClick={() => connect.mutate()}
            >
              {t("wa.connect")}
            </button>
          )}
          {(state === "open" || state === "qr") && (
            <button type="button" className="button danger" disabled={logout.isPending} onClick={() => logout.mutate()}>
              {t("wa.logout")}
            </button>
          )}
        </div>
      </div>
    </section>
  );
}
