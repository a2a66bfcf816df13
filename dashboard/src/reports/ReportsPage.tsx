/**
 * Reports: messages in and out per day, calls per day by outcome, first-response time in the
 * inbox, and each campaign's answer rate, for a date range of the business's clock; the numbers
 * as a CSV file. The chart library loads only when this page renders charts.
 */
import { useQuery } from "@tanstack/react-query";
import { lazy, Suspense, useMemo, useState } from "react";
import { contract, fromContract } from "../api/client";
import type { Report } from "../api/models";
import { useBusiness } from "../auth/hooks/useBusiness";
import { addDays, zonedParts } from "../format/dates";
import { useI18n } from "../i18n/I18nProvider";
import { Field } from "../ui/Field";

const LineChart = lazy(() => import("./components/Charts"));

/** The report's days as CSV (RFC 4180; numbers only, so no quoting is needed beyond the header). */
export function reportCsv(report: Report): string {
  const header = [
    "date",
    "messages_in",
    "messages_out",
    "calls_answered",
    "calls_no_answer",
    "calls_busy",
    "calls_failed",
    "calls_other",
    "customer_turns",
    "turns_answered",
    "first_response_median_seconds",
  ];
  const rows = report.days.map((d) =>
    [
      d.date,
      d.messagesIn,
      d.messagesOut,
      d.calls.answered,
      d.calls.noAnswer,
      d.calls.busy,
      d.calls.failed,
      d.calls.other,
      d.firstResponse.conversations,
      d.firstResponse.answered,
      d.firstResponse.medianSeconds ?? "",
    ].join(","),
  );
  return `${[header.join(","), ...rows].join("\r\n")}\r\n`;
}

export default function ReportsPage() {
  const { t } = useI18n();
  const business = useBusiness();
  const today = zonedParts(new Date(), business.timezone).date;
  const [from, setFrom] = useState(addDays(today, -29));
  const [to, setTo] = useState(today);
  const report = useQuery({
    queryKey: ["reports", from, to],
    queryFn: () => fromContract(contract.GET("/api/reports", { params: { query: { from, to } } })),
    placeholderData: (previous) => previous,
  });
  const r = report.data;
  const charts = useMemo(() => {
    if (!r) return null;
    const days = r.days.map((d) => d.date);
    return {
      days,
      messages: [
        { label: t("reports.in"), color: "#2563eb", values: r.days.map((d) => d.messagesIn) },
        { label: t("reports.out"), color: "#0b6e4f", values: r.days.map((d) => d.messagesOut) },
      ],
      calls: [
        { label: t("reports.answered"), color: "#0b6e4f", values: r.days.map((d) => d.calls.answered) },
        { label: t("reports.noAnswer"), color: "#d97706", values: r.days.map((d) => d.calls.noAnswer) },
        { label: t("reports.busy"), color: "#7c3aed", values: r.days.map((d) => d.calls.busy) },
        { label: t("reports.failed"), color: "#b42318", values: r.days.map((d) => d.calls.failed) },
      ],
      response: [
        {
          label: t("reports.medianMinutes"),
          color: "#0e7490",
          values: r.days.map((d) =>
            d.firstResponse.medianSeconds === null ? null : Math.round(d.firstResponse.medianSeconds / 6) / 10,
          ),
        },
      ],
    };
  }, [r, t]);

  function download() {
    if (!r) return;
    const url = URL.createObjectURL(new Blob([reportCsv(r)], { type: "text/csv" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = `report-${r.from}-${r.to}.csv`;
    a.click();
    URL.revokeObjectURL(url);
  }

  const totals = r?.days.reduce(
    (acc, d) => ({
      in: acc.in + d.messagesIn,
      out: acc.out + d.messagesOut,
      calls: acc.calls + d.calls.answered + d.calls.noAnswer + d.calls.busy + d.calls.failed + d.calls.other,
      answered: acc.answered + d.calls.answered,
    }),
    { in: 0, out: 0, calls: 0, answered: 0 },
  );
  return (
    <section className="page">
      <div className="page-head">
        <h1>{t("reports.title")}</h1>
        <button type="button" className="button" disabled={!r} onClick={download}>
          {t("reports.csv")}
        </button>
      </div>
      <form className="card filters" onSubmit={(e) => e.preventDefault()} aria-label={t("reports.range")}>
        <Field label={t("common.from")} type="date" value={from} max={to} onChange={(e) => setFrom(e.target.value)} />
        <Field label={t("common.to")} type="date" value={to} min={from} onChange={(e) => setTo(e.target.value)} />
        <span className="muted small">{t("campaigns.clockHint", { tz: business.timezone })}</span>
      </form>
      {report.isError && <p className="form-problem">{report.error.message}</p>}
      {!r || !charts || !totals ? (
        <p>{t("common.loading")}</p>
      ) : (
        <>
          <dl className="counts card" data-testid="report-totals">
            <div data-total="in">
              <dt>{t("reports.in")}</dt>
              <dd>{totals.in}</dd>
            </div>
            <div data-total="out">
              <dt>{t("reports.out")}</dt>
              <dd>{totals.out}</dd>
            </div>
            <div data-total="calls">
              <dt>{t("reports.calls")}</dt>
              <dd>{totals.calls}</dd>
            </div>
            <div data-total="answered">
              <dt>{t("reports.answered")}</dt>
              <dd>{totals.answered}</dd>
            </div>
          </dl>
          <Suspense fallback={<p className="muted">{t("reports.chartsLoading")}</p>}>
            <div className="charts">
              <LineChart title={t("reports.messagesChart")} days={charts.days} series={charts.messages} />
              <LineChart title={t("reports.callsChart")} days={charts.days} series={charts.calls} bars />
              <LineChart title={t("reports.responseChart")} days={charts.days} series={charts.response} />
            </div>
          </Suspense>
          <section className="card">
            <h2>{t("reports.campaigns")}</h2>
            {r.campaigns.length === 0 ? (
              <p className="muted">{t("campaigns.empty")}</p>
            ) : (
              <ul className="rate-list">
                {r.campaigns.map((c) => (
                  <li key={c.id}>
                    <span>{c.name}</span>
                    <div className="rate-bar" aria-hidden="true">
                      <div style={{ inlineSize: `${Math.round((c.answerRate ?? 0) * 100)}%` }} />
                    </div>
                    <span className="muted small">
                      {c.answerRate === null
                        ? "—"
                        : t("reports.answerRate", {
                            pct: Math.round(c.answerRate * 100),
                            answered: c.answered,
                            dialed: c.dialed,
                          })}
                    </span>
                  </li>
                ))}
              </ul>
            )}
          </section>
        </>
      )}
    </section>
  );
}
