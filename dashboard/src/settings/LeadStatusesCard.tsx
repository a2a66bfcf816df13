/**
 * The lead book's statuses (admins manage): label and colour of each, new ones with a machine key,
 * and deleting one that is not the default. The leads page's chips and filters read the same list.
 */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { contract, fromContract } from "../api/client";
import type { LeadStatus } from "../api/types";
import { useI18n } from "../i18n/I18nProvider";
import { leadKeys, useLeadStatuses } from "../leads/hooks/useLeads";
import { useCan } from "../permissions/useCan";
import { useToast } from "../toasts/ToastProvider";
import { ConfirmDialog } from "../ui/ConfirmDialog";
import { Field } from "../ui/Field";
import { useFieldErrors } from "../ui/fieldErrors";
import { StatusChip } from "../ui/StatusChip";

export function LeadStatusesCard() {
  const { t } = useI18n();
  const can = useCan();
  const toast = useToast();
  const queryClient = useQueryClient();
  const fields = useFieldErrors();
  const manage = can("lead_statuses.manage");
  const statuses = useLeadStatuses();
  const [form, setForm] = useState({ key: "", label: "", color: "#64748b" });
  const [deleting, setDeleting] = useState<LeadStatus | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: leadKeys.statuses });
  const create = useMutation({
    mutationFn: () => fromContract(contract.POST("/api/lead-statuses", { body: form })),
    onSuccess: async () => {
      setForm({ key: "", label: "", color: "#64748b" });
      await refresh();
      toast.success(t("common.saved"));
    },
    onError: (err) => {
      fields.capture(err);
      toast.error(err);
    },
  });
  const update = useMutation({
    mutationFn: (s: { id: number; label: string; color: string }) =>
      fromContract(
        contract.PATCH("/api/lead-statuses/{id}", {
          params: { path: { id: s.id } },
          body: { label: s.label, color: s.color },
        }),
      ),
    onSuccess: refresh,
    onError: toast.error,
  });
  const remove = useMutation({
    mutationFn: (id: number) => fromContract(contract.DELETE("/api/lead-statuses/{id}", { params: { path: { id } } })),
    onSuccess: async () => {
      setDeleting(null);
      await refresh();
    },
    onError: (err) => {
      setDeleting(null);
      toast.error(err);
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    fields.clear();
    create.mutate();
  }
  return (
    <section className="card stack" aria-labelledby="lead-statuses">
      <h2 id="lead-statuses">{t("statuses.title")}</h2>
      <ul className="plain-list" data-testid="status-list">
        {statuses.data?.statuses.map((s) => (
          <li key={s.id} className="list-row">
            <StatusChip statusKey={s.key} statuses={statuses.data?.statuses} />
            {manage ? (
              <span className="row">
                <input
                  aria-label={t("statuses.label", { key: s.key })}
                  defaultValue={s.label}
                  maxLength={80}
                  onBlur={(e) => {
                    const label = e.target.value.trim();
                    if (label && label !== s.label) update.mutate({ id: s.id, label, color: s.color });
                  }}
                />
                <input
                  type="color"
                  aria-label={t("statuses.color", { key: s.key })}
                  defaultValue={s.color}
                  onChange={(e) => update.mutate({ id: s.id, label: s.label, color: e.target.value })}
                />
                {!s.isDefault && (
                  <button type="button" className="link-button" onClick={() => setDeleting(s)}>
                    {t("statuses.delete")}
                  </button>
                )}
              </span>
            ) : (
              <span className="muted small" dir="ltr">
                {s.key}
              </span>
            )}
          </li>
        ))}
      </ul>
      {manage && (
        <form className="stack" onSubmit={submit} noValidate aria-label={t("statuses.new")}>
          <h3>{t("statuses.new")}</h3>
          <div className="row">
            <Field
              label={t("statuses.key")}
              value={form.key}
              dir="ltr"
              hint={t("statuses.keyHint")}
              error={fields.errors.key}
              onChange={(e) => setForm({ ...form, key: e.target.value })}
            />
            <Field
              label={t("statuses.labelField")}
              value={form.label}
              error={fields.errors.label}
              onChange={(e) => setForm({ ...form, label: e.target.value })}
            />
            <Field
              label={t("statuses.colorField")}
              type="color"
              value={form.color}
              error={fields.errors.color}
              onChange={(e) => setForm({ ...form, color: e.target.value })}
            />
          </div>
          <div className="actions">
            <button type="submit" className="button primary" disabled={create.isPending}>
              {t("statuses.add")}
            </button>
          </div>
        </form>
      )}
      <ConfirmDialog
        open={deleting !== null}
        title={t("statuses.deleteTitle", { label: deleting?.label ?? "" })}
        body={t("statuses.deleteBody")}
        confirmLabel={t("statuses.delete")}
        danger
        busy={remove.isPending}
        onConfirm={() => deleting && remove.mutate(deleting.id)}
        onClose={() => setDeleting(null)}
      />
    </section>
  );
}
