/**
 * Appointments: a week or day calendar on the business's clock (its timezone, not the browser's),
 * with the Hebrew calendar date beside each day when the UI is Hebrew (Intl's `ca-hebrew`). Book
 * and reschedule, each showing when the reminder goes out; each appointment shows its reminder's
 * state (queued for a time, sending, sent, failed).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link } from "wouter";
import { contract, fromContract } from "../api/client";
import type { Appointment } from "../api/models";
import type { Lead } from "../api/types";
import { useBusiness } from "../auth/hooks/useBusiness";
import {
  addDays,
  formatDateTime,
  formatDay,
  formatHebrewCalendarDay,
  weekdayOf,
  zonedInstant,
  zonedParts,
} from "../format/dates";
import { useI18n } from "../i18n/I18nProvider";
import { LeadPicker } from "../leads/components/LeadPicker";
import { useCan } from "../permissions/useCan";
import { useToast } from "../toasts/ToastProvider";
import { Dialog } from "../ui/Dialog";
import { Field, SelectField } from "../ui/Field";
import { useFieldErrors } from "../ui/fieldErrors";
import { appointmentKeys } from "./hooks/keys";

type View = "week" | "day";
const REMINDER_CHOICES = ["", "0", "15", "60", "120", "1440"] as const;

export default function AppointmentsPage() {
  const { t, locale } = useI18n();
  const can = useCan();
  const business = useBusiness();
  const today = zonedParts(new Date(), business.timezone).date;
  const [view, setView] = useState<View>("week");
  const [anchor, setAnchor] = useState(today);
  const [editing, setEditing] = useState<Appointment | "new" | null>(null);
  // Weeks start on Sunday, as in Israel (the businesses this serves first).
  const first = view === "week" ? addDays(anchor, -weekdayOf(anchor)) : anchor;
  const days = Array.from({ length: view === "week" ? 7 : 1 }, (_, i) => addDays(first, i));
  const last = days[days.length - 1]!;
  const range = useQuery({
    queryKey: appointmentKeys.range(first, last),
    queryFn: () =>
      fromContract(
        contract.GET("/api/appointments", {
          params: {
            query: {
              from: zonedInstant(first, "00:00", business.timezone).toISOString(),
              to: zonedInstant(addDays(last, 1), "00:00", business.timezone).toISOString(),
              limit: 500,
            },
          },
        }),
      ),
  });
  const byDay = new Map<string, Appointment[]>();
  for (const a of range.data?.appointments ?? []) {
    const d = zonedParts(a.startsAt, business.timezone).date;
    byDay.set(d, [...(byDay.get(d) ?? []), a]);
  }
  const step = view === "week" ? 7 : 1;
  return (
    <section className="page">
      <div className="page-head">
        <h1>{t("appt.title")}</h1>
        {can("appointments.write") && (
          <button type="button" className="button primary" onClick={() => setEditing("new")}>
            {t("appt.new")}
          </button>
        )}
      </div>
      <div className="toolbar">
        <fieldset className="plain actions" aria-label={t("appt.view")}>
          {(["week", "day"] as const).map((v) => (
            <button
              key={v}
              type="button"
              className={view === v ? "button primary small" : "button small"}
              aria-pressed={view === v}
              onClick={() => setView(v)}
            >
              {t(`appt.view.${v}`)}
            </button>
          ))}
        </fieldset>
        <div className="actions">
          <button type="button" className="button small" onClick={() => setAnchor(addDays(anchor, -step))}>
            {t("appt.prev")}
          </button>
          <button type="button" className="button small" onClick={() => setAnchor(today)}>
            {t("appt.today")}
          </button>
          <button type="button" className="button small" onClick={() => setAnchor(addDays(anchor, step))}>
            {t("appt.next")}
          </button>
        </div>
        <span className="muted small">{t("campaigns.clockHint", { tz: business.timezone })}</span>
      </div>
      <div className={view === "week" ? "calendar week" : "calendar day"} data-testid="calendar">
        {days.map((d) => (
          <section key={d} className={d === today ? "cal-day today" : "cal-day"} aria-label={formatDay(d, locale)}>
            <header className="cal-day-head">
              <strong>{formatDay(d, locale)}</strong>
              {locale === "he" && <span className="muted small">{formatHebrewCalendarDay(d)}</span>}
            </header>
            <ul>
              {(byDay.get(d) ?? []).map((a) => (
                <li key={a.id}>
                  <button
                    type="button"
                    className={`appt ${a.status}`}
                    data-testid="appointment"
                    onClick={() => can("appointments.write") && setEditing(a)}
                  >
                    <span className="appt-time">{zonedParts(a.startsAt, business.timezone).time}</span>
                    <span className="appt-title">{a.title}</span>
                    <ReminderState appointment={a} />
                  </button>
                </li>
              ))}
            </ul>
          </section>
        ))}
      </div>
      {editing && (
        <AppointmentDialog
          appointment={editing === "new" ? null : editing}
          defaultDate={anchor}
          onClose={() => setEditing(null)}
        />
      )}
    </section>
  );
}

/** The reminder's state, its time on the business's clock. */
export function ReminderState({ appointment: a }: { appointment: Appointment }) {
  const { t, locale } = useI18n();
  const business = useBusiness();
  const due = a.reminderDueAt ? zonedParts(a.reminderDueAt, business.timezone) : null;
  const dueText = a.reminderDueAt ? formatDateTime(a.reminderDueAt, locale, business.timezone) : "";
  let text: string;
  if (a.status === "cancelled") text = t("appt.cancelled");
  else if (!a.reminderDueAt && a.reminderStatus === "pending") text = t("appt.reminder.none");
  else if (a.reminderStatus === "pending") text = t("appt.reminder.pending", { time: dueText });
  else if (a.reminderStatus === "queued") text = t("appt.reminder.queued");
  else if (a.reminderStatus === "sent")
    text = t("appt.reminder.sent", { time: formatDateTime(a.reminderSentAt, locale, business.timezone) });
  else if (a.reminderStatus === "failed") text = t("appt.reminder.failed");
  else text = t("appt.reminder.skipped");
  return (
    <span
      className={`reminder ${a.reminderStatus}`}
      data-testid="reminder"
      data-state={a.reminderStatus}
      data-due-local={due ? `${due.date} ${due.time}` : ""}
    >
      {text}
    </span>
  );
}

