/** Create or edit a lead. The phone is checked as typed (business region); the API has the last word. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api } from "../../api/client";
import type { Lead, LeadInput } from "../../api/types";
import { useBusiness } from "../../auth/hooks/useBusiness";
import { isValidPhone } from "../../format/phones";
import { useI18n } from "../../i18n/I18nProvider";
import { useToast } from "../../toasts/ToastProvider";
import { Field, SelectField, TextAreaField } from "../../ui/Field";
import { useFieldErrors } from "../../ui/fieldErrors";
import { leadKeys, useLeadStatuses } from "../hooks/useLeads";

export function LeadForm({ lead, onDone }: { lead?: Lead; onDone: (lead: Lead) => void }) {
  const { t } = useI18n();
  const toast = useToast();
  const business = useBusiness();
  const statuses = useLeadStatuses();
  const queryClient = useQueryClient();
  const fields = useFieldErrors();
  const [form, setForm] = useState({
    firstName: lead?.firstName ?? "",
    lastName: lead?.lastName ?? "",
    phone: lead?.phoneE164 ?? "",
    email: lead?.email ?? "",
    source: lead?.source ?? "",
    status: lead?.status ?? "",
    notes: lead?.notes ?? "",
    tags: lead?.tags.join(", ") ?? "",
  });
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [key]: e.target.value }));

  const save = useMutation({
    mutationFn: (input: LeadInput) => (lead ? api.leads.update(lead.id, input) : api.leads.create(input)),
    onSuccess: ({ lead: saved }) => {
      void queryClient.invalidateQueries({ queryKey: leadKeys.lists() });
      queryClient.setQueryData(leadKeys.detail(saved.id), { lead: saved });
      toast.success(t("leads.saved"));
      onDone(saved);
    },
    onError: (err) => {
      fields.capture(err);
      toast.error(err);
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    fields.clear();
    if (form.phone.trim() && !isValidPhone(form.phone.trim(), business.phoneRegion)) {
      fields.setErrors({ phone: t("leads.invalidPhone") });
      return;
    }
    save.mutate({
      firstName: form.firstName.trim() || null,
      lastName: form.lastName.trim() || null,
      phone: form.phone.trim() || null,
      email: form.email.trim() || null,
      source: form.source.trim() || null,
      ...(form.status ? { status: form.status } : {}),
      notes: form.notes.trim() || null,
      tags: form.tags
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    });
  }

  return (
    <form onSubmit={submit} noValidate className="form-grid">
      <Field
        label={t("leads.firstName")}
        value={form.firstName}
        error={fields.errors.firstName}
        onChange={set("firstName")}
      />
      <Field
        label={t("leads.lastName")}
        value={form.lastName}
        error={fields.errors.lastName}
        onChange={set("lastName")}
      />
      <Field
        label={t("leads.phone")}
        type="tel"
        dir="ltr"
        inputMode="tel"
        value={form.phone}
        error={fields.errors.phone}
        onChange={set("phone")}
      />
      <Field
        label={t("leads.email")}
        type="email"
        dir="ltr"
        value={form.email}
        error={fields.errors.email}
        onChange={set("email")}
      />
      <Field label={t("leads.source")} value={form.source} error={fields.errors.source} onChange={set("source")} />
      <SelectField label={t("leads.status")} value={form.status} error={fields.errors.status} onChange={set("status")}>
        {!lead && <option value="">{t("common.none")}</option>}
        {statuses.data?.statuses.map((s) => (
          <option key={s.key} value={s.key}>
            {s.label}
          </option>
        ))}
      </SelectField>
      <Field label={t("leads.tags")} value={form.tags} error={fields.errors.tags} onChange={set("tags")} />
      <TextAreaField
        label={t("leads.notes")}
        value={form.notes}
        error={fields.errors.notes}
        onChange={set("notes")}
        rows={3}
      />
      <div className="actions span-all">
        <button type="submit" className="button primary" disabled={save.isPending}>
          {t("common.save")}
        </button>
      </div>
    </form>
  );
}
