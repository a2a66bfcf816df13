/**
 * One endpoint's delivery log (admin+): each event with its status and last answer; the attempts
 * of one (headers sent, status, the answer's first KB, duration); redeliver one, or every failure
 * since a time; send a test event; rotate the signing secret.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link } from "wouter";
import { api } from "../api/client";
import { useBusiness } from "../auth/hooks/useBusiness";
import { formatDateTime } from "../format/dates";
import { useI18n } from "../i18n/I18nProvider";
import type { MessageKey } from "../i18n/messages";
import { useCan } from "../permissions/useCan";
import { useToast } from "../toasts/ToastProvider";
import { Dialog } from "../ui/Dialog";
import { Field } from "../ui/Field";
import { SecretOnce } from "./components/SecretOnce";
import { integrationKeys } from "./queryKeys";

export default function WebhookLogPage({ id }: { id: number }) {
  const { t, locale } = useI18n();
  const business = useBusiness();
  const can = useCan();
  const toast = useToast();
  const queryClient = useQueryClient();
  const hooks = useQuery({ queryKey: integrationKeys.webhooks, queryFn: api.integrations.webhooks });
  const hook = hooks.data?.subscriptions.find((h) => h.id === id);
  const deliveries = useQuery({
    queryKey: integrationKeys.deliveries(id),
    queryFn: () => api.integrations.deliveries(id),
    // Pending deliveries move on by themselves: follow them while any is pending.
    refetchInterval: (q) => (q.state.data?.deliveries.some((d) => d.status === "pending") ? 2000 : false),
  });
  const [open, setOpen] = useState<number | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [since, setSince] = useState("");
  const refresh = () => void queryClient.invalidateQueries({ queryKey: integrationKeys.deliveries(id) });
  const test = useMutation({
    mutationFn: () => api.integrations.sendTest(id),
    onSuccess: () => {
      toast.success(t("hooks.testSent"));
      refresh();
    },
    onError: toast.error,
  });
  const rotate = useMutation({
    mutationFn: () => api.integrations.rotateSecret(id),
    onSuccess: (res) => {
      setSecret(res.secret);
      toast.success(t("hooks.rotated"));
      void queryClient.invalidateQueries({ queryKey: integrationKeys.webhooks });
    },
    onError: toast.error,
  });
  const redeliver = useMutation({
    mutationFn: (deliveryId: number) => api.integrations.redeliver(id, deliveryId),
    onSuccess: () => {
      toast.success(t("hooks.redelivered"));
      refresh();
    },
    onError: toast.error,
  });
  const redeliverSince = useMutation({
    mutationFn: (iso: string) => api.integrations.redeliverSince(id, iso),
    onSuccess: (res) => {
      toast.success(t("hooks.requeued", { count: res.requeued }));
      refresh();
    },
    onError: toast.error,
  });
  const mayManage = can("webhooks.manage");
  const when = (iso: string | null) => (iso ? formatDateTime(iso, locale, business.timezone) : "—");

  function submitSince(e: FormEvent) {
    e.preventDefault();
    if (since) redeliverSince.mutate(new Date(since).toISOString());
  }

  return (
    <section className="page">
      <p>
        <Link href="/webhooks">{t("hooks.back")}</Link>
      </p>
      <div className="page-head">
        <h1>
          {t("hooks.log")}: <span dir="ltr">{hook?.url ?? `#${id}`}</span>
        </h1>
        {mayManage && (
          <div className="actions">
            <button type="button" className="button" onClick={() => test.mutate()} disabled={!hook?.enabled}>
              {t("hooks.test")}
            </button>
            <button type="button" className="button" onClick={() => rotate.mutate()}>
              {t("hooks.rotate")}
            </button>
          </div>
        )}
      </div>
      {hook?.disabledReason && (
        <div className="banner banner-warning" role="alert">
          {t("hooks.disabledBecause", { reason: hook.disabledReason })}
        </div>
      )}
      {secret && <SecretOnce secret={secret} note={t("hooks.secretOnce")} />}
      {mayManage && (
        <form className="actions" onSubmit={submitSince}>
          <Field
            label={t("hooks.redeliverSince")}
            type="datetime-local"
            value={since}
            onChange={(e) => setSince(e.target.value)}
          />
          <button type="submit" className="button" disabled={!since || redeliverSince.isPending}>
            {t("hooks.redeliver")}
          </button>
        </form>
      )}
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">{t("audit.when")}</th>
              <th scope="col">{t("hooks.event")}</th>
              <th scope="col">{t("hooks.status")}</th>
              <th scope="col">{t("hooks.attempts")}</th>
              <th scope="col">{t("hooks.lastAnswer")}</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {deliveries.data?.deliveries.length === 0 && (
              <tr>
                <td colSpan={6} className="muted">
                  {t("hooks.noDeliveries")}
                </td>
              </tr>
            )}
            {deliveries.data?.deliveries.map((d) => (
              <tr key={d.id} data-status={d.status}>
                <td>{when(d.createdAt)}</td>
                <td dir="ltr">
                  <code>{d.eventType}</code>
                  <div className="muted">{d.eventId}</div>
                </td>
                <td>{t(`hooks.status.${d.status}` as MessageKey)}</td>
                <td>{d.attempts}</td>
                <td dir="ltr">{d.lastStatusCode ?? d.lastError ?? "—"}</td>
                <td>
                  <div className="actions">
                    <button type="button" className="link-button" onClick={() => setOpen(d.id)}>
                      {t("hooks.details")}
                    </button>
                    {mayManage && d.status !== "pending" && (
                      <button type="button" className="link-button" onClick={() => redeliver.mutate(d.id)}>
                        {t("hooks.redeliver")}
                      </button>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Dialog open={open !== null} wide title={t("hooks.details")} onClose={() => setOpen(null)}>
        {open !== null && <DeliveryDetail subscriptionId={id} deliveryId={open} />}
      </Dialog>
    </section>
  );
}

function DeliveryDetail({ subscriptionId, deliveryId }: { subscriptionId: number; deliveryId: number }) {
  const { t, locale } = useI18n();
  const business = useBusiness();
  const detail = useQuery({
    queryKey: integrationKeys.delivery(subscriptionId, deliveryId),
    queryFn: () => api.integrations.delivery(subscriptionId, deliveryId),
  });
  if (!detail.data) return <p>{t("common.loading")}</p>;
  return (
    <div className="stack" dir="ltr">
      <h3>{t("hooks.requestBody")}</h3>
      <pre className="pre">{detail.data.body}</pre>
      {detail.data.attempts.map((a) => (
        <div key={a.id} className="card stack">
          <strong>
            {formatDateTime(a.createdAt, locale, business.timezone)} · {a.responseStatus ?? a.error} · {a.durationMs} ms
          </strong>
          {a.error && <span className="field-error">{a.error}</span>}
          <pre className="pre">
            {Object.entries(a.requestHeaders)
              .map(([k, v]) => `${k}: ${v}`)
              .join("\n")}
          </pre>
          {a.responseSnippet && <pre className="pre">{a.responseSnippet}</pre>}
        </div>
      ))}
    </div>
  );
}
