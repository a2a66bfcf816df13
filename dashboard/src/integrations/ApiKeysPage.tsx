/** API keys (owner/admin): list with prefix, scopes, last use; create (secret shown once); revoke. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { apiKeyScopeNames } from "../../../worker/auth/permissions";
import { type ApiKeyScope, api } from "../api/client";
import { useBusiness } from "../auth/hooks/useBusiness";
import { formatDateTime } from "../format/dates";
import { useI18n } from "../i18n/I18nProvider";
import type { MessageKey } from "../i18n/messages";
import { useToast } from "../toasts/ToastProvider";
import { Dialog } from "../ui/Dialog";
import { Field } from "../ui/Field";
import { useFieldErrors } from "../ui/fieldErrors";
import { SecretOnce } from "./components/SecretOnce";
import { integrationKeys } from "./queryKeys";

export default function ApiKeysPage() {
  const { t, locale } = useI18n();
  const business = useBusiness();
  const toast = useToast();
  const queryClient = useQueryClient();
  const keys = useQuery({ queryKey: integrationKeys.apiKeys, queryFn: api.integrations.apiKeys });
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const revoke = useMutation({
    mutationFn: api.integrations.revokeApiKey,
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: integrationKeys.apiKeys }),
    onError: toast.error,
  });
  const when = (iso: string | null) => (iso ? formatDateTime(iso, locale, business.timezone) : t("keys.never"));

  return (
    <section className="page">
      <div className="page-head">
        <h1>{t("keys.title")}</h1>
        <button type="button" className="button primary" onClick={() => setCreating(true)}>
          {t("keys.create")}
        </button>
      </div>
      <p className="muted">{t("keys.intro")}</p>
      {secret && <SecretOnce secret={secret} note={t("keys.secretOnce")} />}
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">{t("keys.name")}</th>
              <th scope="col">{t("keys.prefix")}</th>
              <th scope="col">{t("keys.scopes")}</th>
              <th scope="col">{t("keys.lastUsed")}</th>
              <th scope="col">{t("keys.status")}</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {keys.data?.apiKeys.length === 0 && (
              <tr>
                <td colSpan={6} className="muted">
                  {t("keys.noKeys")}
                </td>
              </tr>
            )}
            {keys.data?.apiKeys.map((k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td dir="ltr">
                  <code>{k.prefix}…</code>
                </td>
                <td dir="ltr">{k.scopes.join(", ")}</td>
                <td>
                  {when(k.lastUsedAt)}
                  {k.lastUsedIp && (
                    <span className="muted" dir="ltr">
                      {" "}
                      ({k.lastUsedIp})
                    </span>
                  )}
                </td>
                <td>
                  {t(`keys.status.${k.status}` as MessageKey)}
                  {k.expiresAt && k.status === "active" && <span className="muted"> · {when(k.expiresAt)}</span>}
                </td>
                <td>
                  {k.status !== "revoked" && (
                    <button
                      type="button"
                      className="link-button"
                      onClick={() => {
                        if (window.confirm(t("keys.revokeConfirm", { name: k.name }))) revoke.mutate(k.id);
                      }}
                    >
                      {t("keys.revoke")}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Dialog open={creating} title={t("keys.create")} onClose={() => setCreating(false)}>
        <CreateKey
          onDone={(s) => {
            setSecret(s);
            setCreating(false);
          }}
        />
      </Dialog>
    </section>
  );
}

function CreateKey({ onDone }: { onDone: (secret: string) => void }) {
  const { t } = useI18n();
  const toast = useToast();
  const queryClient = useQueryClient();
  const fields = useFieldErrors();
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<ApiKeyScope[]>(["leads:write"]);
  const [expiresAt, setExpiresAt] = useState("");
  const create = useMutation({
    mutationFn: api.integrations.createApiKey,
    onSuccess: (res) => {
      void queryClient.invalidateQueries({ queryKey: integrationKeys.apiKeys });
      onDone(res.secret);
    },
    onError: (err) => {
      fields.capture(err);
      toast.error(err);
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    fields.clear();
    create.mutate({
      name: name.trim(),
      scopes,
      expiresAt: expiresAt ? new Date(expiresAt).toISOString() : null,
    });
  }
  return (
    <form onSubmit={submit} noValidate className="stack">
      <Field label={t("keys.name")} value={name} error={fields.errors.name} onChange={(e) => setName(e.target.value)} />
      <fieldset className="field plain">
        <legend>{t("keys.scopes")}</legend>
        {apiKeyScopeNames.map((scope) => (
          <label key={scope} className="check-row" dir="ltr">
            <input
              type="checkbox"
              checked={scopes.includes(scope)}
              onChange={(e) => setScopes((s) => (e.target.checked ? [...s, scope] : s.filter((x) => x !== scope)))}
            />{" "}
            {scope}
          </label>
        ))}
        {fields.errors.scopes && <div className="field-error">{fields.errors.scopes}</div>}
      </fieldset>
      <Field
        label={t("keys.expiresAt")}
        type="date"
        value={expiresAt}
        error={fields.errors.expiresAt}
        onChange={(e) => setExpiresAt(e.target.value)}
      />
      <div className="actions">
        <button type="submit" className="button primary" disabled={create.isPending}>
          {t("keys.create")}
        </button>
      </div>
    </form>
  );
}
