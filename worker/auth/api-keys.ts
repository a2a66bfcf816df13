/**
 * API keys: `psk_<8 visible characters>_<secret>`. The whole key is shown once, when it is made;
 * only its SHA-256 is stored (as session tokens are), with the visible start as `prefix` so a
 * list can tell keys apart. A key belongs to a business, carries scopes (./permissions.ts) and
 * may expire; revoking it takes effect on its next request.
 */
import { and, eq, isNull, lt, or } from "drizzle-orm";
import type { Database } from "../db/client";
import { apiKeys, businesses, users } from "../db/schema";
import { recordAudit } from "../services/audit";
import { hashToken } from "./session";

export const API_KEY_PREFIX = "psk_";
/** How stale `last_used_at` may get before a request writes it again (one write a minute, not one a request). */
const LAST_USED_RESOLUTION_MS = 60_000;
/** A key's use is audited when it comes from a new address, or at most once an hour otherwise. */
const USE_AUDIT_INTERVAL_MS = 3_600_000;

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

function randomText(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  // 256 % 36 = 4: a negligible bias, and these characters are for telling keys apart, not secrecy.
  return Array.from(bytes, (b) => ALPHABET[b % ALPHABET.length]).join("");
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

export async function generateApiKey(): Promise<{ key: string; prefix: string; secretHash: string }> {
  const prefix = `${API_KEY_PREFIX}${randomText(8)}`;
  const key = `${prefix}_${base64url(crypto.getRandomValues(new Uint8Array(32)))}`;
  return { key, prefix, secretHash: await hashToken(key) };
}

export function looksLikeApiKey(token: string): boolean {
  return /^psk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/.test(token);
}

export type ApiKeyRefusal = "unknown" | "revoked" | "expired";

export interface ApiKeyPrincipal {
  id: number;
  prefix: string;
  name: string;
  businessId: number;
  scopes: string[];
  createdByUserId: number | null;
  createdBy: { email: string; name: string } | null;
}

/** The key for a bearer token, or why it is refused. */
export async function findApiKey(
  db: Database,
  token: string,
  now = new Date(),
): Promise<
  | { ok: true; key: ApiKeyPrincipal & { lastUsedAt: Date | null; lastUsedIp: string | null } }
  | { ok: false; reason: ApiKeyRefusal }
> {
  if (!looksLikeApiKey(token)) return { ok: false, reason: "unknown" };
  const [row] = await db
    .select({ key: apiKeys, creator: { email: users.email, name: users.name } })
    .from(apiKeys)
    .innerJoin(businesses, eq(businesses.id, apiKeys.businessId))
    .leftJoin(users, eq(users.id, apiKeys.createdByUserId))
    .where(eq(apiKeys.secretHash, await hashToken(token)))
    .limit(1);
  if (!row) return { ok: false, reason: "unknown" };
  if (row.key.revokedAt) return { ok: false, reason: "revoked" };
  if (row.key.expiresAt && row.key.expiresAt <= now) return { ok: false, reason: "expired" };
  const k = row.key;
  return {
    ok: true,
    key: {
      id: k.id,
      prefix: k.prefix,
      name: k.name,
      businessId: k.businessId,
      scopes: k.scopes,
      createdByUserId: k.createdByUserId,
      createdBy: row.creator?.email ? row.creator : null,
      lastUsedAt: k.lastUsedAt,
      lastUsedIp: k.lastUsedIp,
    },
  };
}

/**
 * Records the key's use: last used at/from (at most once a minute), and an audit entry when it
 * is used from a new address (or an hour passed since the last one).
 */
export async function noteApiKeyUse(
  db: Database,
  key: { id: number; businessId: number; lastUsedAt: Date | null; lastUsedIp: string | null },
  ip: string | null,
  now = new Date(),
): Promise<void> {
  const last = key.lastUsedAt?.getTime() ?? 0;
  const newAddress = (ip ?? null) !== key.lastUsedIp;
  if (!newAddress && now.getTime() - last < LAST_USED_RESOLUTION_MS) return;
  const stale = new Date(now.getTime() - LAST_USED_RESOLUTION_MS);
  const [updated] = await db
    .update(apiKeys)
    .set({ lastUsedAt: now, lastUsedIp: ip?.slice(0, 100) ?? null })
    .where(
      newAddress
        ? eq(apiKeys.id, key.id)
        : // Concurrent requests: only one writes (and audits) per resolution window.
          and(eq(apiKeys.id, key.id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, stale))),
    )
    .returning({ id: apiKeys.id });
  if (updated && (newAddress || now.getTime() - last >= USE_AUDIT_INTERVAL_MS)) {
    await recordAudit(db, {
      businessId: key.businessId,
      action: "api_key.used",
      actorApiKeyId: key.id,
      targetType: "api_key",
      targetId: key.id,
      ip,
      details: newAddress ? { newAddress: true } : undefined,
    });
  }
}
