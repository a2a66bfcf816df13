/**
 * The language of the UI: the user's own choice (kept in this browser, per user), else Hebrew for a
 * business whose locale is Hebrew, else English. Sets <html lang dir> so the whole page flips.
 */
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { type Locale, locales, type MessageKey, messages } from "./messages";

interface I18n {
  locale: Locale;
  dir: "rtl" | "ltr";
  setLocale: (locale: Locale) => void;
  t: (key: MessageKey, params?: Record<string, string | number>) => string;
}

const I18nContext = createContext<I18n | null>(null);

const storageKey = (userId: number | null) => `prosaas.locale.${userId ?? "anon"}`;

export function defaultLocale(businessLocale: string | null | undefined): Locale {
  if (businessLocale) return businessLocale.toLowerCase().startsWith("he") ? "he" : "en";
  const browser = typeof navigator !== "undefined" ? navigator.language : "he";
  return browser.toLowerCase().startsWith("en") ? "en" : "he";
}

function stored(userId: number | null): Locale | null {
  try {
    const v = localStorage.getItem(storageKey(userId));
    return v && (locales as string[]).includes(v) ? (v as Locale) : null;
  } catch {
    return null;
  }
}

export function interpolate(text: string, params?: Record<string, string | number>): string {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

export function I18nProvider(props: { userId: number | null; businessLocale: string | null; children: ReactNode }) {
  const { userId, businessLocale } = props;
  const [choice, setChoice] = useState<Locale | null>(() => stored(userId));
  useEffect(() => setChoice(stored(userId)), [userId]);
  const locale = choice ?? defaultLocale(businessLocale);
  const dir = locale === "he" ? "rtl" : "ltr";

  useEffect(() => {
    document.documentElement.lang = locale;
    document.documentElement.dir = dir;
  }, [locale, dir]);

  const setLocale = useCallback(
    (next: Locale) => {
      try {
        localStorage.setItem(storageKey(userId), next);
      } catch {
        // private mode: the choice lasts for this page only
      }
      setChoice(next);
    },
    [userId],
  );

  const value = useMemo<I18n>(
    () => ({
      locale,
      dir,
      setLocale,
      t: (key, params) => interpolate(messages[locale][key], params),
    }),
    [locale, dir, setLocale],
  );
  return <I18nContext.Provider value={value}>{props.children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const ctx = useContext(I18nContext);
  if (!ctx) throw new Error("useI18n outside I18nProvider");
  return ctx;
}
