import { type FormEvent, useState } from "react";
import { api } from "../../api/client";
import { ApiError } from "../../api/errors";
import { formatTime } from "../../format/dates";
import { useI18n } from "../../i18n/I18nProvider";
import { errorMessage } from "../../toasts/ToastProvider";
import { Field } from "../../ui/Field";
import { useFieldErrors } from "../../ui/fieldErrors";
import { useSignedIn } from "../hooks/useMe";
import { LanguageSwitch } from "./LanguageSwitch";

/** When a refused attempt (429) may be retried, in the user's clock. */
export function retryAtText(
  err: unknown,
  t: ReturnType<typeof useI18n>["t"],
  locale: ReturnType<typeof useI18n>["locale"],
) {
  if (!(err instanceof ApiError) || err.status !== 429) return null;
  const at = new Date(Date.now() + (err.retryAfterSeconds ?? 60) * 1000);
  return t("auth.tryAgainAt", { time: formatTime(at, locale, Intl.DateTimeFormat().resolvedOptions().timeZone) });
}

export function SignInPage() {
  const { t, locale } = useI18n();
  const signedIn = useSignedIn();
  const fields = useFieldErrors();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    fields.clear();
    try {
      await api.auth.login(email.trim(), password);
      await signedIn();
    } catch (err) {
      fields.capture(err);
      setProblem(retryAtText(err, t, locale) ?? errorMessage(err, t("error.generic"), t("error.network")));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="auth-page">
      <form className="card auth-card" onSubmit={submit} noValidate>
        <div className="auth-top">
          <h1>{t("auth.signInTitle")}</h1>
          <LanguageSwitch />
        </div>
        {problem && (
          <p className="form-problem" role="alert">
            {problem}
          </p>
        )}
        <Field
          label={t("auth.email")}
          type="email"
          name="email"
          autoComplete="username"
          required
          dir="ltr"
          value={email}
          error={fields.errors.email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <Field
          label={t("auth.password")}
          type="password"
          name="password"
          autoComplete="current-password"
          required
          dir="ltr"
          value={password}
          error={fields.errors.password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <button type="submit" className="button primary" disabled={busy}>
          {t("auth.signIn")}
        </button>
      </form>
    </main>
  );
}
