import { type FormEvent, useState } from "react";
import { api } from "../../api/client";
import { useI18n } from "../../i18n/I18nProvider";
import { errorMessage, useToast } from "../../toasts/ToastProvider";
import { Field } from "../../ui/Field";
import { useFieldErrors } from "../../ui/fieldErrors";
import { retryAtText } from "./SignInPage";

export default function PasswordPage() {
  const { t, locale } = useI18n();
  const toast = useToast();
  const fields = useFieldErrors();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    fields.clear();
    try {
      const res = await api.auth.changePassword(current, next);
      toast.success(t("auth.passwordChanged", { count: res.revokedSessions }));
      setCurrent("");
      setNext("");
    } catch (err) {
      fields.capture(err);
      setProblem(retryAtText(err, t, locale) ?? errorMessage(err, t("error.generic"), t("error.network")));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="page narrow">
      <h1>{t("auth.changePassword")}</h1>
      <form className="card" onSubmit={submit} noValidate>
        {problem && (
          <p className="form-problem" role="alert">
            {problem}
          </p>
        )}
        <Field
          label={t("auth.currentPassword")}
          type="password"
          autoComplete="current-password"
          dir="ltr"
          value={current}
          error={fields.errors.currentPassword}
          onChange={(e) => setCurrent(e.target.value)}
        />
        <Field
          label={t("auth.newPassword")}
          type="password"
          autoComplete="new-password"
          dir="ltr"
          minLength={10}
          value={next}
          error={fields.errors.newPassword}
          onChange={(e) => setNext(e.target.value)}
        />
        <button type="submit" className="button primary" disabled={busy}>
          {t("common.save")}
        </button>
      </form>
    </section>
  );
}
