/**
 * CSV import: pick a file → the API's preview (per-row errors, duplicates in the file, leads that
 * already exist) → merge or skip existing → import → summary. The same file goes to both calls.
 */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api } from "../../api/client";
import type { ImportPreview, ImportResult } from "../../api/types";
import { useI18n } from "../../i18n/I18nProvider";
import { useToast } from "../../toasts/ToastProvider";
import { Dialog } from "../../ui/Dialog";
import { leadKeys } from "../hooks/useLeads";

export function ImportDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useI18n();
  const toast = useToast();
  const queryClient = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [preview, setPreview] = useState<ImportPreview | null>(null);
  const [result, setResult] = useState<ImportResult | null>(null);
  const [onDuplicate, setOnDuplicate] = useState<"merge" | "skip">("merge");

  const previewing = useMutation({
    mutationFn: api.leads.importPreview,
    onSuccess: setPreview,
    onError: toast.error,
  });
  const committing = useMutation({
    mutationFn: ({ csv, mode }: { csv: Blob; mode: "merge" | "skip" }) => api.leads.importCommit(csv, mode),
    onSuccess: (r) => {
      setResult(r);
      void queryClient.invalidateQueries({ queryKey: leadKeys.lists() });
    },
    onError: toast.error,
  });

  function close() {
    setFile(null);
    setPreview(null);
    setResult(null);
    onClose();
  }

  return (
    <Dialog open={open} title={t("import.title")} onClose={close} wide>
      {!result && (
        <div className="stack">
          <div className="field">
            <label htmlFor="import-file">{t("import.file")}</label>
            <input
              id="import-file"
              type="file"
              accept=".csv,text/csv"
              onChange={(e) => {
                const picked = e.target.files?.[0] ?? null;
                setFile(picked);
                setPreview(null);
                if (picked) previewing.mutate(picked);
              }}
            />
          </div>
          {previewing.isPending && <p aria-busy="true">{t("common.loading")}</p>}
          {preview && (
            <section aria-label={t("import.preview")} className="stack" data-testid="import-preview">
              <ul className="stats">
                <li>{t("import.total", { count: preview.totalRows })}</li>
                <li>{t("import.valid", { count: preview.validRows })}</li>
                <li>{t("import.new", { count: preview.newLeads })}</li>
                <li>{t("import.existing", { count: preview.matchingExisting.length })}</li>
                <li>{t("import.dupes", { count: preview.duplicatesInFile.length })}</li>
                <li className={preview.errorCount ? "bad" : undefined}>
                  {t("import.errors", { count: preview.errorCount })}
                </li>
              </ul>
              {preview.ignoredColumns.length > 0 && (
                <p className="muted">{t("import.ignoredColumns", { columns: preview.ignoredColumns.join(", ") })}</p>
              )}
              {preview.errors.length > 0 && (
                <ul className="row-errors" data-testid="import-errors">
                  {preview.errors.map((e) => (
                    <li key={e.line}>
                      <strong>{t("import.line", { line: e.line })}: </strong>
                      {e.fields.map((f) => `${f.field}: ${f.message}`).join("; ")}
                    </li>
                  ))}
                </ul>
              )}
              {preview.duplicatesInFile.length > 0 && (
                <ul className="row-errors">
                  {preview.duplicatesInFile.map((d) => (
                    <li key={d.line}>
                      {t("import.line", { line: d.line })}: {d.phone} = {t("import.line", { line: d.firstLine })}
                    </li>
                  ))}
                </ul>
              )}
              <fieldset className="radio-row">
                <legend>{t("import.onDuplicate")}</legend>
                <label>
                  <input
                    type="radio"
                    name="onDuplicate"
                    checked={onDuplicate === "merge"}
                    onChange={() => setOnDuplicate("merge")}
                  />
                  {t("import.merge")}
                </label>
                <label>
                  <input
                    type="radio"
                    name="onDuplicate"
                    checked={onDuplicate === "skip"}
                    onChange={() => setOnDuplicate("skip")}
                  />
                  {t("import.skip")}
                </label>
              </fieldset>
              <div className="actions">
                <button
                  type="button"
                  className="button primary"
                  disabled={!file || committing.isPending || preview.validRows === 0}
                  onClick={() => file && committing.mutate({ csv: file, mode: onDuplicate })}
                >
                  {t("import.commit")}
                </button>
              </div>
            </section>
          )}
        </div>
      )}
      {result && (
        <div className="stack" data-testid="import-summary">
          <p role="status">
            {t("import.summary", {
              created: result.created,
              merged: result.merged,
              skipped: result.skippedExisting,
              failed: result.failed,
            })}
          </p>
          <div className="actions">
            <button type="button" className="button primary" onClick={close}>
              {t("common.close")}
            </button>
          </div>
        </div>
      )}
    </Dialog>
  );
}
