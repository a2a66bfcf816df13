/**
 * The lead book: search, filters (status, source, owner, tag), sort, keyset pages loaded as the
 * table scrolls, selection with bulk status change, create, CSV import and export by status.
 */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { Link, useLocation } from "wouter";
import { api } from "../api/client";
import { useBusiness } from "../auth/hooks/useBusiness";
import { formatDate } from "../format/dates";
import { formatPhone } from "../format/phones";
import { useI18n } from "../i18n/I18nProvider";
import { useCan } from "../permissions/useCan";
import { useToast } from "../toasts/ToastProvider";
import { Dialog } from "../ui/Dialog";
import { LoadMore } from "../ui/LoadMore";
import { StatusChip } from "../ui/StatusChip";
import { ImportDialog } from "./components/ImportDialog";
import { LeadForm } from "./components/LeadForm";
import { useDebounced } from "./hooks/useDebounced";
import { leadKeys, useLeadList, useLeadStatuses, useTeam } from "./hooks/useLeads";
import { leadName } from "./utils/leadName";

type SortChoice = "newest" | "oldest" | "updated";
const SORTS: Record<SortChoice, { sort: "created_at" | "updated_at"; order: "asc" | "desc" }> = {
  newest: { sort: "created_at", order: "desc" },
  oldest: { sort: "created_at", order: "asc" },
  updated: { sort: "updated_at", order: "desc" },
};

