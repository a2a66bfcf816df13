/**
 * Moving a conversation along: resolve it, reopen it, mark it pending (waiting on the customer), or
 * snooze it until a time: presets on the business's clock, or a date and time of one's own.
 */
import { useId, useState } from "react";
import type { Conversation } from "../../api/types";
import { useBusiness } from "../../auth/hooks/useBusiness";
import { formatDateTime } from "../../format/dates";
import { useI18n } from "../../i18n/I18nProvider";
import { Popover } from "../../ui/Popover";
import { useSetStatus } from "../hooks/useTeamwork";
import { customSnoozeUntil, SNOOZE_PRESETS, snoozeUntil, toDateTimeLocal } from "../utils/snooze";

export function StatusActions({ conversation }: { conversation: Conversation }) {
  const { t } = useI18n();
  const set = useSetStatus(conversation.id);
  const { status } = conversation;
  const busy = set.isPending;
  return (
    <span className="status-actions">
      {status === "resolved" ? (
        <button type="button" className="button small" disabled={busy} onClick={() => set.mutate({ status: "open" })}>
          {t("inbox.reopen")}
        </button>
      ) : (
        <button
          type="button"
          className="button small primary"
          disabled={busy}
          onClick={() => set.mutate({ status: "resolved" })}
        >
          {t("inbox.resolve")}
        </button>
      )}
      {(status === "pending" || status === "snoozed") && (
        <button type="button" className="button small" disabled={busy} onClick={() => set.mutate({ status: "open" })}>
          {t("inbox.reopen")}
        </button>
      )}
      {status === "open" && (
        <button
          type="button"
          className="button small"
          disabled={busy}
          onClick={() => set.mutate({ status: "pending" })}
        >
          {t("inbox.markPending")}
        </button>
      )}
      {status !== "resolved" && (
        <Popover label={t("inbox.snooze")} className="snooze" testId="snooze">
          {(close) => (
            <SnoozeChoices
              busy={busy}
              onPick={(until) => set.mutate({ status: "snoozed", snoozedUntil: until }, { onSuccess: close })}
            />
          )}
        </Popover>
      )}
    </span>
  );
}

function SnoozeChoices(props: { busy: boolean; onPick: (until: Date) => void }) {
  const { t, locale } = useI18n();
  const business = useBusiness();
  const zone = business.timezone;
  const id = useId();
  const [custom, setCustom] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const now = new Date();

  function pickCustom() {
    const until = customSnoozeUntil(custom, zone);
    if (!until || until.getTime() <= Date.now()) {
      setProblem(t("inbox.snooze.past"));
      return;
    }
    setProblem(null);
    props.onPick(until);
  }

  return (
    <div className="stack snooze-choices">
      <ul className="plain-list menu-list">
        {SNOOZE_PRESETS.map((preset) => (
          <li key={preset}>
            <button
              type="button"
              className="menu-item"
              disabled={props.busy}
              // The time is worked out at the click: the panel may have been open for a while.
              onClick={() => props.onPick(snoozeUntil(preset, new Date(), zone))}
            >
              <span>{t(`inbox.snooze.${preset}`)}</span>
              <span className="muted small">
                {formatDateTime(snoozeUntil(preset, now, zone).toISOString(), locale, zone)}
              </span>
            </button>
          </li>
        ))}
      </ul>
      <div className="field">
        <label htmlFor={id}>{t("inbox.snooze.custom")}</label>
        <input
          id={id}
          type="datetime-local"
          value={custom}
          min={toDateTimeLocal(now, zone)}
          aria-invalid={problem ? true : undefined}
          onChange={(e) => setCustom(e.target.value)}
        />
        <div className="field-hint">{t("inbox.snooze.zone", { zone })}</div>
        {problem && <div className="field-error">{problem}</div>}
      </div>
      <button type="button" className="button small" disabled={props.busy || !custom} onClick={pickCustom}>
        {t("inbox.snooze.apply")}
      </button>
    </div>
  );
}
