/**
 * The API contract cannot drift: every route the Worker registers is in the document, the document
 * is valid OpenAPI 3.1, its response objects are strict, and the checked-in document and the types
 * generated from it (what the typed client and the dashboard compile against) are what the code
 * generates now.
 */
import { compileErrors, validate } from "@readme/openapi-parser";
import { describe, expect, it } from "vitest";
import { buildDocument, documentText, readCheckedIn, typesText } from "../../scripts/lib/api-contract";
import { app } from "../../worker/app";
import { DOCS_PATH, OPENAPI_PATH } from "../../worker/contract/document";

type Operation = { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> };
const document = buildDocument() as { openapi: string; paths: Record<string, Record<string, Operation>> };

/** Method + path of every route registered on the app (middleware-only entries are "ALL"). */
function registeredRoutes(): string[] {
  const routes = app.routes
    .filter((r) => r.method !== "ALL" && r.path !== OPENAPI_PATH && r.path !== DOCS_PATH)
    .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}")}`);
  return [...new Set(routes)].sort();
}

/** Object schemas that would let an undeclared field through (no additionalProperties: false). */
function looseObjects(schema: unknown, where: string, found: string[] = []): string[] {
  if (!schema || typeof schema !== "object") return found;
  const s = schema as Record<string, unknown>;
  if (s.type === "object" && s.properties && s.additionalProperties !== false) found.push(where);
  for (const [key, value] of Object.entries(s)) {
    if (key === "properties" && value && typeof value === "object") {
      for (const [prop, sub] of Object.entries(value)) looseObjects(sub, `${where}.${prop}`, found);
    } else if (typeof value === "object") looseObjects(value, `${where}/${key}`, found);
  }
  return found;
}

describe("the API contract", () => {
  it("documents every registered route", () => {
    const documented = new Set(
      Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m} ${path}`)),
    );
    const missing = registeredRoutes().filter((r) => !documented.has(r));
    expect(missing, "routes registered without apiRoute() (not in /openapi.json)").toEqual([]);
  });

  it("is a valid OpenAPI 3.1 document", async () => {
    expect(document.openapi).toBe("3.1.0");
    const result = await validate(structuredClone(document) as never);
    expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
  });

  it("declares strict response objects, so an undeclared field is drift", () => {
    const loose: string[] = [];
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const [status, response] of Object.entries(op.responses ?? {})) {
          for (const media of Object.values(response.content ?? {})) {
            looseObjects(media.schema, `${method} ${path} ${status}`, loose);
          }
        }
      }
    }
    expect(loose).toEqual([]);
  });

  it("is checked in as generated: contracts/api/openapi.json and schema.ts (run npm run api:generate)", async () => {
    const current = await readCheckedIn();
    expect(current.document, "contracts/api/openapi.json is stale: run npm run api:generate").toBe(
      documentText(document),
    );
    expect(current.types, "contracts/api/schema.ts is stale: run npm run api:generate").toBe(await typesText(document));
  });
});
