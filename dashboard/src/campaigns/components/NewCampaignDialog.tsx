/**
 * Create a campaign from lead filters. Before anything is created, the API counts how many leads
 * would be dialed and how many skipped for lack of a valid phone (POST /api/campaigns/preview).
 * Schedule window and working hours on the business's clock; retry policy for no-answer and busy.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useLocation } from "wouter";
import { contract, fromContract } from "../../api/client";
import type { Audience } from "../../api/models";
import { useBusiness } from "../../auth/hooks/useBusiness";
import { zonedInstant } from "../../format/dates";
import { useI18n } from "../../i18n/I18nProvider";
import { AudienceFields } from "../../leads/components/AudienceFields";
import { useDebounced } from "../../leads/hooks/useDebounced";
import { useToast } from "../../toasts/ToastProvider";
import { Dialog } from "../../ui/Dialog";
import { Field } from "../../ui/Field";
import { useFieldErrors } from "../../ui/fieldErrors";
import { campaignKeys } from "../hooks/keys";

const localInstant = (value: string, tz: string) =>
  value ? zonedInstant(value.slice(0, 10), value.slice(11, 16), tz).toISOString() : undefined;

export function NewCampaignDialog(props: { open: boolean; onClose: () => void }) {
  const { t } = useI18n();
  const toast = useToast();
  const business = useBusiness();
  const queryClient = useQueryClient();
  const [, navigate] = useLocation();
  const fields = useFieldErrors();
  const [name, setName] = useState("");
  const [audience, setAudience] = useState<Audience>({});
  const [start, setStart] = useState("");
  const [end, setEnd] = useState("");
  const [businessHours, setBusinessHours] = useState(false);
  const [maxAttempts, setMaxAttempts] = useState("1");
  const [retryMinutes, setRetryMinutes] = useState("10");

  const settled = useDebounced(audience, 300);
  const preview = useQuery({
    queryKey: ["campaigns", "preview", settled],
    queryFn: () => fromContract(contract.POST("/api/campaigns/preview", { body: { audience: settled } })),
    enabled: props.open,
  });

  const create = useMutation({
    mutationFn: () =>
      fromContract(
        contract.POST("/api/campaigns", {
          body: {
            name,
            audience,
            schedule: {
              start: localInstant(start, business.timezone),
              end: localInstant(end, business.timezone),
              businessHours,
            },
            maxAttempts: Number(maxAttempts),
            retryDelaySeconds: Number(retryMinutes) * 60,
          },
        }),
      ),
    onSuccess: (res) => {
      void queryClient.invalidateQueries({ queryKey: campaignKeys.all });
      toast.success(t("campaigns.created", { count: res.queued }));
      props.onClose();
      navigate(`/campaigns/${res.campaign.id}`);
    },
    onError: (err) => {
      fields.capture(err);
      toast.error(err);
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    fields.clear();
    create.mutate();
  }

  return (
    <Dialog open={props.open} title={t("campaigns.new")} onClose={props.onClose} wide>
      <form className="stack" onSubmit={submit} noValidate>
        <Field
          label={t("campaigns.name")}
          value={name}
          required
          error={fields.errors.name}
          onChange={(e) => setName(e.target.value)}
        />
        <AudienceFields value={audience} onChange={setAudience} error={fields.errors.audience} />
        <p className="preview-counts" data-testid="campaign-preview" aria-live="polite">
          {preview.data
            ? t("campaigns.previewCounts", { dial: preview.data.dial, skipped: preview.data.skipped })
            : t("common.loading")}
        </p>
        <fieldset className="plain">
          <legend>{t("campaigns.schedule")}</legend>
          <div className="row">
            <Field
              label={t("campaigns.start")}
              type="datetime-local"
              value={start}
              error={fields.errors["schedule.start"]}
              onChange={(e) => setStart(e.target.value)}
            />
            <Field
              label={t("campaigns.end")}
              type="datetime-local"
              value={end}
              error={fields.errors["schedule.end"]}
              onChange={(e) => setEnd(e.target.value)}
            />
          </div>
          <label className="check-label">
            <input type="checkbox" checked={businessHours} onChange={(e) => setBusinessHours(e.target.checked)} />
            {t("campaigns.businessHours")}
          </label>
          {fields.errors["schedule.businessHours"] && (
            <p className="field-error">{fields.errors["schedule.businessHours"]}</p>
          )}
          <p className="field-hint">{t("campaigns.clockHint", { tz: business.timezone })}</p>
        </fieldset>
        <fieldset className="plain">
          <legend>{t("campaigns.retry")}</legend>
          <div className="row">
            <Field
              label={t("campaigns.maxAttempts")}
              type="number"
              min={1}
              max={10}
              value={maxAttempts}
              error={fields.errors.maxAttempts}
              onChange={(e) => setMaxAttempts(e.target.value)}
            />
            <Field
              label={t("campaigns.retryMinutes")}
              type="number"
              min={1}
              value={retryMinutes}
              error={fields.errors.retryDelaySeconds}
              onChange={(e) => setRetryMinutes(e.target.value)}
            />
          </div>
        </fieldset>
        <div className="actions">
          <button
            type="submit"
            className="button primary"
            disabled={create.isPending || !name.trim() || preview.data?.dial === 0}
          >
            {t("campaigns.create")}
          </button>
          <button type="button" className="button" onClick={props.onClose}>
            {t("common.cancel")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
