/**
 * Canned replies: texts the team inserts into a conversation by typing `/` and the shortcut, with
 * the template variables filled in for that conversation's lead. Admins (whatsapp.manage) create,
 * change and delete them; everyone else sees the list.
 */
import { type FormEvent, useRef, useState } from "react";
import type { CannedReply } from "../api/types";
import { useI18n } from "../i18n/I18nProvider";
import { useCannedReplies, useCannedReplyMutations } from "../inbox/hooks/useCannedReplies";
import { CANNED_VARIABLES } from "../inbox/utils/canned";
import { useCan } from "../permissions/useCan";
import { useToast } from "../toasts/ToastProvider";
import { ConfirmDialog } from "../ui/ConfirmDialog";
import { Field, TextAreaField } from "../ui/Field";
import { useFieldErrors } from "../ui/fieldErrors";

export function CannedRepliesCard() {
  const { t } = useI18n();
  const can = useCan();
  const toast = useToast();
  const manage = can("whatsapp.manage");
  const replies = useCannedReplies();
  const { remove } = useCannedReplyMutations();
  const [editing, setEditing] = useState<number | null>(null);
  const [deleting, setDeleting] = useState<CannedReply | null>(null);

  return (
    <section className="card stack" aria-labelledby="canned-replies-title" data-testid="canned-replies-card">
      <h2 id="canned-replies-title">{t("canned.title")}</h2>
      <p className="muted small card-intro">{t("canned.intro")}</p>
      {replies.isPending && <p>{t("common.loading")}</p>}
      {replies.data?.length === 0 && <p className="muted">{t("canned.empty")}</p>}
      <ul className="plain-list canned-list" data-testid="canned-list">
        {replies.data?.map((reply) =>
          editing === reply.id ? (
            <li key={reply.id} className="canned-row">
              <CannedReplyForm reply={reply} onDone={() => setEditing(null)} />
            </li>
          ) : (
            <li key={reply.id} className="canned-row" data-testid="canned-row">
              <span className="canned-shortcut" dir="ltr">
                /{reply.shortcut}
              </span>
              <p className="canned-text" dir="auto">
                {reply.body}
              </p>
              {manage && (
                <span className="actions">
                  <button type="button" className="link-button" onClick={() => setEditing(reply.id)}>
                    {t("common.edit")}
                  </button>
                  <button type="button" className="link-button" onClick={() => setDeleting(reply)}>
                    {t("canned.delete")}
                  </button>
                </span>
              )}
            </li>
          ),
        )}
      </ul>
      {manage && <CannedReplyForm />}
      <ConfirmDialog
        open={deleting !== null}
        title={t("canned.deleteTitle", { shortcut: deleting?.shortcut ?? "" })}
        body={t("canned.deleteBody")}
        confirmLabel={t("canned.delete")}
        danger
        busy={remove.isPending}
        onConfirm={() =>
          deleting &&
          remove.mutate(deleting.id, {
            onSuccess: () => setDeleting(null),
            onError: (err) => {
              setDeleting(null);
              toast.error(err);
            },
          })
        }
        onClose={() => setDeleting(null)}
      />
    </section>
  );
}

/** A new canned reply, or (with `reply`) an existing one being changed. */
function CannedReplyForm(props: { reply?: CannedReply; onDone?: () => void }) {
  const { t } = useI18n();
  const toast = useToast();
  const fields = useFieldErrors();
  const { create, update } = useCannedReplyMutations();
  const area = useRef<HTMLTextAreaElement>(null);
  const [shortcut, setShortcut] = useState(props.reply?.shortcut ?? "");
  const [body, setBody] = useState(props.reply?.body ?? "");
  const saving = create.isPending || update.isPending;

  function insertVariable(name: string) {
    const el = area.current;
    const token = `{${name}}`;
    const start = el?.selectionStart ?? body.length;
    const end = el?.selectionEnd ?? body.length;
    const next = body.slice(0, start) + token + body.slice(end);
    setBody(next);
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(start + token.length, start + token.length);
    });
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    fields.clear();
    const value = { shortcut: shortcut.trim().replace(/^\//, ""), body };
    const done = {
      onSuccess: () => {
        toast.success(t("common.saved"));
        if (props.reply) props.onDone?.();
        else {
          setShortcut("");
          setBody("");
        }
      },
      onError: (err: Error) => {
        fields.capture(err);
        toast.error(err);
      },
    };
    if (props.reply) update.mutate({ id: props.reply.id, ...value }, done);
    else create.mutate(value, done);
  }

  return (
    <form
      className="stack canned-form"
      onSubmit={submit}
      noValidate
      aria-label={props.reply ? t("canned.editing", { shortcut: props.reply.shortcut }) : t("canned.new")}
    >
      {!props.reply && <h3>{t("canned.new")}</h3>}
      <Field
        label={t("canned.shortcut")}
        value={shortcut}
        dir="ltr"
        maxLength={40}
        hint={t("canned.shortcutHint")}
        error={fields.errors.shortcut}
        onChange={(e) => setShortcut(e.target.value)}
      />
      <TextAreaField
        ref={area}
        label={t("canned.body")}
        rows={3}
        value={body}
        error={fields.errors.body}
        onChange={(e) => setBody(e.target.value)}
      />
      <fieldset className="plain canned-variables">
        <legend className="muted small">{t("canned.variables")}:</legend>
        {CANNED_VARIABLES.map((v) => (
          <button key={v} type="button" className="button small" dir="ltr" onClick={() => insertVariable(v)}>
            {`{${v}}`}
          </button>
        ))}
        <span className="muted small">{t("canned.variablesHint")}</span>
      </fieldset>
      <div className="actions">
        <button type="submit" className="button primary" disabled={saving}>
          {props.reply ? t("common.save") : t("canned.add")}
        </button>
        {props.reply && (
          <button type="button" className="button" onClick={props.onDone}>
            {t("common.cancel")}
          </button>
        )}
      </div>
    </form>
  );
}