export default function LeadsPage() {
  const { t, locale } = useI18n();
  const can = useCan();
  const toast = useToast();
  const business = useBusiness();
  const queryClient = useQueryClient();
  const [, navigate] = useLocation();
  const statuses = useLeadStatuses();
  const team = useTeam(can("users.read"));

  const [search, setSearch] = useState("");
  const [status, setStatus] = useState("");
  const [source, setSource] = useState("");
  const [owner, setOwner] = useState("");
  const [tag, setTag] = useState("");
  const [sort, setSort] = useState<SortChoice>("newest");
  const q = useDebounced(search.trim());
  const debouncedSource = useDebounced(source.trim());
  const debouncedTag = useDebounced(tag.trim());

  const query = useMemo(
    () => ({
      q: q.length > 0 ? q : undefined,
      status: status ? [status] : undefined,
      source: debouncedSource || undefined,
      ownerUserId: owner ? Number(owner) : undefined,
      tag: debouncedTag || undefined,
      ...SORTS[sort],
    }),
    [q, status, debouncedSource, owner, debouncedTag, sort],
  );
  const list = useLeadList(query);
  const leads = useMemo(() => list.data?.pages.flatMap((p) => p.leads) ?? [], [list.data]);

  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [bulkTo, setBulkTo] = useState("");
  const [creating, setCreating] = useState(false);
  const [importing, setImporting] = useState(false);
  const [exportStatus, setExportStatus] = useState("");

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new filter clears the selection.
  useEffect(() => setSelected(new Set()), [query]);

  const bulk = useMutation({
    mutationFn: () => api.leads.bulkStatus([...selected], bulkTo),
    onSuccess: (r) => {
      toast.success(t("leads.bulkDone", { count: r.updated }));
      setSelected(new Set());
      void queryClient.invalidateQueries({ queryKey: leadKeys.lists() });
    },
    onError: toast.error,
  });

  const exporting = useMutation({
    mutationFn: () => api.leads.exportCsv(exportStatus ? [exportStatus] : []),
    onSuccess: ({ name, blob }) => {
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    },
    onError: toast.error,
  });

  const ownerName = (id: number | null) =>
    id === null ? "—" : (team.data?.users.find((u) => u.id === id)?.name ?? `#${id}`);
  const allSelected = leads.length > 0 && leads.every((l) => selected.has(l.id));
  const canBulk = can("leads.bulk");

  return (
    <section className="page">
      <div className="page-head">
        <h1>{t("leads.title")}</h1>
        <div className="actions">
          {can("leads.write") && (
            <button type="button" className="button primary" onClick={() => setCreating(true)}>
              {t("leads.new")}
            </button>
          )}
          {can("leads.import") && (
            <button type="button" className="button" onClick={() => setImporting(true)}>
              {t("leads.import")}
            </button>
          )}
          {can("leads.export") && (
            <div className="inline-group">
              <label className="visually-hidden" htmlFor="export-status">
                {t("leads.exportStatus")}
              </label>
              <select id="export-status" value={exportStatus} onChange={(e) => setExportStatus(e.target.value)}>
                <option value="">{t("common.all")}</option>
                {statuses.data?.statuses.map((s) => (
                  <option key={s.key} value={s.key}>
                    {s.label}
                  </option>
                ))}
              </select>
              <button
                type="button"
                className="button"
                disabled={exporting.isPending}
                onClick={() => exporting.mutate()}
              >
                {t("leads.export")}
              </button>
            </div>
          )}
        </div>
      </div>

      <search className="filters">
        <div className="field grow">
          <label htmlFor="lead-search">{t("common.search")}</label>
          <input
            id="lead-search"
            type="search"
            placeholder={t("leads.searchPlaceholder")}
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="lead-status">{t("leads.status")}</label>
          <select id="lead-status" value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">{t("common.all")}</option>
            {statuses.data?.statuses.map((s) => (
              <option key={s.key} value={s.key}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="lead-source">{t("leads.source")}</label>
          <input id="lead-source" value={source} onChange={(e) => setSource(e.target.value)} />
        </div>
        {team.data && (
          <div className="field">
            <label htmlFor="lead-owner">{t("leads.owner")}</label>
            <select id="lead-owner" value={owner} onChange={(e) => setOwner(e.target.value)}>
              <option value="">{t("common.all")}</option>
              {team.data.users.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name}
                </option>
              ))}
            </select>
          </div>
        )}
        <div className="field">
          <label htmlFor="lead-tag">{t("leads.tag")}</label>
          <input id="lead-tag" value={tag} onChange={(e) => setTag(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="lead-sort">{t("leads.sort")}</label>
          <select id="lead-sort" value={sort} onChange={(e) => setSort(e.target.value as SortChoice)}>
            <option value="newest">{t("leads.sortNewest")}</option>
            <option value="oldest">{t("leads.sortOldest")}</option>
            <option value="updated">{t("leads.sortUpdated")}</option>
          </select>
        </div>
      </search>

      {canBulk && selected.size > 0 && (
        <section className="bulk-bar" aria-label={t("leads.bulkStatus")}>
          <span>{t("leads.selected", { count: selected.size })}</span>
          <label className="visually-hidden" htmlFor="bulk-status">
            {t("leads.bulkStatus")}
          </label>
          <select id="bulk-status" value={bulkTo} onChange={(e) => setBulkTo(e.target.value)}>
            <option value="">{t("leads.bulkStatus")}</option>
            {statuses.data?.statuses.map((s) => (
              <option key={s.key} value={s.key}>
                {s.label}
              </option>
            ))}
          </select>
          <button
            type="button"
            className="button primary"
            disabled={!bulkTo || bulk.isPending}
            onClick={() => bulk.mutate()}
          >
            {t("leads.bulkApply")}
          </button>
        </section>
      )}

      <p className="muted" aria-live="polite">
        {list.isPending ? t("common.loading") : t("leads.count", { count: leads.length })}
      </p>
      <div className="table-wrap">
        <table className="table leads-table">
          <thead>
            <tr>
              {canBulk && (
                <th scope="col" className="check">
                  <input
                    type="checkbox"
                    aria-label={t("leads.selectAll")}
                    checked={allSelected}
                    onChange={() => setSelected(allSelected ? new Set() : new Set(leads.map((l) => l.id)))}
                  />
                </th>
              )}
              <th scope="col">{t("leads.name")}</th>
              <th scope="col">{t("leads.phone")}</th>
              <th scope="col">{t("leads.status")}</th>
              <th scope="col" className="hide-narrow">
                {t("leads.source")}
              </th>
              <th scope="col" className="hide-narrow">
                {t("leads.owner")}
              </th>
              <th scope="col" className="hide-narrow">
                {t("leads.created")}
              </th>
            </tr>
          </thead>
          <tbody>
            {leads.map((lead) => {
              const name = leadName(lead, business.phoneRegion);
              return (
                <tr key={lead.id}>
                  {canBulk && (
                    <td className="check">
                      <input
                        type="checkbox"
                        aria-label={t("leads.select", { name })}
                        checked={selected.has(lead.id)}
                        onChange={() =>
                          setSelected((s) => {
                            const next = new Set(s);
                            if (next.has(lead.id)) next.delete(lead.id);
                            else next.add(lead.id);
                            return next;
                          })
                        }
                      />
                    </td>
                  )}
                  <td>
                    <Link href={`/leads/${lead.id}`}>{name}</Link>
                  </td>
                  <td dir="ltr" className="phone">
                    {formatPhone(lead.phoneE164, business.phoneRegion)}
                  </td>
                  <td>
                    <StatusChip statusKey={lead.status} statuses={statuses.data?.statuses} />
                  </td>
                  <td className="hide-narrow">{lead.source ?? "—"}</td>
                  <td className="hide-narrow">{ownerName(lead.ownerUserId)}</td>
                  <td className="hide-narrow">{formatDate(lead.createdAt, locale, business.timezone)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {!list.isPending && leads.length === 0 && <p className="empty">{t("leads.empty")}</p>}
        {leads.length > 0 && <LoadMore query={list} auto={600} />}
      </div>

      <Dialog open={creating} title={t("leads.new")} onClose={() => setCreating(false)}>
        <LeadForm
          onDone={(lead) => {
            setCreating(false);
            navigate(`/leads/${lead.id}`);
          }}
        />
      </Dialog>
      <ImportDialog open={importing} onClose={() => setImporting(false)} />
    </section>
  );
}
