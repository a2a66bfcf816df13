/**
 * Lead CSV export (streamed) and import (preview, then commit).
 */
import { z } from "@hono/zod-openapi";
import { and, asc, eq, gt, inArray, isNull, sql } from "drizzle-orm";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../app-env";
import { businessIdOf } from "../auth/middleware";
import { jsonContent } from "../contract/content";
import { id } from "../contract/models/common";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { openDb } from "../db/client";
import { leads, users } from "../db/schema";
import { ApiError } from "../errors";
import { log } from "../lib/log";
import { businessContext, leadFilters, listLeadsQuery } from "../services/leads";
import {
  analyseImport,
  csvLines,
  decodeUtf8,
  EXPORT_COLUMNS,
  exportRow,
  type ImportAnalysis,
  MAX_IMPORT_BYTES,
  parseCsv,
  UTF8_BOM,
} from "../services/leads-csv";

export const leadCsvRoutes = createRouter();

const importBodyLimit = bodyLimit({
  maxSize: MAX_IMPORT_BYTES,
  onError: () => {
    throw new ApiError("payload_too_large", `The file is larger than ${MAX_IMPORT_BYTES / 1024 / 1024} MB`);
  },
});

/** The upload: the CSV file itself as the body (not multipart), UTF-8, header row first. */
const csvUpload = {
  required: true,
  description: `The CSV file as the request body, UTF-8 (a BOM is fine), header row first; at most ${MAX_IMPORT_BYTES / 1024 / 1024} MB. Columns: ${EXPORT_COLUMNS.join(", ")} (an export imports back unchanged; unknown columns are ignored).`,
  content: {
    "text/csv": { schema: z.string() },
    "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) },
  },
};

/** The errors reading an upload can answer, beyond those every body implies. */
const importErrors = ["invalid_csv", "invalid_encoding", "too_many_rows"] as const;

const lineError = z.strictObject({
  line: z.number().int().openapi({ description: "Line in the file (the header is line 1)" }),
  fields: z.array(z.strictObject({ field: z.string(), message: z.string() })),
});
const duplicateInFile = z.strictObject({
  line: z.number().int(),
  phone: z.string(),
  firstLine: z.number().int().openapi({ description: "The earlier line with the same phone" }),
});
/** A valid row as it would be stored (cells left empty are absent). */
const importRow = z.strictObject({
  line: z.number().int(),
  values: z.strictObject({
    firstName: z.string().nullable().optional(),
    lastName: z.string().nullable().optional(),
    phoneE164: z.string().nullable().optional(),
    email: z.string().nullable().optional(),
    source: z.string().nullable().optional(),
    status: z.string().optional(),
    notes: z.string().nullable().optional(),
    ownerUserId: id.nullable().optional(),
    tags: z.array(z.string()).optional(),
  }),
});

const EXPORT_BATCH = 500;
const exportQuery = listLeadsQuery.pick({
  status: true,
  source: true,
  ownerUserId: true,
  tag: true,
  q: true,
  createdFrom: true,
  createdTo: true,
});

/**
 * Streams the filtered leads as CSV, a batch at a time (keyset on id), so memory stays flat
 * whatever the size of the book. The stream owns its own database pool and closes it at the end.
 */
const exportLeads = apiRoute({
  method: "get",
  path: "/api/leads/export",
  tag: "Leads",
  summary: "Export the filtered leads as CSV (streamed)",
  description: "Same filters as the list. UTF-8 with a BOM (Excel shows Hebrew); the columns are stable.",
  auth: { permission: "leads.export" },
  request: { query: exportQuery },
  responses: {
    200: {
      description: "The CSV file (Content-Disposition: attachment)",
      content: { "text/csv": { schema: z.string() } },
    },
  },
});

