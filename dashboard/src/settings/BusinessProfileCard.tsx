/**
 * The business's profile (everyone reads; the owner edits): name, timezone (dates, quiet hours,
 * reminders run on it), locale (the dashboard's default language) and phone region (how local
 * numbers are read). The Twilio number is a system admin's to set.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useState } from "react";
import { contract, fromContract } from "../api/client";
import { authKeys } from "../auth/hooks/useMe";
import { useI18n } from "../i18n/I18nProvider";
import { useCan } from "../permissions/useCan";
import { useToast } from "../toasts/ToastProvider";
import { Field } from "../ui/Field";
import { useFieldErrors } from "../ui/fieldErrors";

const businessKey = ["business"] as const;

export function BusinessProfileCard() {
  const { t } = useI18n();
  const can = useCan();
  const toast = useToast();
  const queryClient = useQueryClient();
  const fields = useFieldErrors();
  const editable = can("business.update");
  const business = useQuery({ queryKey: businessKey, queryFn: () => fromContract(contract.GET("/api/business")) });
  const [form, setForm] = useState({ name: "", timezone: "", locale: "", phoneRegion: "" });
  useEffect(() => {
    const b = business.data?.business;
    if (b) setForm({ name: b.name, timezone: b.timezone, locale: b.locale, phoneRegion: b.phoneRegion });
  }, [business.data]);
  const save = useMutation({
    mutationFn: () => fromContract(contract.PATCH("/api/business", { body: form })),
    onSuccess: async (res) => {
      queryClient.setQueryData(businessKey, res);
      // The shell's business name and the dates' timezone come from /api/me.
      await queryClient.invalidateQueries({ queryKey: authKeys.me });
      toast.success(t("common.saved"));
    },
    onError: (err) => {
      fields.capture(err);
      toast.error(err);
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    fields.clear();
    save.mutate();
  }
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  if (!business.data) return <p>{t("common.loading")}</p>;
  return (
    <form className="card stack" onSubmit={submit} noValidate aria-labelledby="business-profile">
      <h2 id="business-profile">{t("business.title")}</h2>
      <fieldset disabled={!editable} className="plain">
        <div className="row">
          <Field label={t("setup.businessName")} value={form.name} error={fields.errors.name} onChange={set("name")} />
          <Field
            label={t("setup.timezone")}
            value={form.timezone}
            error={fields.errors.timezone}
            hint={t("business.timezoneHint")}
            onChange={set("timezone")}
          />
        </div>
        <div className="row">
          <Field label={t("setup.locale")} value={form.locale} error={fields.errors.locale} onChange={set("locale")} />
          <Field
            label={t("business.phoneRegion")}
            value={form.phoneRegion}
            error={fields.errors.phoneRegion}
            maxLength={2}
            onChange={set("phoneRegion")}
          />
        </div>
      </fieldset>
      {editable && (
        <div className="actions">
          <button type="submit" className="button primary" disabled={save.isPending}>
            {t("common.save")}
          </button>
        </div>
      )}
    </form>
  );
}
