/** How long the customer waited for a first answer, and until the conversation was resolved (when known). */
import type { Conversation } from "../../api/types";
import { formatElapsed } from "../../format/dates";
import { useI18n } from "../../i18n/I18nProvider";

export function ConversationTimes({ conversation }: { conversation: Conversation }) {
  const { t, locale } = useI18n();
  const { firstResponseSeconds, resolutionSeconds } = conversation;
  if (firstResponseSeconds === null && resolutionSeconds === null) return null;
  return (
    <dl className="conversation-times" data-testid="conversation-times">
      {firstResponseSeconds !== null && (
        <div>
          <dt>{t("inbox.firstResponse")}</dt>
          <dd>{formatElapsed(firstResponseSeconds, locale)}</dd>
        </div>
      )}
      {resolutionSeconds !== null && (
        <div>
          <dt>{t("inbox.resolution")}</dt>
          <dd>{formatElapsed(resolutionSeconds, locale)}</dd>
        </div>
      )}
    </dl>
  );
}