leadCsvRoutes.openapi(exportLeads, async (c) => {
  const businessId = businessIdOf(c);
  const query = c.req.valid("query");
  const config = c.get("config");
  const encoder = new TextEncoder();
  let handle: ReturnType<typeof openDb> | null = null;
  let lastId = 0;
  let headerSent = false;

  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!headerSent) {
          headerSent = true;
          controller.enqueue(encoder.encode(UTF8_BOM + csvLines([[...EXPORT_COLUMNS]])));
          return;
        }
        handle ??= openDb(config);
        const rows = await handle.db
          .select({ lead: leads, ownerEmail: users.email })
          .from(leads)
          .leftJoin(users, eq(users.id, leads.ownerUserId))
          .where(and(...leadFilters(businessId, query), gt(leads.id, lastId)))
          .orderBy(asc(leads.id))
          .limit(EXPORT_BATCH);
        if (rows.length > 0) {
          lastId = rows[rows.length - 1]!.lead.id;
          controller.enqueue(encoder.encode(csvLines(rows.map((r) => exportRow(r.lead, r.ownerEmail)))));
        }
        if (rows.length < EXPORT_BATCH) {
          controller.close();
          await handle.close();
        }
      } catch (err) {
        log.error("lead export failed mid-stream", { businessId, error: String(err) });
        controller.error(err);
        await handle?.close();
      }
    },
    async cancel() {
      await handle?.close();
    },
  });

  const date = new Date().toISOString().slice(0, 10);
  const statusPart = query.status?.length ? `-${query.status.join("+")}` : "";
  return new Response(stream, {
    headers: {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="leads${statusPart.replace(/[^a-z0-9_+-]/gi, "")}-${date}.csv"`,
      "Cache-Control": "no-store",
    },
  });
});

async function readImport(c: Parameters<typeof businessIdOf>[0]) {
  const type = c.req.header("content-type") ?? "";
  if (!/^text\/csv\b|^application\/octet-stream\b/i.test(type)) {
    throw new ApiError("unsupported_media_type", "Send the CSV file as the request body with Content-Type: text/csv");
  }
  const csv = parseCsv(decodeUtf8(await c.req.arrayBuffer()));
  const db = c.get("db")();
  const business = await businessContext(db, businessIdOf(c));
  return { db, business, analysis: await analyseImport(db, business, csv) };
}

/** Leads in the book that the import's phones already belong to. */
async function existingByPhone(
  db: ReturnType<AppEnv["Variables"]["db"]>,
  businessId: number,
  analysis: ImportAnalysis,
) {
  const phones = analysis.valid.map((r) => r.values.phoneE164).filter((p): p is string => Boolean(p));
  const found = new Map<string, number>();
  for (let i = 0; i < phones.length; i += 1000) {
    const rows = await db
      .select({ id: leads.id, phone: leads.phoneE164 })
      .from(leads)
      .where(
        and(
          eq(leads.businessId, businessId),
          isNull(leads.deletedAt),
          inArray(leads.phoneE164, phones.slice(i, i + 1000)),
        ),
      );
    for (const r of rows) if (r.phone) found.set(r.phone, r.id);
  }
  return found;
}

const MAX_REPORTED = 500;

const previewImport = apiRoute({
  method: "post",
  path: "/api/leads/import/preview",
  tag: "Leads",
  summary: "Check a CSV before importing it: what would be created, merged or refused",
  description: `Writes nothing. Lists are cut at ${MAX_REPORTED} entries (errorCount has the full count); sample shows the first 20 valid rows.`,
  auth: { permission: "leads.import" },
  request: { body: csvUpload },
  middleware: [importBodyLimit],
  responses: {
    200: jsonContent(
      z
        .strictObject({
          totalRows: z.number().int(),
          validRows: z.number().int(),
          newLeads: z.number().int(),
          matchingExisting: z.array(z.strictObject({ line: z.number().int(), phone: z.string(), existingLeadId: id })),
          duplicatesInFile: z.array(duplicateInFile),
          errors: z.array(lineError),
          errorCount: z.number().int(),
          ignoredColumns: z.array(z.string()),
          sample: z.array(importRow),
        })
        .openapi("LeadImportPreview"),
      "What the import would do",
    ),
  },
  errors: importErrors,
});

leadCsvRoutes.openapi(previewImport, async (c) => {
  const { db, business, analysis } = await readImport(c);
  const existing = await existingByPhone(db, business.id, analysis);
  return c.json(
    {
      totalRows: analysis.totalRows,
      validRows: analysis.valid.length,
      newLeads: analysis.valid.filter((r) => !r.values.phoneE164 || !existing.has(r.values.phoneE164)).length,
      matchingExisting: analysis.valid
        .filter((r) => r.values.phoneE164 && existing.has(r.values.phoneE164))
        .slice(0, MAX_REPORTED)
        // The filter above guarantees both.
        .map((r) => ({ line: r.line, phone: r.values.phoneE164!, existingLeadId: existing.get(r.values.phoneE164!)! })),
      duplicatesInFile: analysis.duplicatesInFile.slice(0, MAX_REPORTED),
      errors: analysis.errors.slice(0, MAX_REPORTED),
      errorCount: analysis.errors.length,
      ignoredColumns: analysis.ignoredColumns,
      sample: analysis.valid.slice(0, 20),
    },
    200,
  );
});

const commitQuery = z.strictObject({ onDuplicate: z.enum(["merge", "skip"]).default("merge") });
const INSERT_CHUNK = 500;

/**
 * Imports the valid rows in one transaction (a failure leaves nothing half-written). A phone that
 * is already in the book is merged (empty cells never erase what is there) or skipped.
 */
const commitImport = apiRoute({
  method: "post",
  path: "/api/leads/import/commit",
  tag: "Leads",
  summary: "Import the CSV's valid rows",
  description:
    "One transaction: a failure leaves nothing half-written. A phone already in the book is merged (empty cells never erase what is there) or skipped (`onDuplicate`). Invalid rows are reported, not imported.",
  auth: { permission: "leads.import" },
  request: { query: commitQuery, body: csvUpload },
  middleware: [importBodyLimit],
  responses: {
    200: jsonContent(
      z
        .strictObject({
          totalRows: z.number().int(),
          created: z.number().int(),
          merged: z.number().int(),
          skippedExisting: z.number().int(),
          duplicatesInFile: z.array(duplicateInFile),
          failed: z.number().int(),
          errors: z.array(lineError),
        })
        .openapi("LeadImportResult"),
      "What the import did",
    ),
  },
  errors: importErrors,
});

leadCsvRoutes.openapi(commitImport, async (c) => {
  const { onDuplicate } = c.req.valid("query");
  const { db, business, analysis } = await readImport(c);
  let created = 0;
  let merged = 0;
  await db.transaction(async (tx) => {
    for (let i = 0; i < analysis.valid.length; i += INSERT_CHUNK) {
      const chunk = analysis.valid.slice(i, i + INSERT_CHUNK).map((r) => ({ ...r.values, businessId: business.id }));
      const insert = tx.insert(leads).values(chunk);
      const target = { target: [leads.businessId, leads.phoneE164], where: sql`${leads.deletedAt} is null` };
      const rows =
        onDuplicate === "skip"
          ? await insert.onConflictDoNothing(target).returning({ id: leads.id })
          : await insert
              .onConflictDoUpdate({
                target: target.target,
                targetWhere: target.where,
                set: {
                  firstName: sql`coalesce(excluded.first_name, ${leads.firstName})`,
                  lastName: sql`coalesce(excluded.last_name, ${leads.lastName})`,
                  email: sql`coalesce(excluded.email, ${leads.email})`,
                  source: sql`coalesce(excluded.source, ${leads.source})`,
                  notes: sql`coalesce(excluded.notes, ${leads.notes})`,
                  ownerUserId: sql`coalesce(excluded.owner_user_id, ${leads.ownerUserId})`,
                  tags: sql`(select array(select distinct unnest(${leads.tags} || excluded.tags)))`,
                  updatedAt: new Date(),
                },
              })
              .returning({ id: leads.id, inserted: sql<boolean>`(xmax = 0)` });
      for (const r of rows) {
        if (!("inserted" in r) || r.inserted) created++;
        else merged++;
      }
    }
  });
  const skipped = analysis.valid.length - created - merged;
  return c.json(
    {
      totalRows: analysis.totalRows,
      created,
      merged,
      skippedExisting: skipped,
      duplicatesInFile: analysis.duplicatesInFile,
      failed: analysis.errors.length,
      errors: analysis.errors.slice(0, MAX_REPORTED),
    },
    200,
  );
});
