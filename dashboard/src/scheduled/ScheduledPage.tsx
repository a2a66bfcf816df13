/**
 * Scheduled messages: a template to one lead at a date and time of the business's clock (the API
 * reads the typed date and time on that clock), the list by status, and cancel for those not sent.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link } from "wouter";
import { contract, fromContract } from "../api/client";
import type { Lead } from "../api/types";
import { useBusiness } from "../auth/hooks/useBusiness";
import { formatDateTime } from "../format/dates";
import { useI18n } from "../i18n/I18nProvider";
import type { MessageKey } from "../i18n/messages";
import { LeadPicker } from "../leads/components/LeadPicker";
import { useCan } from "../permissions/useCan";
import { useToast } from "../toasts/ToastProvider";
import { Field, TextAreaField } from "../ui/Field";
import { useFieldErrors } from "../ui/fieldErrors";
import { scheduledKeys } from "./hooks/keys";

const STATUSES = ["pending", "queued", "sent", "failed", "cancelled"] as const;
type Status = (typeof STATUSES)[number];

export default function ScheduledPage() {
  const { t, locale } = useI18n();
  const can = useCan();
  const toast = useToast();
  const business = useBusiness();
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<Status | "">("pending");
  const list = useQuery({
    queryKey: scheduledKeys.list(status),
    queryFn: () =>
      fromContract(
        contract.GET("/api/scheduled-messages", { params: { query: { status: status || undefined, limit: 100 } } }),
      ),
  });
  const cancel = useMutation({
    mutationFn: (id: number) =>
      fromContract(contract.DELETE("/api/scheduled-messages/{id}", { params: { path: { id } } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: scheduledKeys.all }),
    onError: toast.error,
  });
  return (
    <section className="page">
      <h1>{t("scheduled.title")}</h1>
      {can("scheduled_messages.write") && <NewScheduled />}
      <fieldset className="plain tabs" aria-label={t("scheduled.byStatus")}>
        {(["", ...STATUSES] as const).map((s) => (
          <button
            key={s || "all"}
            type="button"
            className={status === s ? "button primary small" : "button small"}
            aria-pressed={status === s}
            onClick={() => setStatus(s)}
          >
            {s ? t(`scheduled.status.${s}` as MessageKey) : t("common.all")}
          </button>
        ))}
      </fieldset>
      {list.isPending ? (
        <p>{t("common.loading")}</p>
      ) : list.data?.scheduledMessages.length === 0 ? (
        <p className="muted">{t("scheduled.empty")}</p>
      ) : (
        <ul className="run-list" data-testid="scheduled-list">
          {list.data?.scheduledMessages.map((m) => (
            <li key={m.id} className="card run-row" data-status={m.status}>
              <div className="run-head">
                <span>
                  {formatDateTime(m.sendAt, locale, business.timezone)} ·{" "}
                  <Link href={`/leads/${m.leadId}`}>{t("scheduled.lead", { id: m.leadId })}</Link>
                </span>
                <span className={`chip run-status ${m.status}`}>{t(`scheduled.status.${m.status}` as MessageKey)}</span>
              </div>
              <p className="pre">{m.renderedText ?? m.template}</p>
              {m.lastError && <p className="field-error">{m.lastError}</p>}
              {can("scheduled_messages.write") && m.status === "pending" && (
                <div className="actions">
                  <button type="button" className="button danger small" onClick={() => cancel.mutate(m.id)}>
                    {t("common.cancel")}
                  </button>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function NewScheduled() {
  const { t } = useI18n();
  const toast = useToast();
  const business = useBusiness();
  const queryClient = useQueryClient();
  const fields = useFieldErrors();
  const [lead, setLead] = useState<Lead | null>(null);
  const [template, setTemplate] = useState("");
  const [date, setDate] = useState("");
  const [time, setTime] = useState("09:00");
  const create = useMutation({
    mutationFn: () =>
      fromContract(contract.POST("/api/scheduled-messages", { body: { leadId: lead?.id ?? 0, template, date, time } })),
    onSuccess: () => {
      toast.success(t("scheduled.created"));
      setTemplate("");
      void queryClient.invalidateQueries({ queryKey: scheduledKeys.all });
    },
    onError: (err) => {
      fields.capture(err);
      toast.error(err);
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    fields.clear();
    create.mutate();
  }
  return (
    <form className="card stack" onSubmit={submit} noValidate aria-label={t("scheduled.new")}>
      <h2>{t("scheduled.new")}</h2>
      <LeadPicker label={t("scheduled.leadLabel")} value={lead} onChange={setLead} error={fields.errors.leadId} />
      <TextAreaField
        label={t("lead.message")}
        rows={3}
        value={template}
        hint={t("scheduled.variablesHint")}
        error={fields.errors.template}
        onChange={(e) => setTemplate(e.target.value)}
      />
      <div className="row">
        <Field
          label={t("common.date")}
          type="date"
          value={date}
          error={fields.errors.date}
          onChange={(e) => setDate(e.target.value)}
        />
        <Field
          label={t("common.time")}
          type="time"
          value={time}
          error={fields.errors.time}
          onChange={(e) => setTime(e.target.value)}
        />
      </div>
      <p className="field-hint">{t("campaigns.clockHint", { tz: business.timezone })}</p>
      <div className="actions">
        <button
          type="submit"
          className="button primary"
          disabled={create.isPending || !lead || !template.trim() || !date}
        >
          {t("scheduled.create")}
        </button>
      </div>
    </form>
  );
}
