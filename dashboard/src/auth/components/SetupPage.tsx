/** First run: no users yet. Creates the business and its owner (POST /api/setup), signed in after. */
import { useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api } from "../../api/client";
import { useI18n } from "../../i18n/I18nProvider";
import { errorMessage } from "../../toasts/ToastProvider";
import { Field, SelectField } from "../../ui/Field";
import { useFieldErrors } from "../../ui/fieldErrors";
import { authKeys, useSignedIn } from "../hooks/useMe";
import { LanguageSwitch } from "./LanguageSwitch";

export function SetupPage({ tokenRequired }: { tokenRequired: boolean }) {
  const { t, locale } = useI18n();
  const signedIn = useSignedIn();
  const queryClient = useQueryClient();
  const fields = useFieldErrors();
  const [form, setForm] = useState({
    token: "",
    name: "",
    email: "",
    password: "",
    businessName: "",
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || "Asia/Jerusalem",
    locale: locale === "he" ? "he-IL" : "en-US",
  });
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [key]: e.target.value }));

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    fields.clear();
    try {
      await api.setup.create({
        ...(tokenRequired ? { token: form.token } : {}),
        email: form.email.trim(),
        password: form.password,
        name: form.name.trim() || undefined,
        businessName: form.businessName.trim(),
        timezone: form.timezone,
        locale: form.locale,
      });
      queryClient.setQueryData(authKeys.setup, { setupRequired: false, tokenRequired: false });
      await signedIn();
    } catch (err) {
      fields.capture(err);
      setProblem(errorMessage(err, t("error.generic"), t("error.network")));
      if ((err as { code?: string }).code === "already_set_up") {
        queryClient.setQueryData(authKeys.setup, { setupRequired: false, tokenRequired: false });
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="auth-page">
      <form className="card auth-card" onSubmit={submit} noValidate>
        <div className="auth-top">
          <h1>{t("setup.title")}</h1>
          <LanguageSwitch />
        </div>
        <p>{t("setup.intro")}</p>
        {problem && (
          <p className="form-problem" role="alert">
            {problem}
          </p>
        )}
        {tokenRequired && (
          <Field
            label={t("setup.token")}
            dir="ltr"
            value={form.token}
            error={fields.errors.token}
            onChange={set("token")}
          />
        )}
        <Field
          label={t("setup.businessName")}
          value={form.businessName}
          error={fields.errors.businessName}
          onChange={set("businessName")}
          required
        />
        <Field
          label={t("setup.name")}
          value={form.name}
          error={fields.errors.name}
          onChange={set("name")}
          autoComplete="name"
        />
        <Field
          label={t("auth.email")}
          type="email"
          dir="ltr"
          value={form.email}
          error={fields.errors.email}
          onChange={set("email")}
          autoComplete="username"
          required
        />
        <Field
          label={t("auth.newPassword")}
          type="password"
          dir="ltr"
          value={form.password}
          error={fields.errors.password}
          onChange={set("password")}
          autoComplete="new-password"
          required
        />
        <Field
          label={t("setup.timezone")}
          dir="ltr"
          value={form.timezone}
          error={fields.errors.timezone}
          onChange={set("timezone")}
        />
        <SelectField
          label={t("setup.locale")}
          value={form.locale}
          error={fields.errors.locale}
          onChange={set("locale")}
        >
          <option value="he-IL">עברית</option>
          <option value="en-US">English</option>
        </SelectField>
        <button type="submit" className="button primary" disabled={busy}>
          {t("setup.create")}
        </button>
      </form>
    </main>
  );
}
