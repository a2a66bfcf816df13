/**
 * Who a campaign or a broadcast reaches: the lead list's own filters (status, source, tag, search),
 * so "these leads" means the same here as on the leads page.
 */
import type { Audience } from "../../api/models";
import { useI18n } from "../../i18n/I18nProvider";
import { Field } from "../../ui/Field";
import { useLeadStatuses } from "../hooks/useLeads";

export function AudienceFields(props: { value: Audience; onChange: (a: Audience) => void; error?: string }) {
  const { t } = useI18n();
  const statuses = useLeadStatuses();
  const a = props.value;
  const chosen = new Set(Array.isArray(a.status) ? a.status : a.status ? a.status.split(",") : []);
  const toggle = (key: string) => {
    const next = new Set(chosen);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    props.onChange({ ...a, status: next.size > 0 ? [...next] : undefined });
  };
  return (
    <fieldset className="plain audience">
      <legend>{t("audience.title")}</legend>
      <fieldset className="plain chip-choices" aria-label={t("leads.status")}>
        {statuses.data?.statuses.map((s) => (
          <label key={s.key} className="check-label">
            <input type="checkbox" checked={chosen.has(s.key)} onChange={() => toggle(s.key)} />
            {s.label}
          </label>
        ))}
      </fieldset>
      <div className="row">
        <Field
          label={t("common.search")}
          value={a.q ?? ""}
          onChange={(e) => props.onChange({ ...a, q: e.target.value || undefined })}
        />
        <Field
          label={t("leads.source")}
          value={a.source ?? ""}
          onChange={(e) => props.onChange({ ...a, source: e.target.value || undefined })}
        />
        <Field
          label={t("leads.tag")}
          value={a.tag ?? ""}
          onChange={(e) => props.onChange({ ...a, tag: e.target.value || undefined })}
        />
      </div>
      <p className="field-hint">{t("audience.hint")}</p>
      {props.error && <p className="field-error">{props.error}</p>}
    </fieldset>
  );
}
