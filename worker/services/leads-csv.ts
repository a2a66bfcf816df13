/**
 * Lead CSV: the export's column order (stable: integrations depend on it), and the import's
 * parsing, header mapping and row validation. RFC 4180 quoting both ways via csv-stringify /
 * csv-parse; exports start with a UTF-8 BOM so Excel shows Hebrew correctly.
 */
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { type leads, users } from "../db/schema";
import { ApiError } from "../errors";
import { isStorableText, UNSTORABLE_MESSAGE } from "../lib/storable-text";
import { type BusinessContext, createLeadSchema, type FieldError, resolveLeadValues, statusKeys } from "./leads";

export const EXPORT_COLUMNS = [
  "id",
  "first_name",
  "last_name",
  "phone",
  "email",
  "source",
  "status",
  "tags",
  "notes",
  "owner_email",
  "created_at",
  "updated_at",
] as const;

export const UTF8_BOM = "\uFEFF";
const TAG_SEPARATOR = ";";

export function csvLines(records: unknown[][]): string {
  // CRLF between records (RFC 4180), and any field holding a line break is quoted, bare \n too.
  // escape_formulas: a cell starting with = + - @ (tab, CR) gets a leading ' so a spreadsheet shows
  // it as text: names come from WhatsApp users, i.e. from outside. Import strips it again.
  return stringify(records, { record_delimiter: "windows", quoted_match: /[\r\n]/, escape_formulas: true });
}

export function exportRow(lead: typeof leads.$inferSelect, ownerEmail: string | null): unknown[] {
  return [
    lead.id,
    lead.firstName ?? "",
    lead.lastName ?? "",
    lead.phoneE164 ?? "",
    lead.email ?? "",
    lead.source ?? "",
    lead.status,
    lead.tags.join(TAG_SEPARATOR),
    lead.notes ?? "",
    ownerEmail ?? "",
    lead.createdAt.toISOString(),
    lead.updatedAt.toISOString(),
  ];
}

// ---- import ----------------------------------------------------------------------------------

export const MAX_IMPORT_ROWS = 10_000;
export const MAX_IMPORT_BYTES = 5 * 1024 * 1024;

type ImportField =
  | "first_name"
  | "last_name"
  | "phone"
  | "email"
  | "source"
  | "status"
  | "tags"
  | "notes"
  | "owner_email";

/** Header names we understand (case and spacing ignored), including the old system's Hebrew ones. */
const HEADER_ALIASES: Record<string, ImportField> = {
  first_name: "first_name",
  firstname: "first_name",
  name: "first_name",
  שם_פרטי: "first_name",
  שם: "first_name",
  last_name: "last_name",
  lastname: "last_name",
  surname: "last_name",
  שם_משפחה: "last_name",
  phone: "phone",
  phone_number: "phone",
  mobile: "phone",
  טלפון: "phone",
  נייד: "phone",
  email: "email",
  "e-mail": "email",
  אימייל: "email",
  source: "source",
  מקור: "source",
  status: "status",
  סטטוס: "status",
  tags: "tags",
  תגיות: "tags",
  notes: "notes",
  הערות: "notes",
  owner_email: "owner_email",
};

function normaliseHeader(h: string): string {
  return h.trim().toLowerCase().replace(/\s+/g, "_");
}

/** Decodes the upload as UTF-8, refusing anything else with a clear error (no mojibake imports). */
export function decodeUtf8(bytes: ArrayBuffer): string {
  if (bytes.byteLength > MAX_IMPORT_BYTES) {
    throw new ApiError("payload_too_large", `The file is larger than ${MAX_IMPORT_BYTES / 1024 / 1024} MB`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new ApiError(
      "invalid_encoding",
      "The file is not valid UTF-8; save it as “CSV UTF-8” and try again",
      undefined,
      400,
    );
  }
}

interface ParsedCsv {
  headers: string[];
  mapping: (ImportField | null)[];
  ignoredColumns: string[];
  rows: string[][];
}

export function parseCsv(text: string): ParsedCsv {
  let records: string[][];
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: false, trim: false }) as string[][];
  } catch (err) {
    const e = err as { code?: string; lines?: number; message?: string };
    throw new ApiError(
      "invalid_csv",
      `The CSV cannot be read near line ${e.lines ?? "?"}: ${e.message ?? "parse error"}`,
      {
        code: e.code,
        line: e.lines,
      },
    );
  }
  const [headers, ...rows] = records;
  if (!headers) throw new ApiError("invalid_csv", "The CSV is empty");
  if (rows.length > MAX_IMPORT_ROWS) {
    throw new ApiError(
      "too_many_rows",
      `The CSV has ${rows.length} rows; the most one import takes is ${MAX_IMPORT_ROWS}`,
      undefined,
      413,
    );
  }
  const mapping = headers.map((h) => HEADER_ALIASES[normaliseHeader(h)] ?? null);
  const seen = new Set<ImportField>();
  for (const [i, field] of mapping.entries()) {
    if (!field) continue;
    if (seen.has(field)) mapping[i] = null; // first column of a kind wins
    seen.add(field);
  }
  if (!mapping.some((f) => f === "phone" || f === "email" || f === "first_name" || f === "last_name")) {
    throw new ApiError("invalid_csv", "No name, phone or email column found in the header row", { headers });
  }
  refuseUnstorableCells(headers, rows);
  return { headers, mapping, ignoredColumns: headers.filter((_, i) => mapping[i] === null), rows };
}

