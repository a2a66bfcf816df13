import { useI18n } from "../../i18n/I18nProvider";

/** עברית / English: the user's own choice, remembered in this browser. */
export function LanguageSwitch() {
  const { locale, setLocale, t } = useI18n();
  return (
    <fieldset className="lang-switch">
      <legend className="visually-hidden">{t("nav.language")}</legend>
      <button type="button" lang="he" aria-pressed={locale === "he"} onClick={() => setLocale("he")}>
        עברית
      </button>
      <button type="button" lang="en" aria-pressed={locale === "en"} onClick={() => setLocale("en")}>
        English
      </button>
    </fieldset>
  );
}
