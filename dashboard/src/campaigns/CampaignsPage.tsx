/** Campaigns (bulk call runs): the list with each run's state and progress, and a new one. */
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "wouter";
import { contract, fromContract } from "../api/client";
import { useBusiness } from "../auth/hooks/useBusiness";
import { formatDateTime } from "../format/dates";
import { useI18n } from "../i18n/I18nProvider";
import type { MessageKey } from "../i18n/messages";
import { useCan } from "../permissions/useCan";
import { ProgressBar } from "../ui/ProgressBar";
import { NewCampaignDialog } from "./components/NewCampaignDialog";
import { campaignKeys } from "./hooks/keys";

export default function CampaignsPage() {
  const { t, locale } = useI18n();
  const can = useCan();
  const business = useBusiness();
  const [creating, setCreating] = useState(false);
  const list = useQuery({
    queryKey: campaignKeys.list,
    queryFn: () => fromContract(contract.GET("/api/campaigns", { params: { query: { limit: 50 } } })),
  });
  return (
    <section className="page">
      <div className="page-head">
        <h1>{t("campaigns.title")}</h1>
        {can("campaigns.manage") && (
          <button type="button" className="button primary" onClick={() => setCreating(true)}>
            {t("campaigns.new")}
          </button>
        )}
      </div>
      {list.isPending ? (
        <p>{t("common.loading")}</p>
      ) : list.data?.campaigns.length === 0 ? (
        <p className="muted">{t("campaigns.empty")}</p>
      ) : (
        <ul className="run-list" data-testid="campaign-list">
          {list.data?.campaigns.map((c) => (
            <li key={c.id} className="card run-row" data-status={c.status}>
              <div className="run-head">
                <Link href={`/campaigns/${c.id}`}>{c.name}</Link>
                <span className={`chip run-status ${c.status}`}>{t(`run.status.${c.status}` as MessageKey)}</span>
              </div>
              <ProgressBar value={c.jobs.done} max={c.totalJobs} label={t("campaigns.progress")} />
              <div className="muted small">{formatDateTime(c.createdAt, locale, business.timezone)}</div>
            </li>
          ))}
        </ul>
      )}
      {can("campaigns.manage") && <NewCampaignDialog open={creating} onClose={() => setCreating(false)} />}
    </section>
  );
}
