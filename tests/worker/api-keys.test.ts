/**
 * API keys: `Authorization: Bearer psk_…` on the same routes as the session, limited to the
 * key's scopes (the one table in worker/auth/permissions.ts), to its own business, and never to
 * session-only or system-admin routes. Revoked and expired keys are refused; each key has its own
 * rate limit; use and changes are in the audit log.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeyScopeNames, apiKeyScopes } from "../../worker/auth/permissions";
import { rateLimitPresets } from "../../worker/auth/rate-limits";
import { apiKeys } from "../../worker/db/schema";
import { createTenant, type Tenant } from "./fixtures";
import { call, errorOf, testDb } from "./helpers";
import { uniquePhone } from "./phones";
import { createApiKey, withKey } from "./webhook-fixtures";

const { db, close } = testDb();
let a: Tenant;
let b: Tenant;

beforeAll(async () => {
  [a, b] = await Promise.all([createTenant(db, "Keys A"), createTenant(db, "Keys B")]);
});
afterAll(close);

describe("creating and showing keys", () => {
  it("shows the secret once, keeps only a visible prefix, and refuses agents", async () => {
    const key = await createApiKey(a.owner, ["leads:read"]);
    expect(key.secret.startsWith(`${key.prefix}_`)).toBe(true);
    const list = await a.owner.request("GET", "/api/api-keys");
    const text = await list.text();
    expect(text).toContain(key.prefix);
    expect(text).not.toContain(key.secret);
    const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, key.id));
    expect(row!.secretHash).not.toContain(key.secret.slice(13));
    expect((await a.agent.request("POST", "/api/api-keys", { name: "x", scopes: ["leads:read"] })).status).toBe(403);
  });

  it("refuses an expiry in the past and an unknown scope", async () => {
    const past = await a.owner.request("POST", "/api/api-keys", {
      name: "old",
      scopes: ["leads:read"],
      expiresAt: "2020-01-01T00:00:00Z",
    });
    expect(past.status).toBe(400);
    const unknown = await a.owner.request("POST", "/api/api-keys", { name: "x", scopes: ["everything"] });
    expect(unknown.status).toBe(400);
  });
});

describe("using keys", () => {
  it("creates a lead with leads:write; a leads:read key may list but not create", async () => {
    const writer = withKey((await createApiKey(a.owner, ["leads:write"])).secret);
    const created = await writer("POST", "/api/leads", { firstName: "From curl", phone: uniquePhone() });
    expect(created.status).toBe(201);
    const reader = withKey((await createApiKey(a.owner, ["leads:read"])).secret);
    expect((await reader("GET", "/api/leads")).status).toBe(200);
    const refused = await reader("POST", "/api/leads", { firstName: "No", phone: uniquePhone() });
    expect(refused.status).toBe(403);
    expect((await errorOf(refused)).message).toContain("scope");
  });

  it("a revoked key and an expired key get 401", async () => {
    const revoked = await createApiKey(a.owner, ["leads:read"]);
    expect((await withKey(revoked.secret)("GET", "/api/leads")).status).toBe(200);
    expect((await a.owner.request("DELETE", `/api/api-keys/${revoked.id}`)).status).toBe(204);
    const afterRevoke = await withKey(revoked.secret)("GET", "/api/leads");
    expect(afterRevoke.status).toBe(401);
    expect((await errorOf(afterRevoke)).message).toContain("revoked");

    const expiring = await createApiKey(a.owner, ["leads:read"], {
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    });
    await db
      .update(apiKeys)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(apiKeys.id, expiring.id));
    const expired = await withKey(expiring.secret)("GET", "/api/leads");
    expect(expired.status).toBe(401);
    expect((await errorOf(expired)).message).toContain("expired");

    expect((await withKey(`${revoked.prefix}_${"x".repeat(43)}`)("GET", "/api/leads")).status).toBe(401);
    expect((await withKey("not-a-key")("GET", "/api/leads")).status).toBe(401);
  });

  it("business A's key gets 404 on business B's lead and never sees B's leads", async () => {
    const res = await b.owner.request("POST", "/api/leads", { firstName: "Private to B", phone: uniquePhone() });
    const leadOfB = ((await res.json()) as { lead: { id: number } }).lead.id;
    const keyOfA = withKey((await createApiKey(a.owner, ["leads:write"])).secret);
    expect((await keyOfA("GET", `/api/leads/${leadOfB}`)).status).toBe(404);
    expect((await keyOfA("PATCH", `/api/leads/${leadOfB}`, { notes: "mine now" })).status).toBe(404);
    const list = (await (await keyOfA("GET", "/api/leads?limit=200")).json()) as { leads: { id: number }[] };
    expect(list.leads.map((l) => l.id)).not.toContain(leadOfB);
  });

  it("never reaches session-only, key-management or system-admin routes", async () => {
    const every = withKey((await createApiKey(a.owner, [...apiKeyScopeNames])).secret);
    for (const [method, path, body] of [
      ["GET", "/api/me"],
      ["POST", "/api/auth/password", { currentPassword: "x", newPassword: "y".repeat(12) }],
      ["GET", "/api/api-keys"],
      ["POST", "/api/api-keys", { name: "child", scopes: ["leads:read"] }],
      ["GET", "/api/audit-log"],
      ["GET", "/api/admin/businesses"],
      ["POST", "/api/admin/act-as", { businessId: b.businessId }],
      ["PATCH", "/api/business", { name: "Taken over" }],
      ["GET", "/api/users"],
    ] as const) {
      const res = await every(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(401);
    }
  });

  it("has its own rate limit: 429 with Retry-After once its bucket is empty", async () => {
    const key = await createApiKey(a.owner, ["leads:read"]);
    const preset = rateLimitPresets.apiKey;
    // Empty its bucket as of a minute from now, so it cannot refill before the request (the test's
    // clock and the Worker's differ by the I/O between them).
    await env.RATE_LIMITER_DO.getByName(`apiKey:${key.id}`).take(preset, preset.capacity, Date.now() + 60_000);
    const res = await withKey(key.secret)("GET", "/api/leads");
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
    // Another key of the same business is not slowed.
    expect((await withKey((await createApiKey(a.owner, ["leads:read"])).secret)("GET", "/api/leads")).status).toBe(200);
  });

  it("records last use (when and from where) and audits it; only owners read the audit log", async () => {
    const key = await createApiKey(a.owner, ["leads:read"]);
    const res = await call("/api/leads", {
      headers: { Authorization: `Bearer ${key.secret}`, "CF-Connecting-IP": "203.0.113.7" },
    });
    expect(res.status).toBe(200);
    const list = (await (await a.owner.request("GET", "/api/api-keys")).json()) as {
      apiKeys: { id: number; lastUsedAt: string | null; lastUsedIp: string | null }[];
    };
    const shown = list.apiKeys.find((k) => k.id === key.id)!;
    expect(shown.lastUsedIp).toBe("203.0.113.7");
    expect(shown.lastUsedAt).not.toBeNull();

    const audit = await a.owner.request("GET", "/api/audit-log?limit=200");
    expect(audit.status).toBe(200);
    const { entries } = (await audit.json()) as {
      entries: { action: string; actor: { apiKeyPrefix: string | null }; targetId: string | null; ip: string | null }[];
    };
    const used = entries.find((e) => e.action === "api_key.used" && e.actor.apiKeyPrefix === key.prefix);
    expect(used?.ip).toBe("203.0.113.7");
    expect(entries.some((e) => e.action === "api_key.created" && e.targetId === String(key.id))).toBe(true);
    expect(entries.some((e) => e.action === "auth.sign_in")).toBe(true);
    expect((await a.admin.request("GET", "/api/audit-log")).status).toBe(403);
    expect((await a.agent.request("GET", "/api/audit-log")).status).toBe(403);
    // B's owner sees none of A's entries.
    const ofB = (await (await b.owner.request("GET", "/api/audit-log?limit=200")).json()) as {
      entries: { targetId: string | null }[];
    };
    expect(ofB.entries.some((e) => e.targetId === String(key.id))).toBe(false);
  });
});

/**
 * The whole route matrix, read from the published document: every route that declares the apiKey
 * scheme answers a key without any of its scopes 403 and a key with one of them something other
 * than 401/403; every session-only route answers any key 401.
 */
