/**
 * One broadcast: progress (queued, held, sending, sent, failed), why the next message waits, and
 * pause, resume and cancel with confirmation. Live `outbound` and `broadcast` events refetch it.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "wouter";
import { contract, fromContract } from "../api/client";
import { useBusiness } from "../auth/hooks/useBusiness";
import { formatDateTime } from "../format/dates";
import { useI18n } from "../i18n/I18nProvider";
import type { MessageKey } from "../i18n/messages";
import { useCan } from "../permissions/useCan";
import { useToast } from "../toasts/ToastProvider";
import { ConfirmDialog } from "../ui/ConfirmDialog";
import { ProgressBar } from "../ui/ProgressBar";
import { finishedOf } from "./BroadcastsPage";
import { broadcastKeys } from "./hooks/keys";

type Action = "pause" | "resume" | "cancel";

export default function BroadcastDetailPage({ id }: { id: number }) {
  const { t, locale } = useI18n();
  const can = useCan();
  const toast = useToast();
  const business = useBusiness();
  const queryClient = useQueryClient();
  const [confirm, setConfirm] = useState<Action | null>(null);
  const detail = useQuery({
    queryKey: broadcastKeys.detail(id),
    queryFn: () => fromContract(contract.GET("/api/broadcasts/{id}", { params: { path: { id } } })),
    refetchInterval: (q) => (q.state.data?.broadcast.status === "running" ? 15_000 : false),
  });
  const act = useMutation({
    mutationFn: (action: Action) =>
      fromContract(contract.POST(`/api/broadcasts/{id}/${action}`, { params: { path: { id } } })),
    onSuccess: (res) => {
      setConfirm(null);
      queryClient.setQueryData(broadcastKeys.detail(id), res);
      void queryClient.invalidateQueries({ queryKey: broadcastKeys.list });
    },
    onError: (err) => {
      setConfirm(null);
      toast.error(err);
    },
  });
  if (detail.isPending) return <p className="splash">{t("common.loading")}</p>;
  if (detail.isError || !detail.data) return <p className="splash">{t("error.notFound")}</p>;
  const { broadcast: b, progress: p } = detail.data;
  const counts: [MessageKey, number, string][] = [
    ["broadcasts.queued", p.queued, "queued"],
    ["broadcasts.held", p.held, "held"],
    ["broadcasts.sending", p.sending, "sending"],
    ["broadcasts.sent", p.sent, "sent"],
    ["broadcasts.failed", p.failed, "failed"],
    ["broadcasts.cancelled", p.cancelled, "cancelled"],
    ["broadcasts.skipped", p.skipped, "skipped"],
  ];
  const manage = can("broadcasts.manage");
  const open = b.status === "running" || b.status === "queued";
  return (
    <section className="page" data-testid="broadcast-detail" data-status={b.status}>
      <Link href="/broadcasts">{t("broadcasts.back")}</Link>
      <div className="page-head">
        <h1>{b.name}</h1>
        <span className={`chip run-status ${b.status}`} data-testid="broadcast-status">
          {t(`run.status.${b.status}` as MessageKey)}
        </span>
      </div>
      <div className="card stack">
        <ProgressBar value={finishedOf(p)} max={p.total} label={t("broadcasts.progress")} testId="broadcast-progress" />
        <dl className="counts" data-testid="broadcast-counts">
          {counts.map(([key, n, state]) => (
            <div key={key} data-state={state}>
              <dt>{t(key)}</dt>
              <dd>{n}</dd>
            </div>
          ))}
        </dl>
        {p.waiting && (
          <p className="muted">
            {t("broadcasts.waiting", {
              count: p.waiting.count,
              detail: p.waiting.detail,
              next: p.waiting.nextAt ? formatDateTime(p.waiting.nextAt, locale, business.timezone) : "—",
            })}
          </p>
        )}
        <div>
          <h3>{t("broadcasts.template")}</h3>
          <p className="bubble from-me pre">{b.template}</p>
        </div>
        {manage && (
          <div className="actions">
            {open && (
              <button type="button" className="button" onClick={() => setConfirm("pause")}>
                {t("run.pause")}
              </button>
            )}
            {b.status === "paused" && (
              <button type="button" className="button primary" onClick={() => setConfirm("resume")}>
                {t("run.resume")}
              </button>
            )}
            {(open || b.status === "paused") && (
              <button type="button" className="button danger" onClick={() => setConfirm("cancel")}>
                {t("run.cancel")}
              </button>
            )}
          </div>
        )}
      </div>
      <ConfirmDialog
        open={confirm !== null}
        title={confirm ? t(`run.${confirm}` as MessageKey) : ""}
        body={confirm ? t(`broadcasts.confirm.${confirm}` as MessageKey, { name: b.name }) : ""}
        confirmLabel={confirm ? t(`run.${confirm}` as MessageKey) : ""}
        danger={confirm === "cancel"}
        busy={act.isPending}
        onConfirm={() => confirm && act.mutate(confirm)}
        onClose={() => setConfirm(null)}
      />
    </section>
  );
}
