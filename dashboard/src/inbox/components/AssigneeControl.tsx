/**
 * Who handles the conversation. Admins (whatsapp.assign) give it to any active team member or to
 * nobody; an agent takes an unassigned conversation or lets go of their own.
 */
import { useQuery } from "@tanstack/react-query";
import { useId } from "react";
import { api } from "../../api/client";
import type { Conversation } from "../../api/types";
import { useMe } from "../../auth/hooks/useMe";
import { useI18n } from "../../i18n/I18nProvider";
import { leadKeys } from "../../leads/hooks/useLeads";
import { useCan } from "../../permissions/useCan";
import { useAssign } from "../hooks/useTeamwork";
import { PersonIcon } from "./icons";

export function AssigneeControl({ conversation }: { conversation: Conversation }) {
  const { t } = useI18n();
  const can = useCan();
  const me = useMe();
  const id = useId();
  const assign = useAssign(conversation.id);
  const anyone = can("whatsapp.assign") && can("users.read");
  const users = useQuery({ queryKey: leadKeys.users, queryFn: api.users.list, enabled: anyone });
  const assignee = conversation.assignee;

  if (anyone) {
    const active = users.data?.users.filter((u) => u.isActive) ?? [];
    // The current assignee stays choosable even if they were deactivated since.
    const options =
      assignee && !active.some((u) => u.id === assignee.id)
        ? [...active, { id: assignee.id, name: assignee.name }]
        : active;
    return (
      <span className="assignee">
        <label htmlFor={id} className="assignee-label">
          <PersonIcon />
          <span className="visually-hidden">{t("inbox.assignee")}</span>
        </label>
        <select
          id={id}
          data-testid="assignee-select"
          value={assignee?.id ?? ""}
          disabled={assign.isPending}
          onChange={(e) => assign.mutate(e.target.value ? Number(e.target.value) : null)}
        >
          <option value="">{t("inbox.unassigned")}</option>
          {options.map((u) => (
            <option key={u.id} value={u.id}>
              {u.id === me?.user.id ? t("inbox.meName", { name: u.name }) : u.name}
            </option>
          ))}
        </select>
      </span>
    );
  }

  const mine = assignee !== null && assignee.id === me?.user.id;
  return (
    <span className="assignee" data-testid="assignee">
      <PersonIcon />
      <span className="visually-hidden">{t("inbox.assignee")}:</span>
      <span className={assignee ? "assignee-name" : "assignee-name muted"}>
        {assignee ? (mine ? t("inbox.meName", { name: assignee.name }) : assignee.name) : t("inbox.unassigned")}
      </span>
      {can("whatsapp.send") && me && !assignee && (
        <button
          type="button"
          className="button small"
          disabled={assign.isPending}
          onClick={() => assign.mutate(me.user.id)}
        >
          {t("inbox.assignToMe")}
        </button>
      )}
      {can("whatsapp.send") && mine && (
        <button type="button" className="button small" disabled={assign.isPending} onClick={() => assign.mutate(null)}>
          {t("inbox.unassign")}
        </button>
      )}
    </span>
  );
}
