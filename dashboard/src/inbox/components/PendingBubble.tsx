import { useEffect } from "react";
import { useI18n } from "../../i18n/I18nProvider";
import { type PendingReply, useOutboundStatus } from "../hooks/useInbox";
import { newClientMessageId } from "../utils/conversation";
import { Ticks } from "./Ticks";

/** Our reply before the thread has it: pending ticks, or failed with the reason and a retry. */
export function PendingBubble(props: {
  reply: PendingReply;
  onRetry: (reply: PendingReply) => void;
  onFailed: (clientMessageId: string, error: string) => void;
}) {
  const { t } = useI18n();
  const { reply } = props;
  const outbound = useOutboundStatus(reply.state === "queued" ? reply.outboundId : undefined);
  const status = outbound.data?.message;
  const { onFailed } = props;
  useEffect(() => {
    if (status?.status === "failed" || status?.status === "cancelled") {
      onFailed(reply.clientMessageId, status.lastError ?? status.status);
    }
  }, [status, reply.clientMessageId, onFailed]);

  const failed = reply.state === "failed";
  return (
    <li className="bubble from-me pending" data-testid="pending-bubble">
      {reply.attachment && (
        <p className="media-document" data-testid="pending-attachment">
          <span aria-hidden="true">📎</span> <span className="media-document-name">{reply.attachment.fileName}</span>
        </p>
      )}
      {reply.text && <p>{reply.text}</p>}
      <div className="bubble-meta">
        {failed ? (
          <>
            <span className="bad" role="alert">
              {reply.error}
            </span>
            <button
              type="button"
              className="link-button"
              onClick={() =>
                props.onRetry({
                  ...reply,
                  state: "sending",
                  error: undefined,
                  clientMessageId: reply.reuseId ? reply.clientMessageId : newClientMessageId(),
                })
              }
            >
              {t("inbox.retry")}
            </button>
            <Ticks status="failed" />
          </>
        ) : (
          <Ticks status="pending" />
        )}
      </div>
    </li>
  );
}
