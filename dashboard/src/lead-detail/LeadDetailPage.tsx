/**
 * One lead: profile (editable), the timeline of WhatsApp messages, calls and appointments, newest
 * first, and the actions to message (queued through the send throttle) and call.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link } from "wouter";
import { api } from "../api/client";
import type { Lead } from "../api/types";
import { useBusiness } from "../auth/hooks/useBusiness";
import { usePlaceCall } from "../calls/hooks/usePlaceCall";
import { formatDateTime } from "../format/dates";
import { formatPhone } from "../format/phones";
import { useI18n } from "../i18n/I18nProvider";
import { LeadForm } from "../leads/components/LeadForm";
import { leadKeys, useLeadStatuses } from "../leads/hooks/useLeads";
import { leadName } from "../leads/utils/leadName";
import { useCan } from "../permissions/useCan";
import { useToast } from "../toasts/ToastProvider";
import { Dialog } from "../ui/Dialog";
import { TextAreaField } from "../ui/Field";
import { useFieldErrors } from "../ui/fieldErrors";
import { StatusChip } from "../ui/StatusChip";

interface TimelineItem {
  key: string;
  at: string;
  kind: "message" | "call" | "appointment";
  text: string;
  fromMe?: boolean;
}

function useTimeline(lead: Lead | undefined) {
  const can = useCan();
  return useQuery({
    queryKey: leadKeys.timeline(lead?.id ?? 0),
    enabled: Boolean(lead),
    queryFn: async () => {
      const id = lead!.id;
      const [calls, appointments, conversations] = await Promise.all([
        can("calls.read") ? api.calls.forLead(id) : { calls: [] },
        can("appointments.read") ? api.appointments.forLead(id) : { appointments: [] },
        can("whatsapp.read") ? api.whatsapp.conversations({}) : { conversations: [] },
      ]);
      // The lead's chats among the most recent conversations (the API lists them by activity).
      const mine = conversations.conversations.filter((c) => c.leadId === id);
      const threads = await Promise.all(mine.map((c) => api.whatsapp.messages(c.id)));
      return {
        calls: calls.calls,
        appointments: appointments.appointments,
        messages: threads.flatMap((t) => t.messages),
      };
    },
  });
}

export default function LeadDetailPage({ id }: { id: number }) {
  const { t, locale } = useI18n();
  const can = useCan();
  const toast = useToast();
  const business = useBusiness();
  const statuses = useLeadStatuses();
  const queryClient = useQueryClient();
  const lead = useQuery({ queryKey: leadKeys.detail(id), queryFn: () => api.leads.get(id) });
  const timeline = useTimeline(lead.data?.lead);
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState("");
  const fields = useFieldErrors();

  const send = useMutation({
    mutationFn: () => api.scheduled.sendNow(id, text.trim()),
    onSuccess: () => {
      toast.success(t("lead.queued"));
      setText("");
      void queryClient.invalidateQueries({ queryKey: leadKeys.timeline(id) });
    },
    onError: (err) => {
      fields.capture(err);
      toast.error(err);
    },
  });
  // Click-to-call; at capacity the message names the cap and its counts.
  const call = usePlaceCall(() => void queryClient.invalidateQueries({ queryKey: leadKeys.timeline(id) }));

  if (lead.isPending) return <p className="splash">{t("common.loading")}</p>;
  if (lead.isError) {
    return (
      <section className="page">
        <p role="alert">{lead.error.message}</p>
        <Link href="/leads">{t("lead.back")}</Link>
      </section>
    );
  }
  const l = lead.data.lead;
  const items: TimelineItem[] = [
    ...(timeline.data?.messages ?? []).map((m) => ({
      key: `m${m.id}`,
      at: m.sentAt,
      kind: "message" as const,
      text: m.text ?? `[${m.kind}]`,
      fromMe: m.fromMe,
    })),
    ...(timeline.data?.calls ?? []).map((c) => ({
      key: `c${c.id}`,
      at: c.createdAt,
      kind: "call" as const,
      text: t("lead.callItem", { direction: c.direction, status: c.status }),
    })),
    ...(timeline.data?.appointments ?? []).map((a) => ({
      key: `a${a.id}`,
      at: a.startsAt,
      kind: "appointment" as const,
      text: t("lead.appointment", { title: a.title }),
    })),
  ].sort((a, b) => b.at.localeCompare(a.at));

  function submit(e: FormEvent) {
    e.preventDefault();
    fields.clear();
    if (text.trim()) send.mutate();
  }

  return (
    <section className="page">
      <Link href="/leads" className="back-link">
        {t("lead.back")}
      </Link>
      <div className="page-head">
        <h1>{leadName(l, business.phoneRegion)}</h1>
        <div className="actions">
          {can("leads.write") && (
            <button type="button" className="button" onClick={() => setEditing(true)}>
              {t("common.edit")}
            </button>
          )}
          {can("calls.place") && l.phoneE164 && (
            <button type="button" className="button" disabled={call.isPending} onClick={() => call.mutate(id)}>
              {t("lead.call")}
            </button>
          )}
        </div>
      </div>
      <div className="detail-grid">
        <dl className="card profile">
          <dt>{t("leads.phone")}</dt>
          <dd dir="ltr">{formatPhone(l.phoneE164, business.phoneRegion)}</dd>
          <dt>{t("leads.email")}</dt>
          <dd dir="ltr">{l.email ?? "—"}</dd>
          <dt>{t("leads.status")}</dt>
          <dd>
            <StatusChip statusKey={l.status} statuses={statuses.data?.statuses} />
          </dd>
          <dt>{t("leads.source")}</dt>
          <dd>{l.source ?? "—"}</dd>
          <dt>{t("leads.tags")}</dt>
          <dd>{l.tags.length ? l.tags.join(", ") : "—"}</dd>
          <dt>{t("leads.notes")}</dt>
          <dd className="pre">{l.notes ?? "—"}</dd>
          <dt>{t("leads.created")}</dt>
          <dd>{formatDateTime(l.createdAt, locale, business.timezone)}</dd>
        </dl>
        <div className="stack">
          {can("scheduled_messages.write") && l.phoneE164 && (
            <form className="card" onSubmit={submit} noValidate>
              <TextAreaField
                label={t("lead.sendWhatsApp")}
                rows={2}
                value={text}
                error={fields.errors.template}
                onChange={(e) => setText(e.target.value)}
              />
              <button type="submit" className="button primary" disabled={send.isPending || !text.trim()}>
                {t("inbox.send")}
              </button>
            </form>
          )}
          <section className="card" aria-label={t("lead.timeline")}>
            <h2>{t("lead.timeline")}</h2>
            {timeline.isPending && <p>{t("common.loading")}</p>}
            {!timeline.isPending && items.length === 0 && <p className="muted">{t("lead.noActivity")}</p>}
            <ol className="timeline">
              {items.map((item) => (
                <li key={item.key} className={`timeline-${item.kind}${item.fromMe ? " from-me" : ""}`}>
                  <span className="timeline-kind">
                    {item.kind === "message" ? t("lead.whatsappMessage") : item.kind === "call" ? "☎" : "📅"}
                  </span>
                  <span className="timeline-text">{item.text}</span>
                  <time dateTime={item.at}>{formatDateTime(item.at, locale, business.timezone)}</time>
                </li>
              ))}
            </ol>
          </section>
        </div>
      </div>
      <Dialog open={editing} title={t("common.edit")} onClose={() => setEditing(false)}>
        <LeadForm lead={l} onDone={() => setEditing(false)} />
      </Dialog>
    </section>
  );
}