function AppointmentDialog(props: { appointment: Appointment | null; defaultDate: string; onClose: () => void }) {
  const { t } = useI18n();
  const toast = useToast();
  const business = useBusiness();
  const queryClient = useQueryClient();
  const fields = useFieldErrors();
  const a = props.appointment;
  const start = a ? zonedParts(a.startsAt, business.timezone) : { date: props.defaultDate, time: "10:00" };
  const [lead, setLead] = useState<Lead | null>(null);
  const [title, setTitle] = useState(a?.title ?? "");
  const [date, setDate] = useState(start.date);
  const [time, setTime] = useState(start.time);
  const [duration, setDuration] = useState("30");
  const [reminder, setReminder] = useState<string>(
    a?.reminderMinutesBefore == null ? "" : String(a.reminderMinutesBefore),
  );
  const [saved, setSaved] = useState<Appointment | null>(null);

  // What the reminder will be, before saving: start minus the chosen lead time, on the business's clock.
  const reminderAt =
    reminder && reminder !== "0" && date && time
      ? zonedParts(
          new Date(zonedInstant(date, time, business.timezone).getTime() - Number(reminder) * 60_000),
          business.timezone,
        )
      : null;

  const save = useMutation({
    mutationFn: () => {
      const reminderMinutesBefore = reminder === "" ? null : Number(reminder);
      if (a) {
        return fromContract(
          contract.PATCH("/api/appointments/{id}", {
            params: { path: { id: a.id } },
            body: { title, date, time, reminderMinutesBefore },
          }),
        );
      }
      return fromContract(
        contract.POST("/api/appointments", {
          body: { leadId: lead?.id ?? 0, title, date, time, durationMinutes: Number(duration), reminderMinutesBefore },
        }),
      );
    },
    onSuccess: (res) => {
      void queryClient.invalidateQueries({ queryKey: appointmentKeys.all });
      toast.success(t("common.saved"));
      setSaved(res.appointment);
    },
    onError: (err) => {
      fields.capture(err);
      toast.error(err);
    },
  });
  const cancel = useMutation({
    mutationFn: () => fromContract(contract.DELETE("/api/appointments/{id}", { params: { path: { id: a!.id } } })),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: appointmentKeys.all });
      props.onClose();
    },
    onError: toast.error,
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    fields.clear();
    save.mutate();
  }

  return (
    <Dialog open title={a ? t("appt.reschedule") : t("appt.new")} onClose={props.onClose}>
      {saved ? (
        <div className="stack" data-testid="appointment-saved">
          <p>
            <strong>{saved.title}</strong> · {saved.display.date} {saved.display.time}
          </p>
          <ReminderState appointment={saved} />
          <div className="actions">
            <Link href={`/leads/${saved.leadId}`}>{t("appt.openLead")}</Link>
            <button type="button" className="button" onClick={props.onClose}>
              {t("common.close")}
            </button>
          </div>
        </div>
      ) : (
        <form className="stack" onSubmit={submit} noValidate>
          {!a && (
            <LeadPicker label={t("scheduled.leadLabel")} value={lead} onChange={setLead} error={fields.errors.leadId} />
          )}
          <Field
            label={t("appt.titleLabel")}
            value={title}
            error={fields.errors.title}
            onChange={(e) => setTitle(e.target.value)}
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
            {!a && (
              <Field
                label={t("appt.duration")}
                type="number"
                min={1}
                value={duration}
                error={fields.errors.durationMinutes}
                onChange={(e) => setDuration(e.target.value)}
              />
            )}
          </div>
          <SelectField label={t("appt.reminderBefore")} value={reminder} onChange={(e) => setReminder(e.target.value)}>
            {REMINDER_CHOICES.map((m) => (
              <option key={m} value={m}>
                {m === ""
                  ? t("appt.reminderDefault")
                  : m === "0"
                    ? t("appt.reminder.none")
                    : t("appt.minutesBefore", { minutes: m })}
              </option>
            ))}
          </SelectField>
          <p className="field-hint" data-testid="reminder-preview">
            {reminderAt
              ? t("appt.reminderAt", { time: `${reminderAt.date} ${reminderAt.time}` })
              : reminder === "0"
                ? t("appt.reminder.none")
                : t("appt.reminderAfterSave")}
          </p>
          <div className="actions">
            <button
              type="submit"
              className="button primary"
              disabled={save.isPending || (!a && !lead) || !title.trim()}
            >
              {a ? t("appt.reschedule") : t("appt.book")}
            </button>
            {a && a.status === "scheduled" && (
              <button
                type="button"
                className="button danger"
                disabled={cancel.isPending}
                onClick={() => cancel.mutate()}
              >
                {t("appt.cancel")}
              </button>
            )}
          </div>
        </form>
      )}
    </Dialog>
  );
}
