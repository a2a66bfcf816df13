/**
 * The one notification system. `toast.error(err)` shows an API error's own message (and, for a
 * 429, when to try again); successes are short confirmations. Announced to screen readers.
 */
import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from "react";
import { ApiError } from "../api/errors";
import { useI18n } from "../i18n/I18nProvider";

interface Toast {
  id: number;
  kind: "error" | "success";
  text: string;
}

interface ToastApi {
  success: (text: string) => void;
  error: (err: unknown) => void;
}

const ToastContext = createContext<ToastApi | null>(null);
let nextId = 1;

/** The message to show for any thrown value. */
export function errorMessage(err: unknown, fallback: string, network: string): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof TypeError) return network; // fetch's "Failed to fetch"
  if (err instanceof Error && err.message) return err.message;
  return fallback;
}

export function ToastProvider({ children }: { children: ReactNode }) {
  const { t } = useI18n();
  const [toasts, setToasts] = useState<Toast[]>([]);

  const push = useCallback((kind: Toast["kind"], text: string) => {
    const id = nextId++;
    setToasts((list) => [...list.slice(-3), { id, kind, text }]);
    setTimeout(() => setToasts((list) => list.filter((x) => x.id !== id)), kind === "error" ? 8000 : 4000);
  }, []);

  const api = useMemo<ToastApi>(
    () => ({
      success: (text) => push("success", text),
      error: (err) => push("error", errorMessage(err, t("error.generic"), t("error.network"))),
    }),
    [push, t],
  );

  return (
    <ToastContext.Provider value={api}>
      {children}
      <div className="toasts" role="status" aria-live="polite">
        {toasts.map((toast) => (
          <div
            key={toast.id}
            className={`toast toast-${toast.kind}`}
            role={toast.kind === "error" ? "alert" : undefined}
          >
            <span>{toast.text}</span>
            <button
              type="button"
              className="toast-close"
              aria-label={t("common.close")}
              onClick={() => setToasts((list) => list.filter((x) => x.id !== toast.id))}
            >
              ×
            </button>
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  );
}

export function useToast(): ToastApi {
  const ctx = useContext(ToastContext);
  if (!ctx) throw new Error("useToast outside ToastProvider");
  return ctx;
}
