/**
 * The app's frame: data layer, language, toasts, live updates, and the gate between the first-run
 * screen, sign-in and the signed-in shell.
 */
import { QueryClientProvider } from "@tanstack/react-query";
import { useState } from "react";
import { SetupPage } from "../auth/components/SetupPage";
import { SignInPage } from "../auth/components/SignInPage";
import { useMeQuery, useSetupQuery } from "../auth/hooks/useMe";
import { I18nProvider, useI18n } from "../i18n/I18nProvider";
import { LiveProvider } from "../live/LiveProvider";
import { Shell } from "../shell/Shell";
import { errorMessage, ToastProvider } from "../toasts/ToastProvider";
import { createQueryClient } from "./queryClient";

export function App() {
  const [queryClient] = useState(createQueryClient);
  return (
    <QueryClientProvider client={queryClient}>
      <Gate />
    </QueryClientProvider>
  );
}

function Gate() {
  const me = useMeQuery();
  const setup = useSetupQuery();
  const user = me.data?.user ?? null;
  return (
    <I18nProvider userId={user?.id ?? null} businessLocale={me.data?.business?.locale ?? null}>
      <ToastProvider>
        <GateBody me={me} setup={setup} />
      </ToastProvider>
    </I18nProvider>
  );
}

function GateBody(props: { me: ReturnType<typeof useMeQuery>; setup: ReturnType<typeof useSetupQuery> }) {
  const { t } = useI18n();
  const { me, setup } = props;
  if (me.isPending || setup.isPending) {
    return (
      <p className="splash" aria-busy="true">
        {t("common.loading")}
      </p>
    );
  }
  if (me.isError) {
    return (
      <main className="auth-page">
        <div className="card auth-card" role="alert">
          <p>{errorMessage(me.error, t("error.generic"), t("error.network"))}</p>
          <button type="button" className="button" onClick={() => void me.refetch()}>
            {t("common.retry")}
          </button>
        </div>
      </main>
    );
  }
  if (!me.data) {
    if (setup.data?.setupRequired) return <SetupPage tokenRequired={setup.data.tokenRequired} />;
    return <SignInPage />;
  }
  return (
    <LiveProvider enabled={Boolean(me.data.business)}>
      <Shell me={me.data} />
    </LiveProvider>
  );
}
