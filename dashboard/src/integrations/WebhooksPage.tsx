/** Webhook endpoints (admin+): list, add (signing secret shown once), enable/disable, delete. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link } from "wouter";
import { api, type WebhookEventType } from "../api/client";
import { useI18n } from "../i18n/I18nProvider";
import { useCan } from "../permissions/useCan";
import { useToast } from "../toasts/ToastProvider";
import { Dialog } from "../ui/Dialog";
import { Field } from "../ui/Field";
import { useFieldErrors } from "../ui/fieldErrors";
import { SecretOnce } from "./components/SecretOnce";
import { integrationKeys } from "./queryKeys";

export default function WebhooksPage() {
  const { t } = useI18n();
  const can = useCan();
  const toast = useToast();
  const queryClient = useQueryClient();
  const hooks = useQuery({ queryKey: integrationKeys.webhooks, queryFn: api.integrations.webhooks });
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const invalidate = () => void queryClient.invalidateQueries({ queryKey: integrationKeys.webhooks });
  const toggle = useMutation({
    mutationFn: ({ id, enabled }: { id: number; enabled: boolean }) => api.integrations.updateWebhook(id, { enabled }),
    onSuccess: invalidate,
    onError: toast.error,
  });
  const remove = useMutation({
    mutationFn: api.integrations.deleteWebhook,
    onSuccess: invalidate,
    onError: toast.error,
  });
  const mayManage = can("webhooks.manage");

  return (
    <section className="page">
      <div className="page-head">
        <h1>{t("hooks.title")}</h1>
        {mayManage && (
          <button type="button" className="button primary" onClick={() => setCreating(true)}>
            {t("hooks.create")}
          </button>
        )}
      </div>
      <p className="muted">{t("hooks.intro")}</p>
      {secret && <SecretOnce secret={secret} note={t("hooks.secretOnce")} />}
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">{t("hooks.url")}</th>
              <th scope="col">{t("hooks.events")}</th>
              <th scope="col">{t("hooks.enabled")}</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {hooks.data?.subscriptions.length === 0 && (
              <tr>
                <td colSpan={4} className="muted">
                  {t("hooks.noHooks")}
                </td>
              </tr>
            )}
            {hooks.data?.subscriptions.map((h) => (
              <tr key={h.id}>
                <td dir="ltr">
                  <Link href={`/webhooks/${h.id}`}>{h.url}</Link>
                  {h.disabledReason && (
                    <div className="field-error">{t("hooks.disabledBecause", { reason: h.disabledReason })}</div>
                  )}
                </td>
                <td dir="ltr">{h.eventTypes.join(", ")}</td>
                <td>{h.enabled ? t("common.yes") : t("common.no")}</td>
                <td>
                  <div className="actions">
                    <Link href={`/webhooks/${h.id}`}>{t("hooks.log")}</Link>
                    {mayManage && (
                      <>
                        <button
                          type="button"
                          className="link-button"
                          onClick={() => toggle.mutate({ id: h.id, enabled: !h.enabled })}
                        >
                          {h.enabled ? t("hooks.disable") : t("hooks.enable")}
                        </button>
                        <button
                          type="button"
                          className="link-button"
                          onClick={() => {
                            if (window.confirm(t("hooks.deleteConfirm", { url: h.url }))) remove.mutate(h.id);
                          }}
                        >
                          {t("hooks.delete")}
                        </button>
                      </>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Dialog open={creating} title={t("hooks.create")} onClose={() => setCreating(false)}>
        <CreateWebhook
          eventTypes={hooks.data?.eventTypes ?? []}
          onDone={(s) => {
            setSecret(s);
            setCreating(false);
          }}
        />
      </Dialog>
    </section>
  );
}

function CreateWebhook(props: { eventTypes: WebhookEventType[]; onDone: (secret: string) => void }) {
  const { t } = useI18n();
  const toast = useToast();
  const queryClient = useQueryClient();
  const fields = useFieldErrors();
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<WebhookEventType[]>(["lead.created"]);
  const create = useMutation({
    mutationFn: api.integrations.createWebhook,
    onSuccess: (res) => {
      void queryClient.invalidateQueries({ queryKey: integrationKeys.webhooks });
      props.onDone(res.secret);
    },
    onError: (err) => {
      fields.capture(err);
      toast.error(err);
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    fields.clear();
    create.mutate({ url: url.trim(), eventTypes: events });
  }
  return (
    <form onSubmit={submit} noValidate className="stack">
      <Field
        label={t("hooks.url")}
        type="url"
        dir="ltr"
        placeholder="https://example.com/hooks/prosaas"
        value={url}
        error={fields.errors.url}
        onChange={(e) => setUrl(e.target.value)}
      />
      <fieldset className="field plain">
        <legend>{t("hooks.events")}</legend>
        {props.eventTypes.map((type) => (
          <label key={type} className="check-row" dir="ltr">
            <input
              type="checkbox"
              checked={events.includes(type)}
              onChange={(e) => setEvents((s) => (e.target.checked ? [...s, type] : s.filter((x) => x !== type)))}
            />{" "}
            {type}
          </label>
        ))}
        {fields.errors.eventTypes && <div className="field-error">{fields.errors.eventTypes}</div>}
      </fieldset>
      <div className="actions">
        <button type="submit" className="button primary" disabled={create.isPending}>
          {t("common.save")}
        </button>
      </div>
    </form>
  );
}
