/**
 * The list's filters: Mine / Unassigned / All (admins: any one agent), the status (open by
 * default), and a search over message text, names and phones, sent once typing pauses.
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useId, useState } from "react";
import { api } from "../../api/client";
import { useI18n } from "../../i18n/I18nProvider";
import { useDebounced } from "../../leads/hooks/useDebounced";
import { leadKeys } from "../../leads/hooks/useLeads";
import { useCan } from "../../permissions/useCan";
import { type ConversationFilters, INBOX_VIEWS, SEARCH_MIN_LENGTH, STATUS_FILTERS } from "../utils/filters";

export function InboxFilters(props: { filters: ConversationFilters; onChange: (next: ConversationFilters) => void }) {
  const { t } = useI18n();
  const can = useCan();
  const ids = { search: useId(), status: useId(), agent: useId() };
  const { filters, onChange } = props;
  const [text, setText] = useState(filters.q ?? "");
  const typed = text.trim();
  // One letter is not a search (the API wants two): the list is unfiltered until the second.
  const settled = useDebounced(typed.length >= SEARCH_MIN_LENGTH ? typed : "", 300);
  useEffect(() => {
    if (settled !== (filters.q ?? "")) onChange({ ...filters, q: settled || undefined });
  }, [settled, filters, onChange]);
  const anyAgent = can("whatsapp.assign") && can("users.read");
  const users = useQuery({ queryKey: leadKeys.users, queryFn: api.users.list, enabled: anyAgent });

  return (
    <search className="inbox-filters">
      <label htmlFor={ids.search} className="visually-hidden">
        {t("inbox.search")}
      </label>
      <input
        id={ids.search}
        type="search"
        maxLength={100}
        value={text}
        placeholder={t("inbox.searchPlaceholder")}
        onChange={(e) => setText(e.target.value)}
      />
      <fieldset className="segmented">
        <legend className="visually-hidden">{t("inbox.view.label")}</legend>
        {INBOX_VIEWS.map((view) => (
          <button
            key={view}
            type="button"
            aria-pressed={filters.view === view && !filters.assigneeId}
            onClick={() => onChange({ ...filters, view, assigneeId: undefined })}
          >
            {t(`inbox.view.${view}`)}
          </button>
        ))}
      </fieldset>
      <div className="inbox-filter-row">
        <label htmlFor={ids.status} className="visually-hidden">
          {t("inbox.filter.status")}
        </label>
        <select
          id={ids.status}
          value={filters.status}
          onChange={(e) => onChange({ ...filters, status: e.target.value as ConversationFilters["status"] })}
        >
          {STATUS_FILTERS.map((s) => (
            <option key={s} value={s}>
              {t(`inbox.statusFilter.${s}`)}
            </option>
          ))}
        </select>
        {anyAgent && (
          <>
            <label htmlFor={ids.agent} className="visually-hidden">
              {t("inbox.filter.agent")}
            </label>
            <select
              id={ids.agent}
              value={filters.assigneeId ?? ""}
              onChange={(e) =>
                onChange({
                  ...filters,
                  view: "all",
                  assigneeId: e.target.value ? Number(e.target.value) : undefined,
                })
              }
            >
              <option value="">{t("inbox.filter.anyAgent")}</option>
              {users.data?.users
                .filter((u) => u.isActive)
                .map((u) => (
                  <option key={u.id} value={u.id}>
                    {u.name}
                  </option>
                ))}
            </select>
          </>
        )}
      </div>
    </search>
  );
}
