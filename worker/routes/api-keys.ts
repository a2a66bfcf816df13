/**
 * A business's API keys: list, create (the secret is in the answer, once), revoke. Owners and
 * admins manage them; a key may carry only scopes its creator's role could use itself. Keys
 * cannot manage keys (no scope grants `api_keys.manage`).
 */
import { z } from "@hono/zod-openapi";
import { and, desc, eq, isNull } from "drizzle-orm";
import { generateApiKey } from "../auth/api-keys";
import { businessIdOf } from "../auth/middleware";
import { roleMayGrantScope } from "../auth/permissions";
import { jsonBody, jsonContent, noContent } from "../contract/content";
import { apiKeyModel, apiKeyScope } from "../contract/models/integrations";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { apiKeys } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { idParam, isoDateTime } from "../lib/schemas";
import { audit } from "../services/audit";

export const apiKeyRoutes = createRouter();

type ApiKeyRow = typeof apiKeys.$inferSelect;

export function publicApiKey(row: ApiKeyRow, now = new Date()) {
  const { secretHash: _hash, businessId: _business, ...rest } = row;
  const status = row.revokedAt ? "revoked" : row.expiresAt && row.expiresAt <= now ? "expired" : "active";
  return { ...rest, status } as const;
}

const listKeys = apiRoute({
  method: "get",
  path: "/api/api-keys",
  tag: "Integrations",
  summary: "The business's API keys (never their secrets)",
  auth: { permission: "api_keys.manage" },
  responses: { 200: jsonContent(z.strictObject({ apiKeys: z.array(apiKeyModel) }), "Newest first, revoked ones too") },
});

apiKeyRoutes.openapi(listKeys, async (c) => {
  const rows = await c
    .get("db")()
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.businessId, businessIdOf(c)))
    .orderBy(desc(apiKeys.id))
    .limit(500);
  return c.json({ apiKeys: rows.map((r) => publicApiKey(r)) }, 200);
});

const createKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(apiKeyScope).min(1).max(20),
  expiresAt: isoDateTime.nullable().optional().describe("Omit or null: the key does not expire"),
});

const createKey = apiRoute({
  method: "post",
  path: "/api/api-keys",
  tag: "Integrations",
  summary: "Create an API key",
  description:
    "The answer carries the key (`secret`) once; only its hash is stored. Use it as `Authorization: Bearer <secret>`. A key may hold only scopes the creator's own role allows.",
  auth: { permission: "api_keys.manage" },
  request: { body: jsonBody(createKeyBody) },
  responses: {
    201: jsonContent(
      z.strictObject({
        apiKey: apiKeyModel,
        secret: z.string().openapi({ description: "The whole key. Shown this once." }),
      }),
      "The new key and its secret",
    ),
  },
});

apiKeyRoutes.openapi(createKey, async (c) => {
  const businessId = businessIdOf(c);
  const body = c.req.valid("json");
  const role = c.get("auth").user.role;
  const refused = body.scopes.filter((scope) => !roleMayGrantScope(role, scope));
  if (refused.length > 0) {
    throw new ApiError("forbidden", `Your role (${role}) may not grant ${refused.join(", ")}`, { field: "scopes" });
  }
  const expiresAt = body.expiresAt ? new Date(body.expiresAt) : null;
  if (expiresAt && expiresAt <= new Date()) {
    throw new ApiError("validation_failed", "Invalid body: expiresAt", {
      fields: [{ field: "expiresAt", message: "must be in the future" }],
    });
  }
  const { key, prefix, secretHash } = await generateApiKey();
  const row = await c
    .get("db")()
    .transaction(async (tx) => {
      const [created] = await tx
        .insert(apiKeys)
        .values({
          businessId,
          name: body.name,
          prefix,
          secretHash,
          scopes: [...new Set(body.scopes)],
          createdByUserId: c.get("auth").user.id,
          expiresAt,
        })
        .returning();
      await audit(c, tx, {
        businessId,
        action: "api_key.created",
        targetType: "api_key",
        targetId: created!.id,
        details: { name: body.name, prefix, scopes: created!.scopes, expiresAt: expiresAt?.toISOString() ?? null },
      });
      return created!;
    });
  return c.json({ apiKey: publicApiKey(row), secret: key }, 201);
});

const revokeKey = apiRoute({
  method: "delete",
  path: "/api/api-keys/{id}",
  tag: "Integrations",
  summary: "Revoke an API key",
  description: "Its next request is refused (401). Revoking a revoked key changes nothing.",
  auth: { permission: "api_keys.manage" },
  request: { params: idParam },
  responses: { 204: { description: "Revoked" } },
  errors: ["not_found"],
});

apiKeyRoutes.openapi(revokeKey, async (c) => {
  const businessId = businessIdOf(c);
  const { id } = c.req.valid("param");
  const db = c.get("db")();
  const [existing] = await db
    .select({ id: apiKeys.id, prefix: apiKeys.prefix, name: apiKeys.name })
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), eq(apiKeys.businessId, businessId)));
  if (!existing) throw notFound("API key");
  await db.transaction(async (tx) => {
    const [revoked] = await tx
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiKeys.id, id), eq(apiKeys.businessId, businessId), isNull(apiKeys.revokedAt)))
      .returning({ id: apiKeys.id });
    if (revoked)
      await audit(c, tx, {
        businessId,
        action: "api_key.revoked",
        targetType: "api_key",
        targetId: id,
        details: { name: existing.name, prefix: existing.prefix },
      });
  });
  return noContent(c);
});
