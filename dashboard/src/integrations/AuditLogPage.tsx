/** The security audit log (owners): who did what, from where, newest first. */
import { useInfiniteQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import { useBusiness } from "../auth/hooks/useBusiness";
import { formatDateTime } from "../format/dates";
import { useI18n } from "../i18n/I18nProvider";
import { LoadMore } from "../ui/LoadMore";
import { integrationKeys } from "./queryKeys";

export default function AuditLogPage() {
  const { t, locale } = useI18n();
  const business = useBusiness();
  const log = useInfiniteQuery({
    queryKey: integrationKeys.audit,
    queryFn: ({ pageParam }) => api.integrations.auditLog(pageParam),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const entries = log.data?.pages.flatMap((p) => p.entries) ?? [];
  return (
    <section className="page">
      <div className="page-head">
        <h1>{t("audit.title")}</h1>
      </div>
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">{t("audit.when")}</th>
              <th scope="col">{t("audit.action")}</th>
              <th scope="col">{t("audit.actor")}</th>
              <th scope="col">{t("audit.target")}</th>
              <th scope="col">{t("audit.ip")}</th>
            </tr>
          </thead>
          <tbody>
            {log.isSuccess && entries.length === 0 && (
              <tr>
                <td colSpan={5} className="muted">
                  {t("audit.empty")}
                </td>
              </tr>
            )}
            {entries.map((e) => (
              <tr key={e.id}>
                <td>{formatDateTime(e.createdAt, locale, business.timezone)}</td>
                <td dir="ltr">
                  <code>{e.action}</code>
                </td>
                <td>
                  {e.actor.apiKeyPrefix ? (
                    <code dir="ltr">{e.actor.apiKeyPrefix}…</code>
                  ) : (
                    (e.actor.userName ?? t("audit.platform"))
                  )}
                </td>
                <td dir="ltr">
                  {e.targetType ? `${e.targetType} ${e.targetId ?? ""}` : "—"}
                  {e.details && <span className="muted"> {summarise(e.details)}</span>}
                </td>
                <td dir="ltr">{e.ip ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {entries.length > 0 && <LoadMore query={log} />}
    </section>
  );
}

/** A short line from an entry's details (email, URL, role change), for scanning the list. */
function summarise(details: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const key of ["email", "name", "url", "from", "to", "prefix"]) {
    const v = details[key];
    if (typeof v === "string" || typeof v === "number") parts.push(key === "to" ? `→ ${v}` : String(v));
  }
  return parts.join(" ");
}
