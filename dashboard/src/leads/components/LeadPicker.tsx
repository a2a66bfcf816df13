/** Choose one lead by typing part of a name or phone (the lead list's own search). */
import { useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";
import { api } from "../../api/client";
import type { Lead } from "../../api/types";
import { useBusiness } from "../../auth/hooks/useBusiness";
import { useI18n } from "../../i18n/I18nProvider";
import { useDebounced } from "../hooks/useDebounced";
import { leadKeys } from "../hooks/useLeads";
import { leadName } from "../utils/leadName";

export function LeadPicker(props: {
  label: string;
  value: Lead | null;
  onChange: (lead: Lead | null) => void;
  error?: string;
}) {
  const { t } = useI18n();
  const business = useBusiness();
  const id = useId();
  const [text, setText] = useState("");
  const q = useDebounced(text.trim(), 250);
  const found = useQuery({
    queryKey: leadKeys.list({ q, limit: 8 }),
    queryFn: ({ signal }) => api.leads.list({ q, limit: 8 }, signal),
    enabled: q.length > 0 && !props.value,
  });
  if (props.value) {
    return (
      <div className="field">
        <span className="field-label">{props.label}</span>
        <div className="picked">
          <strong data-testid="picked-lead">{leadName(props.value, business.phoneRegion)}</strong>
          <button type="button" className="link-button" onClick={() => props.onChange(null)}>
            {t("common.change")}
          </button>
        </div>
      </div>
    );
  }
  return (
    <div className="field lead-picker">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        type="search"
        value={text}
        placeholder={t("leads.searchPlaceholder")}
        aria-invalid={props.error ? true : undefined}
        onChange={(e) => setText(e.target.value)}
      />
      {props.error && <div className="field-error">{props.error}</div>}
      {q && found.data && (
        <ul className="picker-options">
          {found.data.leads.length === 0 && <li className="muted">{t("leads.empty")}</li>}
          {found.data.leads.map((lead) => (
            <li key={lead.id}>
              <button type="button" className="link-button" onClick={() => props.onChange(lead)}>
                {leadName(lead, business.phoneRegion)}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
