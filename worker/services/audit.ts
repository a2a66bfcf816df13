/**
 * The security audit log: who did what, from where. Append-only; owners read it
 * (GET /api/audit-log). Callers write through `audit` (a request) or `recordAudit` (anything else),
 * inside the transaction of the change when there is one, so a change and its entry stand or
 * fall together.
 */
import { and, desc, eq, lt, type SQL } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import type { Database } from "../db/client";
import { apiKeys, auditLog, users } from "../db/schema";

export const auditActions = [
  "auth.sign_in",
  "user.created",
  "user.role_changed",
  "user.deactivated",
  "api_key.created",
  "api_key.revoked",
  "api_key.used",
  "webhook.created",
  "webhook.updated",
  "webhook.deleted",
  "webhook.secret_rotated",
  "webhook.disabled",
  "webhook.redelivered",
  "whatsapp.shard_moved",
  "whatsapp.shard_move_aborted",
] as const;
export type AuditAction = (typeof auditActions)[number];

export interface AuditEntry {
  businessId: number | null;
  action: AuditAction;
  actorUserId?: number | null;
  actorApiKeyId?: number | null;
  targetType?: string;
  targetId?: string | number;
  ip?: string | null;
  details?: Record<string, unknown>;
}

type Executor = Pick<Database, "insert">;

export async function recordAudit(db: Executor, entry: AuditEntry): Promise<void> {
  await db.insert(auditLog).values({
    businessId: entry.businessId,
    actorUserId: entry.actorUserId ?? null,
    actorApiKeyId: entry.actorApiKeyId ?? null,
    action: entry.action,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId === undefined ? null : String(entry.targetId),
    ip: entry.ip?.slice(0, 100) ?? null,
    details: entry.details ?? null,
  });
}

/** An entry by the caller of this request (its user, or its API key), from its IP. */
export async function audit(
  c: Context<AppEnv>,
  db: Executor,
  entry: Omit<AuditEntry, "actorUserId" | "actorApiKeyId" | "ip">,
): Promise<void> {
  const auth = c.get("auth");
  await recordAudit(db, {
    ...entry,
    actorUserId: auth?.apiKey ? null : (auth?.user.id ?? null),
    actorApiKeyId: auth?.apiKey?.id ?? null,
    ip: c.req.header("cf-connecting-ip") ?? null,
  });
}

export async function listAudit(
  db: Database,
  businessId: number,
  q: { before?: number; action?: string; limit: number },
) {
  const where: SQL[] = [eq(auditLog.businessId, businessId)];
  if (q.before) where.push(lt(auditLog.id, q.before));
  if (q.action) where.push(eq(auditLog.action, q.action));
  const rows = await db
    .select({ entry: auditLog, userName: users.name, apiKeyPrefix: apiKeys.prefix })
    .from(auditLog)
    .leftJoin(users, eq(users.id, auditLog.actorUserId))
    .leftJoin(apiKeys, eq(apiKeys.id, auditLog.actorApiKeyId))
    .where(and(...where))
    .orderBy(desc(auditLog.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  return {
    entries: page.map(({ entry, userName, apiKeyPrefix }) => ({
      id: entry.id,
      action: entry.action,
      actor: {
        userId: entry.actorUserId,
        userName: userName ?? null,
        apiKeyId: entry.actorApiKeyId,
        apiKeyPrefix: apiKeyPrefix ?? null,
      },
      targetType: entry.targetType,
      targetId: entry.targetId,
      ip: entry.ip,
      details: entry.details ?? null,
      createdAt: entry.createdAt,
    })),
    nextCursor: rows.length > q.limit ? (page[page.length - 1]?.entry.id ?? null) : null,
  };
}
