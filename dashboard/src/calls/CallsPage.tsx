/**
 * Calls: the live gauge (business cap, platform cap), the log with filters (direction, status,
 * lead, dates on the business's clock), recordings streamed through the API (Range, so the player
 * can seek), and click-to-call back. Live `calls` events refetch the log and the gauge.
 */
import { useInfiniteQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useSearch } from "wouter";
import { contract, fromContract } from "../api/client";
import type { CallLog } from "../api/models";
import { useBusiness } from "../auth/hooks/useBusiness";
import { formatDateTime, formatDuration, zonedInstant } from "../format/dates";
import { formatPhone } from "../format/phones";
import { useI18n } from "../i18n/I18nProvider";
import { type MessageKey, messages } from "../i18n/messages";
import { useCan } from "../permissions/useCan";
import { Field, SelectField } from "../ui/Field";
import { LoadMore } from "../ui/LoadMore";
import { CallGauge } from "./components/CallGauge";
import { callKeys } from "./hooks/keys";
import { usePlaceCall } from "./hooks/usePlaceCall";

const STATUSES = [
  "queued",
  "initiated",
  "ringing",
  "in-progress",
  "completed",
  "busy",
  "no-answer",
  "failed",
  "canceled",
  "rejected",
];

export function callStatusLabel(status: string, t: (k: MessageKey) => string): string {
  const key = `calls.status.${status}`;
  return key in messages.en ? t(key as MessageKey) : status;
}

export default function CallsPage() {
  const { t, locale } = useI18n();
  const can = useCan();
  const business = useBusiness();
  const search = new URLSearchParams(useSearch());
  const [filters, setFilters] = useState({
    direction: "",
    status: "",
    leadId: search.get("leadId") ?? "",
    from: "",
    to: "",
  });
  const [playing, setPlaying] = useState<number | null>(null);
  const place = usePlaceCall();

  const query = {
    direction: (filters.direction || undefined) as "inbound" | "outbound" | undefined,
    status: filters.status || undefined,
    leadId: filters.leadId ? Number(filters.leadId) : undefined,
    // Dates are days of the business's clock: from its midnight to the next.
    from: filters.from ? zonedInstant(filters.from, "00:00", business.timezone).toISOString() : undefined,
    to: filters.to ? zonedInstant(filters.to, "23:59", business.timezone).toISOString() : undefined,
  };
  const log = useInfiniteQuery({
    queryKey: callKeys.list(filters),
    queryFn: ({ pageParam }) =>
      fromContract(contract.GET("/api/calls", { params: { query: { ...query, limit: 50, before: pageParam } } })),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => last.nextBefore ?? undefined,
    placeholderData: (previous) => previous,
  });
  const calls: CallLog[] = log.data?.pages.flatMap((p) => p.calls) ?? [];
  const set = (k: keyof typeof filters) => (e: { target: { value: string } }) =>
    setFilters({ ...filters, [k]: e.target.value });

  return (
    <section className="page">
      <h1>{t("calls.title")}</h1>
      <CallGauge />
      <form className="card filters" onSubmit={(e) => e.preventDefault()} aria-label={t("calls.filters")}>
        <SelectField label={t("calls.direction")} value={filters.direction} onChange={set("direction")}>
          <option value="">{t("common.all")}</option>
          <option value="outbound">{t("calls.direction.outbound")}</option>
          <option value="inbound">{t("calls.direction.inbound")}</option>
        </SelectField>
        <SelectField label={t("calls.status")} value={filters.status} onChange={set("status")}>
          <option value="">{t("common.all")}</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {callStatusLabel(s, t)}
            </option>
          ))}
        </SelectField>
        <Field label={t("calls.leadId")} inputMode="numeric" value={filters.leadId} onChange={set("leadId")} />
        <Field label={t("common.from")} type="date" value={filters.from} onChange={set("from")} />
        <Field label={t("common.to")} type="date" value={filters.to} onChange={set("to")} />
      </form>
      {log.isPending ? (
        <p>{t("common.loading")}</p>
      ) : calls.length === 0 ? (
        <p className="muted">{t("calls.empty")}</p>
      ) : (
        <ul className="call-list" data-testid="call-log">
          {calls.map((c) => {
            const other = c.direction === "outbound" ? c.toNumber : c.fromNumber;
            return (
              <li key={c.id} className="card call-row" data-status={c.status}>
                <div className="call-main">
                  <span className="call-dir" title={t(`calls.direction.${c.direction}`)}>
                    <span aria-hidden="true">{c.direction === "outbound" ? "↗" : "↙"}</span>
                    <span className="visually-hidden">{t(`calls.direction.${c.direction}`)}</span>
                  </span>
                  <div>
                    <div>
                      {c.leadId ? (
                        <Link href={`/leads/${c.leadId}`}>
                          {other ? formatPhone(other, business.phoneRegion) : `#${c.leadId}`}
                        </Link>
                      ) : other ? (
                        formatPhone(other, business.phoneRegion)
                      ) : (
                        "—"
                      )}
                      {c.source === "bulk" && <span className="chip subtle">{t("calls.source.bulk")}</span>}
                    </div>
                    <div className="muted small">{formatDateTime(c.createdAt, locale, business.timezone)}</div>
                  </div>
                </div>
                <div className="call-meta">
                  <span className={`chip call-status ${c.status}`}>{callStatusLabel(c.status, t)}</span>
                  <span className="muted">{formatDuration(c.durationSeconds)}</span>
                  {c.reason && <span className="muted small">{c.reason}</span>}
                </div>
                <div className="actions">
                  {c.recordingSid && (
                    <button type="button" className="button" onClick={() => setPlaying(playing === c.id ? null : c.id)}>
                      {t("calls.recording")}
                    </button>
                  )}
                  {can("calls.place") && c.leadId && (
                    <button
                      type="button"
                      className="button"
                      disabled={place.isPending}
                      onClick={() => place.mutate(c.leadId!)}
                    >
                      {t("calls.callBack")}
                    </button>
                  )}
                </div>
                {playing === c.id && (
                  // The browser asks with Range as it seeks; the API streams each range from Twilio.
                  // biome-ignore lint/a11y/useMediaCaption: a phone call recording has no captions to offer
                  <audio className="recording" controls autoPlay preload="none" src={`/api/calls/${c.id}/recording`} />
                )}
              </li>
            );
          })}
        </ul>
      )}
      {calls.length > 0 && <LoadMore query={log} />}
    </section>
  );
}