describe("the route matrix", () => {
  interface Operation {
    method: string;
    path: string;
    scopes: string[] | null;
    contentType: string | null;
  }

  async function operations(): Promise<Operation[]> {
    const doc = (await (await call("/openapi.json")).json()) as {
      paths: Record<
        string,
        Record<string, { security?: Record<string, string[]>[]; requestBody?: { content: Record<string, unknown> } }>
      >;
    };
    const ops: Operation[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const security = op.security ?? [];
        if (!security.some((s) => "session" in s)) continue;
        const keyScheme = security.find((s) => "apiKey" in s);
        ops.push({
          method: method.toUpperCase(),
          path: path.replace(/\{[^}]+\}/g, "2147483000"),
          scopes: keyScheme ? keyScheme.apiKey! : null,
          contentType: op.requestBody ? Object.keys(op.requestBody.content)[0]! : null,
        });
      }
    }
    return ops;
  }

  it("enforces scopes on every route", async () => {
    const keys = new Map<string, (m: string, p: string, body?: unknown) => Promise<Response>>();
    for (const scope of apiKeyScopeNames) keys.set(scope, withKeyRaw((await createApiKey(a.owner, [scope])).secret));
    const ops = await operations();
    expect(ops.filter((o) => o.scopes).length).toBeGreaterThan(20);
    const failures: string[] = [];
    for (const op of ops) {
      const label = `${op.method} ${op.path}`;
      const send = (scope: string) => keys.get(scope)!(op.method, op.path, op.contentType);
      if (!op.scopes) {
        const res = await send(apiKeyScopeNames[0]);
        if (res.status !== 401) failures.push(`${label}: session-only, a key got ${res.status}`);
        continue;
      }
      const granting = op.scopes[0]!;
      const other = apiKeyScopeNames.find((s) => !op.scopes!.includes(s));
      const allowed = await send(granting);
      if (allowed.status === 401 || allowed.status === 403)
        failures.push(`${label}: ${granting} got ${allowed.status} ${(await errorOf(allowed)).message}`);
      if (other) {
        const denied = await send(other);
        if (denied.status !== 403) failures.push(`${label}: ${other} (not granting) got ${denied.status}`);
      }
      // Granting scopes come from the one table.
      for (const scope of op.scopes)
        if (!Object.hasOwn(apiKeyScopes, scope)) failures.push(`${label}: unknown scope ${scope}`);
    }
    expect(failures).toEqual([]);
  });

  function withKeyRaw(secret: string) {
    return (method: string, path: string, contentType?: unknown) =>
      call(path, {
        method,
        headers: {
          Authorization: `Bearer ${secret}`,
          ...(typeof contentType === "string" ? { "Content-Type": contentType } : {}),
          ...(["POST", "PATCH", "PUT"].includes(method) && !contentType ? { "Content-Type": "application/json" } : {}),
        },
        body: typeof contentType === "string" ? (contentType === "application/json" ? "{}" : "") : undefined,
      });
  }
});