/**
 * A NUL in a cell (a binary file saved as .csv, or a hostile one) is text Postgres cannot store:
 * the whole file is refused with a 400 naming each line and column, before anything is written.
 */
function refuseUnstorableCells(headers: string[], rows: string[][]): void {
  const fields: { field: string; line: number; message: string }[] = [];
  for (const [i, header] of headers.entries()) {
    if (!isStorableText(header)) fields.push({ field: `column ${i + 1}`, line: 1, message: UNSTORABLE_MESSAGE });
  }
  for (const [index, cells] of rows.entries()) {
    for (const [i, cell] of cells.entries()) {
      if (fields.length >= 50) break;
      if (!isStorableText(cell)) {
        const header = headers[i] ?? "";
        fields.push({
          field: isStorableText(header) ? header : `column ${i + 1}`,
          line: index + 2,
          message: UNSTORABLE_MESSAGE,
        });
      }
    }
  }
  if (fields.length) {
    const where = fields.map((f) => `line ${f.line} ${f.field}`).join(", ");
    throw new ApiError("validation_failed", `Invalid CSV: ${where}`, { fields });
  }
}

/** Undoes the export's formula escaping ('=…, '+972…), so an export imports back unchanged. */
function unescapeFormula(cell: string): string {
  return /^'[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell;
}

export interface ImportRow {
  /** Line number in the file (header is line 1). */
  line: number;
  values: Partial<typeof leads.$inferInsert>;
}

export interface ImportAnalysis {
  totalRows: number;
  valid: ImportRow[];
  errors: { line: number; fields: FieldError[] }[];
  /** Rows whose phone appeared on an earlier line of the same file. */
  duplicatesInFile: { line: number; phone: string; firstLine: number }[];
  ignoredColumns: string[];
}

/** Validates every row (no row error stops the others); resolves phones, statuses and owners. */
export async function analyseImport(db: Database, business: BusinessContext, csv: ParsedCsv): Promise<ImportAnalysis> {
  const statuses = await statusKeys(db, business.id);
  const team = await db
    .select({ id: users.id, email: users.email })
    .from(users)
    .where(eq(users.businessId, business.id));
  const ownerByEmail = new Map(team.map((u) => [u.email.toLowerCase(), u.id]));
  const ownerIds = new Set(team.map((u) => u.id));

  const analysis: ImportAnalysis = {
    totalRows: csv.rows.length,
    valid: [],
    errors: [],
    duplicatesInFile: [],
    ignoredColumns: csv.ignoredColumns,
  };
  const firstLineByPhone = new Map<string, number>();
  for (const [index, cells] of csv.rows.entries()) {
    const line = index + 2;
    const raw: Partial<Record<ImportField, string>> = {};
    for (const [i, field] of csv.mapping.entries()) if (field) raw[field] = unescapeFormula((cells[i] ?? "").trim());
    const fieldErrors: FieldError[] = [];
    let ownerUserId: number | undefined;
    if (raw.owner_email) {
      ownerUserId = ownerByEmail.get(raw.owner_email.toLowerCase());
      if (ownerUserId === undefined)
        fieldErrors.push({ field: "owner_email", message: `${raw.owner_email} is not on this team` });
    }
    const input = {
      firstName: raw.first_name || undefined,
      lastName: raw.last_name || undefined,
      phone: raw.phone || undefined,
      email: raw.email || undefined,
      source: raw.source || undefined,
      status: raw.status || undefined,
      notes: raw.notes || undefined,
      tags: raw.tags
        ? raw.tags
            .split(TAG_SEPARATOR)
            .map((t) => t.trim())
            .filter(Boolean)
        : undefined,
      ownerUserId,
    };
    const parsed = createLeadSchema.safeParse(input);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        fieldErrors.push({ field: issue.path.join(".") || "row", message: issue.message });
      analysis.errors.push({ line, fields: fieldErrors });
      continue;
    }
    const resolved = await resolveLeadValues(db, business, parsed.data, { statuses, ownerIds });
    fieldErrors.push(...resolved.errors);
    if (fieldErrors.length > 0) {
      analysis.errors.push({ line, fields: fieldErrors });
      continue;
    }
    const phone = resolved.values.phoneE164;
    if (phone) {
      const firstLine = firstLineByPhone.get(phone);
      if (firstLine !== undefined) {
        analysis.duplicatesInFile.push({ line, phone, firstLine });
        continue;
      }
      firstLineByPhone.set(phone, line);
    }
    analysis.valid.push({
      line,
      values: { ...resolved.values, status: resolved.values.status ?? statuses.defaultKey },
    });
  }
  return analysis;
}
