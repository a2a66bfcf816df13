/**
 * The contract as the Worker serves it: /openapi.json is the checked-in document, /docs is the
 * reference page on our own viewer script (its CSP relaxed for that page only), a response that
 * drifts from its declaration fails the test that caused it, and a refused unknown field names the
 * fields the route knows.
 */

import { env } from "cloudflare:workers";
import { z } from "@hono/zod-openapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import checkedIn from "../../contracts/api/openapi.json";
import { jsonContent } from "../../worker/contract/content";
import { DOCS_VIEWER_SCRIPT } from "../../worker/contract/document";
import { apiRoute } from "../../worker/contract/route";
import { createRouter } from "../../worker/contract/router";
import { createTenant, type Tenant } from "./fixtures";
import { call, errorOf, testDb } from "./helpers";

describe("the published contract", () => {
  it("serves /openapi.json as the checked-in contracts/api/openapi.json", async () => {
    const res = await call("/openapi.json");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(checkedIn);
  });

  it("serves /docs from our own viewer script, with a CSP relaxed for that page only", async () => {
    const res = await call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    expect(html).toContain(`src="${DOCS_VIEWER_SCRIPT}"`);
    expect(html).toContain("/openapi.json");
    expect(html).not.toContain("cdn.jsdelivr.net");
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    const api = await call("/health");
    expect(api.headers.get("content-security-policy")).toContain("default-src 'none'");
  });
});

describe("drift between a route and its declaration", () => {
  const router = createRouter();
  router.openapi(
    apiRoute({
      method: "get",
      path: "/drift",
      tag: "Operations",
      summary: "A route whose handler answers more than it declares",
      auth: "public",
      responses: { 200: jsonContent(z.strictObject({ ok: z.boolean() }), "ok") },
    }),
    // biome-ignore lint/suspicious/noExplicitAny: the point is a body the declaration does not allow
    (c) => c.json({ ok: true, secret: "undeclared" } as any, 200),
  );
  router.openapi(
    apiRoute({
      method: "get",
      path: "/undeclared-status",
      tag: "Operations",
      summary: "A route that answers a status it does not declare",
      auth: "public",
      responses: { 200: jsonContent(z.strictObject({ ok: z.boolean() }), "ok") },
    }),
    // biome-ignore lint/suspicious/noExplicitAny: the point is a status the declaration does not allow
    (c) => c.json({ ok: true }, 202 as any),
  );

  it("turns an undeclared field into a 500 naming it", async () => {
    const res = await router.request("/drift", {}, { ...env, ENVIRONMENT: "test" });
    expect(res.status).toBe(500);
    expect((await errorOf(res)).message).toMatch(/does not match.*secret/);
  });

  it("turns an undeclared status into a 500 naming it", async () => {
    const res = await router.request("/undeclared-status", {}, { ...env, ENVIRONMENT: "test" });
    expect(res.status).toBe(500);
    expect((await errorOf(res)).message).toMatch(/status 202 is not declared/);
  });

  it("lets the same drift through outside test runs (a deployed Worker never pays for the check)", async () => {
    const res = await router.request("/drift", {}, { ...env, ENVIRONMENT: "development" });
    expect(res.status).toBe(200);
  });
});

describe("refused input names what the route knows", () => {
  const db = testDb();
  let tenant: Tenant;
  beforeAll(async () => {
    tenant = await createTenant(db.db, "Contract business");
  });
  afterAll(() => db.close());

  it("lists the known fields when a body carries an unknown one", async () => {
    const res = await tenant.admin.request("POST", "/api/lead-statuses", { key: "vip", label: "VIP", name: "x" });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    const fields = (error.details as { fields: { field: string; message: string }[] }).fields;
    expect(fields).toEqual([
      { field: "name", message: expect.stringContaining("known fields: key, label, color, sortOrder") },
    ]);
  });
});
