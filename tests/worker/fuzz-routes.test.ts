/**
 * Property-based fuzzing of EVERY route (issue 10, finding 2): adversarial path params, queries and
 * bodies — wrong types, huge and negative numbers, NUL and lone surrogates, RTL and emoji text,
 * extreme dates, over-long strings. The property: never a 5xx, and every refusal in the one error
 * shape. Routes come from the app's registry; where the API contract (`/openapi.json`) documents a
 * route, its parameters and body fields drive the generators, so a route documented tomorrow is
 * fuzzed by its own schema. Runs are bounded (RUNS_PER_ROUTE) so this stays in `npm test`.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { policyFor } from "../../worker/middleware/request-policy";
import { type Client, createSystemAdmin, createTenant } from "./fixtures";
import { BASE, call, testDb } from "./helpers";

const RUNS_PER_ROUTE = 6;
/** Routes that end the fuzzing session itself (they are covered by their own tests). */
const SELF_DESTRUCTIVE = new Set(["POST /api/auth/logout", "DELETE /api/admin/act-as", "POST /api/auth/password"]);

const strings = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "",
    "\u0000",
    "a\u0000b",
    "\ud800",
    "x\udc00y",
    "שלום עולם",
    "مرحبا بالعالم",
    "😀👨‍👩‍👧🇮🇱",
    "\u202Eevil\u202C",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59-05:00",
    "+275760-09-13T00:00:00Z",
    "-000001-01-01T00:00:00Z",
    "2026-02-31T10:00:00Z",
    "1",
    "NaN",
    "WyIxIiw1XQ", // base64 of ["1",5]
  ),
  fc.constantFrom(2_000, 70_000).map((n) => "ש".repeat(n)),
);
const numbers = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2, 2 ** 60, -(2 ** 60), 1e308, 0.5),
);
const wrongTypes = fc.constantFrom<unknown>(null, true, false, [], {}, [1, "a"], { nested: { deep: [null] } });
const values: fc.Arbitrary<unknown> = fc.oneof(strings, numbers, wrongTypes, fc.array(strings, { maxLength: 3 }));
const pathValues = fc.oneof(
  fc.constantFrom(
    "0",
    "-1",
    "1",
    "2147483647",
    "2147483648",
    "99999999999999999999",
    "abc",
    "%00",
    "%F0%9F%98%80",
    "1.5",
  ),
  fc.integer({ min: 1, max: 2 ** 31 - 1 }).map(String),
);

interface OpenApiOperation {
  parameters?: { name: string; in: string }[];
  requestBody?: { content?: Record<string, { schema?: SchemaObject }> };
}
interface SchemaObject {
  $ref?: string;
  properties?: Record<string, SchemaObject>;
  allOf?: SchemaObject[];
  anyOf?: SchemaObject[];
  oneOf?: SchemaObject[];
}
interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, SchemaObject> };
}

let doc: OpenApiDocument;
let client: Client;
beforeAll(async () => {
  const res = await call("/openapi.json");
  expect(res.status).toBe(200);
  doc = (await res.json()) as OpenApiDocument;
  const { db } = testDb();
  const tenant = await createTenant(db, "Fuzz business");
  client = await createSystemAdmin(db, tenant.businessId);
});

/** Field names of a body schema (following $ref and combinators one level at a time). */
function fieldsOf(schema: SchemaObject | undefined, depth = 0): string[] {
  if (!schema || depth > 4) return [];
  if (schema.$ref) return fieldsOf(doc.components?.schemas?.[schema.$ref.split("/").pop()!], depth + 1);
  const nested = [...(schema.allOf ?? []), ...(schema.anyOf ?? []), ...(schema.oneOf ?? [])];
  return [...Object.keys(schema.properties ?? {}), ...nested.flatMap((s) => fieldsOf(s, depth + 1))];
}

function operationOf(method: string, path: string): OpenApiOperation | undefined {
  const openApiPath = path.replace(/:(\w+)/g, "{$1}");
  return doc.paths[openApiPath]?.[method.toLowerCase()];
}

function requestArbitrary(method: string, path: string) {
  const op = operationOf(method, path);
  const pathParams = [...path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
  const queryNames = op?.parameters?.filter((p) => p.in === "query").map((p) => p.name) ?? [
    "limit",
    "cursor",
    "from",
    "to",
    "status",
    "q",
    "leadId",
  ];
  const bodyFields = [...new Set(fieldsOf(op?.requestBody?.content?.["application/json"]?.schema))];
  const fieldNames = bodyFields.length ? bodyFields : ["name", "id", "leadId", "text", "startsAt", "businessId"];
  const body = fc.oneof(
    fc.record(Object.fromEntries(fieldNames.map((f) => [f, values])), { requiredKeys: [] }),
    values,
  );
  return fc.record({
    params: fc.record(Object.fromEntries(pathParams.map((p) => [p, pathValues]))),
    query: fc.record(Object.fromEntries(queryNames.map((q) => [q, values])), { requiredKeys: [] }),
    body,
    csv: strings,
  });
}

function urlOf(path: string, params: Record<string, string>, query: Record<string, unknown>): string {
  const concrete = path.replace(/:(\w+)/g, (_, name: string) => {
    const v = params[name]!;
    return v.includes("%") ? v : encodeURIComponent(v);
  });
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) search.set(k, typeof v === "string" ? v : JSON.stringify(v));
  const qs = search.toString();
  return qs ? `${concrete}?${qs}` : concrete;
}

const routes = [...new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`))]
  .filter((key) => !SELF_DESTRUCTIVE.has(key))
  .map((key) => key.split(" ") as [string, string]);

describe("fuzzing every route with adversarial input", { timeout: 600_000 }, () => {
  it("the route list covers the app, and the contract documents some of it", () => {
    expect(routes.length).toBeGreaterThan(55);
    const documented = routes.filter(([m, p]) => operationOf(m, p));
    expect(documented.length).toBeGreaterThan(10);
  });

  it("no route answers 5xx, and every refusal has the one error shape", async () => {
    const failures: string[] = [];
    for (const [method, path] of routes) {
      const policy = policyFor(method, `${method} ${path}`);
      const type = policy.contentTypes[0]!;
      await fc.assert(
        fc.asyncProperty(requestArbitrary(method, path), async (req) => {
          const url = urlOf(path, req.params, req.query);
          const hasBody = method !== "GET" && method !== "HEAD";
          const res = await call(url, {
            method,
            headers: {
              Cookie: client.cookie,
              Origin: BASE,
              "CF-Connecting-IP": "203.0.113.199",
              ...(hasBody ? { "Content-Type": type } : {}),
            },
            ...(hasBody ? { body: type === "application/json" ? JSON.stringify(req.body) : req.csv } : {}),
          });
          const text = await res.text();
          const label = `${method} ${url.slice(0, 200)} → ${res.status} ${text.slice(0, 200)}`;
          if (res.status >= 500) failures.push(label);
          if (res.status >= 400) {
            let shape: { error?: { code?: unknown; message?: unknown } } = {};
            try {
              shape = JSON.parse(text);
            } catch {}
            if (typeof shape.error?.code !== "string" || typeof shape.error?.message !== "string") {
              failures.push(`not the error shape: ${label}`);
            }
          }
          return true;
        }),
        { numRuns: RUNS_PER_ROUTE, seed: 20261202 },
      );
    }
    expect(failures).toEqual([]);
  });
});
