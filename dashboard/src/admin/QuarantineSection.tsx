/**
 * Shard events the edge could not apply (GET /api/admin/whatsapp/quarantine): the reason, the
 * business, when and how often, and the event as the shard sent it — for an operator deciding
 * whether a shard, a business or our contract is at fault.
 */
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { contract, fromContract } from "../api/client";
import { formatDateTime } from "../format/dates";
import { useI18n } from "../i18n/I18nProvider";
import { adminKeys } from "./hooks/keys";

const REASONS = ["invalid", "foreign_shard", "not_assigned_shard", "stale_fencing_token", "apply_failed"] as const;
type Reason = (typeof REASONS)[number];

export function QuarantineSection() {
  const { t, locale } = useI18n();
  // A platform view, not one business's: times on the operator's own clock.
  const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const [reason, setReason] = useState<Reason | "">("");
  const events = useQuery({
    queryKey: [...adminKeys.quarantine, reason],
    queryFn: () =>
      fromContract(
        contract.GET("/api/admin/whatsapp/quarantine", {
          params: { query: { limit: 50, ...(reason ? { reason } : {}) } },
        }),
      ),
    refetchInterval: 60_000,
  });
  return (
    <section className="card stack" aria-labelledby="admin-quarantine">
      <h2 id="admin-quarantine">{t("admin.quarantine")}</h2>
      <p className="muted small">{t("admin.quarantineHint")}</p>
      <label className="row">
        <span>{t("admin.quarantineReason")}</span>
        <select value={reason} onChange={(e) => setReason(e.target.value as Reason | "")}>
          <option value="">{t("common.all")}</option>
          {REASONS.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      {events.data?.events.length === 0 && <p className="muted">{t("admin.quarantineEmpty")}</p>}
      <ul className="plain-list" data-testid="quarantine-list">
        {events.data?.events.map((e) => (
          <li key={e.id} className="stack">
            <span>
              <span className="chip subtle">{e.reason}</span> {e.eventType ?? "?"} ·{" "}
              {e.businessId !== null ? `#${e.businessId}` : "—"} · {t("admin.shard", { n: e.shardId })} ·{" "}
              {formatDateTime(e.lastSeenAt, locale, timeZone)}
              {e.occurrences > 1 && ` · ×${e.occurrences}`}
            </span>
            <span className="muted small">{e.detail}</span>
            <details>
              <summary>{t("admin.quarantinePayload")}</summary>
              <pre className="payload" dir="ltr">
                {e.payload}
              </pre>
            </details>
          </li>
        ))}
      </ul>
    </section>
  );
}
