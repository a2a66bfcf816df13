/** Broadcasts: the list with each one's progress, and composing a new one. */
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "wouter";
import { contract, fromContract } from "../api/client";
import type { BroadcastProgress } from "../api/models";
import { useBusiness } from "../auth/hooks/useBusiness";
import { formatDateTime } from "../format/dates";
import { useI18n } from "../i18n/I18nProvider";
import type { MessageKey } from "../i18n/messages";
import { useCan } from "../permissions/useCan";
import { ProgressBar } from "../ui/ProgressBar";
import { NewBroadcastDialog } from "./components/NewBroadcastDialog";
import { broadcastKeys } from "./hooks/keys";

/** Messages that reached an end (sent, failed, cancelled) out of all recipients. */
export const finishedOf = (p: BroadcastProgress) => p.sent + p.failed + p.cancelled;

export default function BroadcastsPage() {
  const { t, locale } = useI18n();
  const can = useCan();
  const business = useBusiness();
  const [creating, setCreating] = useState(false);
  const list = useQuery({
    queryKey: broadcastKeys.list,
    queryFn: () => fromContract(contract.GET("/api/broadcasts", { params: { query: { limit: 50 } } })),
  });
  return (
    <section className="page">
      <div className="page-head">
        <h1>{t("broadcasts.title")}</h1>
        {can("broadcasts.manage") && (
          <button type="button" className="button primary" onClick={() => setCreating(true)}>
            {t("broadcasts.new")}
          </button>
        )}
      </div>
      {list.isPending ? (
        <p>{t("common.loading")}</p>
      ) : list.data?.broadcasts.length === 0 ? (
        <p className="muted">{t("broadcasts.empty")}</p>
      ) : (
        <ul className="run-list" data-testid="broadcast-list">
          {list.data?.broadcasts.map((b) => (
            <li key={b.id} className="card run-row" data-status={b.status}>
              <div className="run-head">
                <Link href={`/broadcasts/${b.id}`}>{b.name}</Link>
                <span className={`chip run-status ${b.status}`}>{t(`run.status.${b.status}` as MessageKey)}</span>
              </div>
              <ProgressBar value={finishedOf(b.progress)} max={b.progress.total} label={t("broadcasts.progress")} />
              <div className="muted small">{formatDateTime(b.createdAt, locale, business.timezone)}</div>
            </li>
          ))}
        </ul>
      )}
      {can("broadcasts.manage") && <NewBroadcastDialog open={creating} onClose={() => setCreating(false)} />}
    </section>
  );
}
