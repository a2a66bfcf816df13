/**
 * Compose a broadcast: a template with variables (inserted at the cursor), the audience from the
 * lead filters, and before sending the API's own preview: the message as a real lead of the
 * audience would get it, and how many leads get it and are skipped (POST /api/broadcasts/preview).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useRef, useState } from "react";
import { useLocation } from "wouter";
import { contract, fromContract } from "../../api/client";
import type { Audience } from "../../api/models";
import { useI18n } from "../../i18n/I18nProvider";
import { AudienceFields } from "../../leads/components/AudienceFields";
import { useDebounced } from "../../leads/hooks/useDebounced";
import { useToast } from "../../toasts/ToastProvider";
import { Dialog } from "../../ui/Dialog";
import { Field, TextAreaField } from "../../ui/Field";
import { useFieldErrors } from "../../ui/fieldErrors";
import { broadcastKeys } from "../hooks/keys";

/** The variables a broadcast may use (worker/services/templates.ts variablesFor.broadcast). */
export const BROADCAST_VARIABLES = ["first_name", "last_name", "full_name", "business_name"] as const;

export function NewBroadcastDialog(props: { open: boolean; onClose: () => void }) {
  const { t } = useI18n();
  const toast = useToast();
  const queryClient = useQueryClient();
  const [, navigate] = useLocation();
  const fields = useFieldErrors();
  const area = useRef<HTMLTextAreaElement>(null);
  const [name, setName] = useState("");
  const [template, setTemplate] = useState("");
  const [audience, setAudience] = useState<Audience>({});

  const settled = useDebounced({ template, audience }, 400);
  const preview = useQuery({
    queryKey: ["broadcasts", "preview", settled],
    queryFn: () =>
      fromContract(
        contract.POST("/api/broadcasts/preview", {
          body: { template: settled.template, audience: settled.audience },
        }),
      ),
    enabled: props.open && settled.template.trim().length > 0,
    retry: false,
  });

  const create = useMutation({
    mutationFn: () => fromContract(contract.POST("/api/broadcasts", { body: { name, template, audience } })),
    onSuccess: (res) => {
      void queryClient.invalidateQueries({ queryKey: broadcastKeys.all });
      props.onClose();
      navigate(`/broadcasts/${res.broadcast.id}`);
    },
    onError: (err) => {
      fields.capture(err);
      toast.error(err);
    },
  });

  function insertVariable(v: string) {
    const el = area.current;
    const token = `{${v}}`;
    const at = el?.selectionStart ?? template.length;
    const next = template.slice(0, at) + token + template.slice(el?.selectionEnd ?? at);
    setTemplate(next);
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(at + token.length, at + token.length);
    });
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    fields.clear();
    create.mutate();
  }

  const previewError = preview.error instanceof Error ? preview.error.message : null;
  return (
    <Dialog open={props.open} title={t("broadcasts.new")} onClose={props.onClose} wide>
      <form className="stack" onSubmit={submit} noValidate>
        <Field
          label={t("broadcasts.name")}
          value={name}
          error={fields.errors.name}
          onChange={(e) => setName(e.target.value)}
        />
        <TextAreaField
          ref={area}
          label={t("broadcasts.template")}
          rows={4}
          value={template}
          error={fields.errors.template}
          onChange={(e) => setTemplate(e.target.value)}
        />
        <fieldset className="plain actions" aria-label={t("broadcasts.variables")}>
          <span className="muted small">{t("broadcasts.variables")}:</span>
          {BROADCAST_VARIABLES.map((v) => (
            <button key={v} type="button" className="button small" onClick={() => insertVariable(v)}>
              {`{${v}}`}
            </button>
          ))}
        </fieldset>
        <AudienceFields value={audience} onChange={setAudience} error={fields.errors.audience} />
        <div className="preview" data-testid="broadcast-preview" aria-live="polite">
          <h3>{t("settings.preview")}</h3>
          {previewError ? (
            <p className="field-error">{previewError}</p>
          ) : preview.data ? (
            <>
              <p>
                {t("broadcasts.audienceCount", { recipients: preview.data.recipients, skipped: preview.data.skipped })}
              </p>
              {preview.data.sample ? (
                <>
                  <p className="muted small">
                    {t("broadcasts.previewFor", {
                      name:
                        [preview.data.sample.firstName, preview.data.sample.lastName].filter(Boolean).join(" ") ||
                        `#${preview.data.sample.leadId}`,
                    })}
                  </p>
                  <p className="bubble from-me pre" data-testid="broadcast-sample">
                    {preview.data.sample.text}
                  </p>
                </>
              ) : (
                <p className="muted">{t("broadcasts.noRecipients")}</p>
              )}
            </>
          ) : (
            <p className="muted">{t("broadcasts.writeToPreview")}</p>
          )}
        </div>
        <div className="actions">
          <button
            type="submit"
            className="button primary"
            disabled={create.isPending || !name.trim() || !template.trim() || preview.data?.recipients === 0}
          >
            {t("broadcasts.send")}
          </button>
          <button type="button" className="button" onClick={props.onClose}>
            {t("common.cancel")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
