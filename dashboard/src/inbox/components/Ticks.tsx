/** Delivery ticks for our own messages: ✓ sent, ✓✓ delivered, blue ✓✓ read, ⚠ failed. */
import type { MessageStatus } from "../../api/types";
import { useI18n } from "../../i18n/I18nProvider";
import type { MessageKey } from "../../i18n/messages";

const GLYPH: Record<MessageStatus, string> = {
  pending: "◷",
  sent: "✓",
  delivered: "✓✓",
  read: "✓✓",
  played: "✓✓",
  failed: "⚠",
};

export function Ticks({ status }: { status: MessageStatus }) {
  const { t } = useI18n();
  const label = t(`inbox.status.${status}` as MessageKey);
  return (
    <span className={`ticks ticks-${status}`} role="img" aria-label={label} title={label} data-status={status}>
      {GLYPH[status]}
    </span>
  );
}
