/**
 * The inbox: conversations by last activity with unread counts, and the open thread with delivery
 * ticks and a reply box. New messages and statuses arrive through the live hub (LiveProvider).
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { Link } from "wouter";
import { useBusiness } from "../auth/hooks/useBusiness";
import { formatDateTime, formatRelative } from "../format/dates";
import { useI18n } from "../i18n/I18nProvider";
import { useLiveStatus } from "../live/LiveProvider";
import { useCan } from "../permissions/useCan";
import { hasMedia, MessageMedia } from "./components/MessageMedia";
import { PendingBubble } from "./components/PendingBubble";
import { Ticks } from "./components/Ticks";
import { useConversations, useMarkRead, useReplies, useThread } from "./hooks/useInbox";
import { attachmentLimit, formatBytes, uploadTypeOf } from "./utils/attachments";
import { conversationName, newClientMessageId } from "./utils/conversation";

export default function InboxPage({ conversationId }: { conversationId?: number }) {
  const { t, locale } = useI18n();
  const business = useBusiness();
  const live = useLiveStatus();
  const conversations = useConversations();
  const list = conversations.data?.conversations ?? [];
  const open = list.find((c) => c.id === conversationId);

  return (
    <section className={conversationId ? "page inbox thread-open" : "page inbox"}>
      <div className="page-head">
        <h1>{t("inbox.title")}</h1>
        <span className={`live-dot live-${live}`} data-testid="live-status" data-live={live}>
          {live === "open" ? t("inbox.live") : t("inbox.offline")}
        </span>
      </div>
      <div className="inbox-grid">
        <nav className="conversation-list" aria-label={t("inbox.title")}>
          {conversations.isPending && <p>{t("common.loading")}</p>}
          {!conversations.isPending && list.length === 0 && <p className="muted">{t("inbox.empty")}</p>}
          <ul>
            {list.map((c) => (
              <li key={c.id}>
                <Link
                  href={`/inbox/${c.id}`}
                  className="conversation"
                  aria-current={c.id === conversationId ? "page" : undefined}
                >
                  <span className="conversation-name">{conversationName(c, business.phoneRegion)}</span>
                  <time className="muted" dateTime={c.lastMessageAt ?? undefined}>
                    {formatRelative(c.lastMessageAt, locale, business.timezone)}
                  </time>
                  <span className="conversation-preview">{c.lastMessagePreview ?? ""}</span>
                  {c.unreadCount > 0 && (
                    <span className="badge">
                      <span aria-hidden="true">{c.unreadCount}</span>
                      <span className="visually-hidden">{t("inbox.unread", { count: c.unreadCount })}</span>
                    </span>
                  )}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="thread-pane">
          {conversationId === undefined ? (
            <p className="muted center">{t("inbox.pick")}</p>
          ) : (
            <Thread
              conversationId={conversationId}
              title={open ? conversationName(open, business.phoneRegion) : ""}
              unread={open?.unreadCount ?? 0}
              formatAt={(iso) => formatDateTime(iso, locale, business.timezone)}
            />
          )}
        </div>
      </div>
    </section>
  );
}

function Thread(props: { conversationId: number; title: string; unread: number; formatAt: (iso: string) => string }) {
  const { t } = useI18n();
  const can = useCan();
  const thread = useThread(props.conversationId);
  const markRead = useMarkRead();
  const { send, reconcile, update } = useReplies(props.conversationId);
  const [text, setText] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [voiceNote, setVoiceNote] = useState(false);
  const [fileError, setFileError] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const endRef = useRef<HTMLLIElement>(null);
  const pending = reconcile(thread.data);

  // Opening a thread reads it; so does a new message arriving while it is open.
  const { mutate: markReadMutate } = markRead;
  useEffect(() => {
    if (props.unread > 0 && document.visibilityState === "visible") markReadMutate(props.conversationId);
  }, [props.unread, props.conversationId, markReadMutate]);

  const count = (thread.data?.length ?? 0) + pending.length;
  useEffect(() => {
    if (count > 0) endRef.current?.scrollIntoView({ block: "end" });
  }, [count]);

  const onFailed = useCallback(
    (id: string, error: string) => update(id, { state: "failed", error, reuseId: false }),
    [update],
  );

  /** A chosen file is checked against WhatsApp's limit for its kind before anything is uploaded. */
  function choose(chosen: File | undefined) {
    setFileError(null);
    setVoiceNote(false);
    if (!chosen) return setFile(null);
    const { kind, maxBytes } = attachmentLimit(chosen);
    if (chosen.size > maxBytes) {
      setFile(null);
      if (fileInput.current) fileInput.current.value = "";
      setFileError(
        t("inbox.fileTooLarge", {
          kind: t(`inbox.media.kind.${kind}`),
          max: formatBytes(maxBytes),
          size: formatBytes(chosen.size),
        }),
      );
      return;
    }
    setFile(chosen);
  }

  function clearFile() {
    setFile(null);
    setVoiceNote(false);
    if (fileInput.current) fileInput.current.value = "";
  }

  const attachedKind = file ? attachmentLimit(file).kind : null;

  function submit(e: React.FormEvent) {
    e.preventDefault();
    const body = text.trim();
    if (!body && !file) return;
    send.mutate({
      clientMessageId: newClientMessageId(),
      conversationId: props.conversationId,
      text: body,
      state: "sending",
      reuseId: true,
      ...(file
        ? {
            attachment: {
              file,
              fileName: file.name || "file",
              contentType: uploadTypeOf(file),
              voiceNote: voiceNote && attachedKind === "audio",
            },
          }
        : {}),
    });
    setText("");
    clearFile();
  }

  return (
    <div className="thread">
      <header className="thread-head">
        <Link href="/inbox" className="back-link narrow-only">
          {t("inbox.back")}
        </Link>
        <h2>{props.title}</h2>
        {props.unread > 0 && (
          <button type="button" className="button" onClick={() => markRead.mutate(props.conversationId)}>
            {t("inbox.markRead")}
          </button>
        )}
      </header>
      <ol className="messages" aria-live="polite" data-testid="thread">
        {thread.data?.map((m) => (
          <li key={m.id} className={m.fromMe ? "bubble from-me" : "bubble"} data-kind={m.kind}>
            {hasMedia(m) ? (
              <>
                <MessageMedia message={m} />
                {m.text && <p>{m.text}</p>}
              </>
            ) : (
              <p>{m.text ?? `[${m.kind}]`}</p>
            )}
            <div className="bubble-meta">
              <time dateTime={m.sentAt}>{props.formatAt(m.sentAt)}</time>
              {m.fromMe && <Ticks status={m.status} />}
            </div>
          </li>
        ))}
        {pending.map((p) => (
          <PendingBubble key={p.clientMessageId} reply={p} onRetry={(r) => send.mutate(r)} onFailed={onFailed} />
        ))}
        <li ref={endRef} className="messages-end" aria-hidden="true" />
      </ol>
      {can("whatsapp.send") && (
        <form className="composer" onSubmit={submit}>
          {(file || fileError) && (
            <div className="composer-attachment">
              {file && (
                <span className="file-chip" data-testid="attachment-chip">
                  <span aria-hidden="true">📎</span> {file.name} <span className="muted">{formatBytes(file.size)}</span>
                  <button
                    type="button"
                    className="link-button"
                    aria-label={t("inbox.attachRemove", { name: file.name })}
                    onClick={clearFile}
                  >
                    ✕
                  </button>
                </span>
              )}
              {attachedKind === "audio" && (
                <label className="checkbox">
                  <input type="checkbox" checked={voiceNote} onChange={(e) => setVoiceNote(e.target.checked)} />
                  {t("inbox.voiceNote")}
                </label>
              )}
              {fileError && (
                <span className="bad" role="alert" data-testid="attachment-error">
                  {fileError}
                </span>
              )}
            </div>
          )}
          <div className="composer-row">
            <input
              ref={fileInput}
              id="attach"
              type="file"
              className="visually-hidden"
              data-testid="attach-input"
              onChange={(e) => choose(e.target.files?.[0])}
            />
            <label htmlFor="attach" className="button attach-button" title={t("inbox.attach")}>
              {/* A drawn paperclip: an emoji glyph is missing from some systems' fonts. */}
              <svg
                aria-hidden="true"
                width="18"
                height="18"
                viewBox="0 0 24 24"
                fill="none"
                stroke="currentColor"
                strokeWidth="2"
              >
                <path d="M21 12.5l-8.5 8.5a5 5 0 0 1-7-7L14 5.5a3.3 3.3 0 0 1 4.7 4.7L10.2 18.7a1.7 1.7 0 0 1-2.4-2.4L15.5 8.6" />
              </svg>
              <span className="visually-hidden">{t("inbox.attach")}</span>
            </label>
            <label htmlFor="reply" className="visually-hidden">
              {t("inbox.reply")}
            </label>
            <textarea
              id="reply"
              rows={2}
              value={text}
              placeholder={file ? t("inbox.attachCaption") : t("inbox.reply")}
              onChange={(e) => setText(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter" && !e.shiftKey) submit(e);
              }}
            />
            <button type="submit" className="button primary" disabled={!text.trim() && !file}>
              {t("inbox.send")}
            </button>
          </div>
        </form>
      )}
    </div>
  );
}
