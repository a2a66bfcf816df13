/**
 * One campaign, live: progress bar, jobs by state, active calls and the business's slots, ETA,
 * last error; pause, resume and cancel, each confirmed first. Live `calls` and `campaign` events
 * refetch it; a 15 s refetch while it runs is only a safety net (no page polls faster than 10 s).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "wouter";
import { contract, fromContract } from "../api/client";
import type { Campaign } from "../api/models";
import { useBusiness } from "../auth/hooks/useBusiness";
import { CallGauge } from "../calls/components/CallGauge";
import { formatDateTime, formatRelative } from "../format/dates";
import { useI18n } from "../i18n/I18nProvider";
import type { MessageKey } from "../i18n/messages";
import { useLiveStatus } from "../live/LiveProvider";
import { useCan } from "../permissions/useCan";
import { useToast } from "../toasts/ToastProvider";
import { ConfirmDialog } from "../ui/ConfirmDialog";
import { ProgressBar } from "../ui/ProgressBar";
import { campaignKeys } from "./hooks/keys";

type Action = "pause" | "resume" | "cancel";
const RUNNING = new Set<Campaign["status"]>(["queued", "running"]);

export default function CampaignDetailPage({ id }: { id: number }) {
  const { t, locale } = useI18n();
  const can = useCan();
  const toast = useToast();
  const business = useBusiness();
  const queryClient = useQueryClient();
  const [confirm, setConfirm] = useState<Action | null>(null);
  const live = useLiveStatus();
  const detail = useQuery({
    queryKey: campaignKeys.detail(id),
    queryFn: () => fromContract(contract.GET("/api/campaigns/{id}", { params: { path: { id } } })),
    refetchInterval: (q) => (q.state.data && RUNNING.has(q.state.data.campaign.status) ? 15_000 : false),
  });
  const act = useMutation({
    mutationFn: (action: Action) =>
      fromContract(contract.POST(`/api/campaigns/{id}/${action}`, { params: { path: { id } } })),
    onSuccess: () => {
      setConfirm(null);
      void queryClient.invalidateQueries({ queryKey: campaignKeys.all });
    },
    onError: (err) => {
      setConfirm(null);
      toast.error(err);
    },
  });

  if (detail.isPending) return <p className="splash">{t("common.loading")}</p>;
  if (detail.isError || !detail.data) return <p className="splash">{t("error.notFound")}</p>;
  const c = detail.data.campaign;
  const j = c.jobs;
  const states: [MessageKey, number][] = [
    ["jobs.queued", j.queued],
    ["jobs.dialing", j.dialing],
    ["jobs.inCall", j.inCall],
    ["jobs.completed", j.completed],
    ["jobs.noAnswer", j.noAnswer],
    ["jobs.busy", j.busy],
    ["jobs.failed", j.failed],
    ["jobs.cancelled", j.cancelled],
  ];
  const manage = can("campaigns.manage");
  return (
    <section className="page" data-testid="campaign-detail" data-status={c.status}>
      <Link href="/campaigns">{t("campaigns.back")}</Link>
      <div className="page-head">
        <h1>{c.name}</h1>
        <span className="inline-group">
          <span className={`live-dot live-${live}`} data-testid="live-status" data-live={live}>
            {live === "open" ? t("inbox.live") : t("inbox.offline")}
          </span>
          <span className={`chip run-status ${c.status}`} data-testid="campaign-status">
            {t(`run.status.${c.status}` as MessageKey)}
          </span>
        </span>
      </div>
      <div className="card stack">
        <ProgressBar value={j.done} max={c.totalJobs} label={t("campaigns.progress")} testId="campaign-progress" />
        <dl className="counts" data-testid="campaign-counts">
          {states.map(([key, n]) => (
            <div key={key} data-state={key.slice(5)}>
              <dt>{t(key)}</dt>
              <dd>{n}</dd>
            </div>
          ))}
          <div>
            <dt>{t("campaigns.activeCalls")}</dt>
            <dd>{c.activeCalls}</dd>
          </div>
          <div>
            <dt>{t("campaigns.skipped")}</dt>
            <dd>{c.skippedLeads}</dd>
          </div>
        </dl>
        <p>
          {c.finishedAt
            ? t("campaigns.finishedAt", { time: formatDateTime(c.finishedAt, locale, business.timezone) })
            : c.estimatedFinishAt
              ? t("campaigns.eta", { time: formatRelative(c.estimatedFinishAt, locale, business.timezone) })
              : t("campaigns.etaUnknown")}
        </p>
        {c.lastError && (
          <p className="form-problem" role="alert">
            {t("campaigns.lastError", { error: c.lastError })}
          </p>
        )}
        <p className="muted small">
          {t("campaigns.policy", {
            attempts: c.maxAttempts,
            minutes: Math.round(c.retryDelaySeconds / 60),
          })}
          {c.schedule.start &&
            ` · ${t("campaigns.start")}: ${formatDateTime(c.schedule.start, locale, business.timezone)}`}
          {c.schedule.end && ` · ${t("campaigns.end")}: ${formatDateTime(c.schedule.end, locale, business.timezone)}`}
          {c.schedule.businessHours && ` · ${t("campaigns.businessHours")}`}
        </p>
        {manage && (
          <div className="actions">
            {RUNNING.has(c.status) && (
              <button type="button" className="button" onClick={() => setConfirm("pause")}>
                {t("run.pause")}
              </button>
            )}
            {(c.status === "paused" || c.status === "failed") && (
              <button type="button" className="button primary" onClick={() => setConfirm("resume")}>
                {t("run.resume")}
              </button>
            )}
            {(RUNNING.has(c.status) || c.status === "paused") && (
              <button type="button" className="button danger" onClick={() => setConfirm("cancel")}>
                {t("run.cancel")}
              </button>
            )}
          </div>
        )}
      </div>
      <CallGauge />
      <ConfirmDialog
        open={confirm !== null}
        title={confirm ? t(`run.${confirm}` as MessageKey) : ""}
        body={confirm ? t(`campaigns.confirm.${confirm}` as MessageKey, { name: c.name }) : ""}
        confirmLabel={confirm ? t(`run.${confirm}` as MessageKey) : ""}
        danger={confirm === "cancel"}
        busy={act.isPending}
        onConfirm={() => confirm && act.mutate(confirm)}
        onClose={() => setConfirm(null)}
      />
    </section>
  );
}
