/** A conversation's status as a chip: open, pending, resolved, or snoozed until when (the business's clock). */
import type { Conversation } from "../../api/types";
import { useBusiness } from "../../auth/hooks/useBusiness";
import { formatDateTime } from "../../format/dates";
import { useI18n } from "../../i18n/I18nProvider";
import { ClockIcon } from "./icons";

export function ConversationStatusChip({
  conversation,
}: {
  conversation: Pick<Conversation, "status" | "snoozedUntil">;
}) {
  const { t, locale } = useI18n();
  const business = useBusiness();
  const { status, snoozedUntil } = conversation;
  return (
    <span className={`chip conv-status conv-status-${status}`} data-testid="conversation-status" data-status={status}>
      {status === "snoozed" && <ClockIcon />}
      {status === "snoozed" && snoozedUntil
        ? t("inbox.snoozedUntil", { time: formatDateTime(snoozedUntil, locale, business.timezone) })
        : t(`inbox.convStatus.${status}`)}
    </span>
  );
}
