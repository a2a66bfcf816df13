/**
 * The reply box. Reply mode sends to the customer (text, or a file with a caption); note mode adds
 * a private note only the team sees. Typing `/` first opens the canned replies: arrows choose,
 * Enter or a click inserts the reply as the API renders it for this conversation, Escape closes.
 */
import { useEffect, useRef, useState } from "react";
import { useI18n } from "../../i18n/I18nProvider";
import { useToast } from "../../toasts/ToastProvider";
import { useCannedReplies, useRenderCannedReply } from "../hooks/useCannedReplies";
import type { PendingReply } from "../hooks/useInbox";
import { useAddNote } from "../hooks/useTeamwork";
import { attachmentLimit, formatBytes, uploadTypeOf } from "../utils/attachments";
import { matchCanned, slashQuery } from "../utils/canned";
import { newClientMessageId } from "../utils/conversation";
import { CANNED_LISTBOX_ID, CannedPopover, cannedOptionId } from "./CannedPopover";
import { LockIcon } from "./icons";

type Mode = "reply" | "note";

export function Composer(props: { conversationId: number; onSend: (reply: PendingReply) => void }) {
  const { t } = useI18n();
  const toast = useToast();
  const [mode, setMode] = useState<Mode>("reply");
  const [text, setText] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [voiceNote, setVoiceNote] = useState(false);
  const [fileError, setFileError] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const area = useRef<HTMLTextAreaElement>(null);
  const addNote = useAddNote(props.conversationId);

  // Canned replies: open while the text is "/…" and Escape has not closed it for this text.
  const query = slashQuery(text);
  const [dismissedAt, setDismissedAt] = useState<string | null>(null);
  const cannedOpen = query !== null && dismissedAt !== text;
  const canned = useCannedReplies(query !== null);
  const options = cannedOpen ? matchCanned(canned.data ?? [], query ?? "") : [];
  // The highlighted option, for the query it was chosen under: typing further starts again at the top.
  const [choice, setChoice] = useState({ query, index: 0 });
  const active = choice.query === query ? Math.min(choice.index, Math.max(options.length - 1, 0)) : 0;
  const setActive = (index: number) => setChoice({ query, index });
  const render = useRenderCannedReply(props.conversationId);

  // A new conversation starts with an empty box in reply mode.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset on a change of conversation only
  useEffect(() => {
    setText("");
    setMode("reply");
    setUnresolved([]);
    clearFile();
  }, [props.conversationId]);

  // Variables the API had no value for (e.g. no upcoming appointment): left out of the text, named here.
  const [unresolved, setUnresolved] = useState<string[]>([]);

  function insertCanned(id: number) {
    render.mutate(id, {
      onSuccess: ({ text: rendered, unresolved: missing }) => {
        setText(rendered);
        setUnresolved(missing);
        requestAnimationFrame(() => {
          const el = area.current;
          if (!el) return;
          el.focus();
          el.setSelectionRange(rendered.length, rendered.length);
        });
      },
      onError: toast.error,
    });
  }

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
    setFileError(null);
    if (fileInput.current) fileInput.current.value = "";
  }

  const attachedKind = file ? attachmentLimit(file).kind : null;
  const note = mode === "note";

  function submit(e: React.FormEvent) {
    e.preventDefault();
    const body = text.trim();
    if (note) {
      if (!body || addNote.isPending) return;
      // The text stays until the note is stored, so a failure loses nothing.
      addNote.mutate(body, {
        onSuccess: () => {
          setText("");
          setUnresolved([]);
        },
        onError: toast.error,
      });
      return;
    }
    if (!body && !file) return;
    props.onSend({
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
    setUnresolved([]);
    clearFile();
  }

  function onKeyDown(e: React.KeyboardEvent<HTMLTextAreaElement>) {
    if (cannedOpen) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        if (options.length === 0) return;
        const step = e.key === "ArrowDown" ? 1 : -1;
        setActive((active + step + options.length) % options.length);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        setDismissedAt(text);
        return;
      }
      if ((e.key === "Enter" && !e.shiftKey) || e.key === "Tab") {
        const picked = options[active];
        if (picked) {
          e.preventDefault();
          insertCanned(picked.id);
          return;
        }
        if (e.key === "Tab") return;
      }
    }
    if (e.key === "Enter" && !e.shiftKey) submit(e);
  }

  const activeOption = cannedOpen ? options[active] : undefined;
  const canSubmit = note ? Boolean(text.trim()) && !addNote.isPending : Boolean(text.trim() || file);

  return (
    <form className={note ? "composer composer-note" : "composer"} onSubmit={submit} data-mode={mode}>
      {cannedOpen && (
        <CannedPopover
          query={query ?? ""}
          options={options}
          active={active}
          loading={canned.isPending || render.isPending}
          none={(canned.data?.length ?? 0) === 0}
          onHover={setActive}
          onPick={(reply) => insertCanned(reply.id)}
        />
      )}
      <fieldset className="composer-modes">
        <legend className="visually-hidden">{t("inbox.mode.label")}</legend>
        <button
          type="button"
          className="mode-button"
          aria-pressed={!note}
          onClick={() => setMode("reply")}
          data-testid="mode-reply"
        >
          {t("inbox.mode.reply")}
        </button>
        <button
          type="button"
          className="mode-button mode-note"
          aria-pressed={note}
          onClick={() => {
            setMode("note");
            clearFile();
          }}
          data-testid="mode-note"
        >
          <LockIcon />
          {t("inbox.mode.note")}
        </button>
      </fieldset>
      {!note && (file || fileError) && (
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
      {unresolved.length > 0 && text && (
        <p className="composer-hint" role="status" data-testid="canned-unresolved">
          {t("inbox.canned.unresolved", { names: unresolved.map((n) => `{${n}}`).join(", ") })}
        </p>
      )}
      <div className="composer-row">
        {!note && (
          <>
            <input
              ref={fileInput}
              id="attach"
              type="file"
              className="visually-hidden"
              data-testid="attach-input"
              onChange={(e) => choose(e.target.files?.[0])}
            />
            <label htmlFor="attach" className="button attach-button" title={t("inbox.attach")}>
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
          </>
        )}
        <label htmlFor="reply" className="visually-hidden">
          {note ? t("inbox.noteLabel") : t("inbox.reply")}
        </label>
        <textarea
          ref={area}
          id="reply"
          rows={2}
          value={text}
          placeholder={
            note ? t("inbox.notePlaceholder") : file ? t("inbox.attachCaption") : t("inbox.replyPlaceholder")
          }
          aria-autocomplete="list"
          aria-controls={cannedOpen && options.length > 0 ? CANNED_LISTBOX_ID : undefined}
          aria-activedescendant={activeOption ? cannedOptionId(activeOption.id) : undefined}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <button type="submit" className="button primary" disabled={!canSubmit}>
          {note ? t("inbox.addNote") : t("inbox.send")}
        </button>
      </div>
    </form>
  );
}
