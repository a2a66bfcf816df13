/**
 * Settings (owner edits, admin reads): the business profile, working hours, quiet hours, WhatsApp
 * limits, the outbound call cap, the appointment reminder template with the API's rendered preview,
 * the lead statuses and the inbox's canned replies (admins manage both).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useState } from "react";
import { api } from "../api/client";
import type { Settings, SettingsInput, WorkingHours } from "../api/types";
import { useI18n } from "../i18n/I18nProvider";
import type { MessageKey } from "../i18n/messages";
import { useCan } from "../permissions/useCan";
import { useToast } from "../toasts/ToastProvider";
import { Field, TextAreaField } from "../ui/Field";
import { useFieldErrors } from "../ui/fieldErrors";
import { BusinessProfileCard } from "./BusinessProfileCard";
import { CannedRepliesCard } from "./CannedRepliesCard";
import { LeadStatusesCard } from "./LeadStatusesCard";

const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
const settingsKeys = { settings: ["settings"] as const, reminder: ["settings", "reminder-template"] as const };

type DayForm = { open: boolean; from: string; to: string };

function toForm(wh: WorkingHours | null): Record<(typeof DAYS)[number], DayForm> {
  return Object.fromEntries(
    DAYS.map((d) => {
      const first = wh?.[d]?.[0];
      return [d, { open: Boolean(first), from: first?.[0] ?? "09:00", to: first?.[1] ?? "17:00" }];
    }),
  ) as Record<(typeof DAYS)[number], DayForm>;
}

export default function SettingsPage() {
  const { t } = useI18n();
  const settings = useQuery({ queryKey: settingsKeys.settings, queryFn: api.settings.get });
  return (
    <section className="page narrow">
      <h1>{t("settings.title")}</h1>
      <BusinessProfileCard />
      {settings.data ? <SettingsForm settings={settings.data.settings} /> : <p>{t("common.loading")}</p>}
      <ReminderTemplate />
      <LeadStatusesCard />
      <CannedRepliesCard />
    </section>
  );
}

function SettingsForm({ settings }: { settings: Settings }) {
  const { t } = useI18n();
  const can = useCan();
  const toast = useToast();
  const queryClient = useQueryClient();
  const fields = useFieldErrors();
  const editable = can("settings.update");
  const [days, setDays] = useState(() => toForm(settings.workingHours));
  const [form, setForm] = useState({
    quietStart: settings.waQuietHoursStart ?? "",
    quietEnd: settings.waQuietHoursEnd ?? "",
    perMinute: String(settings.waMessagesPerMinute),
    dailyCap: String(settings.waDailyCap),
    callCap: String(settings.outboundCallCap),
  });
  const save = useMutation({
    mutationFn: api.settings.update,
    onSuccess: (res) => {
      queryClient.setQueryData(settingsKeys.settings, res);
      toast.success(t("common.saved"));
    },
    onError: (err) => {
      fields.capture(err);
      toast.error(err);
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    fields.clear();
    const workingHours: NonNullable<SettingsInput["workingHours"]> = {};
    for (const d of DAYS) if (days[d].open) workingHours[d] = [[days[d].from, days[d].to]];
    save.mutate({
      workingHours,
      waQuietHoursStart: form.quietStart || null,
      waQuietHoursEnd: form.quietEnd || null,
      waMessagesPerMinute: Number(form.perMinute),
      waDailyCap: Number(form.dailyCap),
      outboundCallCap: Number(form.callCap),
    });
  }

  return (
    <form className="card stack" onSubmit={submit} noValidate>
      <fieldset disabled={!editable} className="plain">
        <legend>{t("settings.workingHours")}</legend>
        {fields.errors.workingHours && <p className="field-error">{fields.errors.workingHours}</p>}
        <div className="hours">
          {DAYS.map((d) => (
            <div key={d} className="hours-row">
              <label className="check-label">
                <input
                  type="checkbox"
                  checked={days[d].open}
                  onChange={(e) => setDays({ ...days, [d]: { ...days[d], open: e.target.checked } })}
                />
                {t(`settings.day.${d}` as MessageKey)}
              </label>
              <input
                type="time"
                aria-label={`${t(`settings.day.${d}` as MessageKey)} ${t("settings.from")}`}
                value={days[d].from}
                disabled={!days[d].open}
                onChange={(e) => setDays({ ...days, [d]: { ...days[d], from: e.target.value } })}
              />
              <span aria-hidden="true">–</span>
              <input
                type="time"
                aria-label={`${t(`settings.day.${d}` as MessageKey)} ${t("settings.to")}`}
                value={days[d].to}
                disabled={!days[d].open}
                onChange={(e) => setDays({ ...days, [d]: { ...days[d], to: e.target.value } })}
              />
            </div>
          ))}
        </div>
      </fieldset>
      <fieldset disabled={!editable} className="plain">
        <legend>{t("settings.quietHours")}</legend>
        <div className="row">
          <Field
            label={t("settings.from")}
            type="time"
            value={form.quietStart}
            error={fields.errors.waQuietHoursStart}
            onChange={(e) => setForm({ ...form, quietStart: e.target.value })}
          />
          <Field
            label={t("settings.to")}
            type="time"
            value={form.quietEnd}
            error={fields.errors.waQuietHoursEnd}
            onChange={(e) => setForm({ ...form, quietEnd: e.target.value })}
          />
        </div>
      </fieldset>
      <fieldset disabled={!editable} className="plain">
        <legend>{t("settings.waLimits")}</legend>
        <div className="row">
          <Field
            label={t("settings.perMinute")}
            type="number"
            min={1}
            max={60}
            value={form.perMinute}
            error={fields.errors.waMessagesPerMinute}
            onChange={(e) => setForm({ ...form, perMinute: e.target.value })}
          />
          <Field
            label={t("settings.dailyCap")}
            type="number"
            min={1}
            max={10000}
            value={form.dailyCap}
            error={fields.errors.waDailyCap}
            onChange={(e) => setForm({ ...form, dailyCap: e.target.value })}
          />
          <Field
            label={t("settings.callCap")}
            type="number"
            min={1}
            value={form.callCap}
            error={fields.errors.outboundCallCap}
            onChange={(e) => setForm({ ...form, callCap: e.target.value })}
          />
        </div>
      </fieldset>
      {editable && (
        <div className="actions">
          <button type="submit" className="button primary" disabled={save.isPending}>
            {t("common.save")}
          </button>
        </div>
      )}
    </form>
  );
}

function ReminderTemplate() {
  const { t } = useI18n();
  const can = useCan();
  const toast = useToast();
  const queryClient = useQueryClient();
  const fields = useFieldErrors();
  const current = useQuery({ queryKey: settingsKeys.reminder, queryFn: api.settings.reminderTemplate });
  const [text, setText] = useState("");
  useEffect(() => {
    if (current.data) setText(current.data.template ?? current.data.default);
  }, [current.data]);
  const save = useMutation({
    mutationFn: api.settings.setReminderTemplate,
    onSuccess: (res) => {
      queryClient.setQueryData(settingsKeys.reminder, res);
      toast.success(t("common.saved"));
    },
    onError: (err) => {
      fields.capture(err);
      toast.error(err);
    },
  });
  const editable = can("settings.update");
  return (
    <form
      className="card stack"
      onSubmit={(e) => {
        e.preventDefault();
        fields.clear();
        save.mutate(text);
      }}
      noValidate
    >
      <TextAreaField
        label={t("settings.reminder")}
        hint={t("settings.reminderHelp")}
        rows={3}
        value={text}
        disabled={!editable}
        error={fields.errors.template}
        onChange={(e) => setText(e.target.value)}
      />
      {current.data && (
        <div className="preview">
          <h3>{t("settings.preview")}</h3>
          <p className="bubble from-me">{current.data.preview}</p>
        </div>
      )}
      {editable && (
        <div className="actions">
          <button type="submit" className="button primary" disabled={save.isPending}>
            {t("common.save")}
          </button>
          <button type="button" className="button" onClick={() => save.mutate(null)}>
            {t("settings.useDefault")}
          </button>
        </div>
      )}
    </form>
  );
}
