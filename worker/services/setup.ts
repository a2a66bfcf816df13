/**
 * First-run setup: on a fresh install (no users at all), the first caller creates the first system
 * admin and the first business. Once any user exists it is closed for good (409 `already_set_up`).
 *
 * Race-safe: the check "no users yet" and the inserts run in one transaction under a Postgres
 * advisory lock, so of two concurrent setups exactly one creates anything.
 *
 * In production it is never open to the world: it needs a one-time setup token. The Worker makes
 * one when first needed (only its SHA-256 is stored, in `setup_tokens`) and prints it in its logs,
 * which only the operator reads; it expires after SETUP_TOKEN_TTL_MINUTES (a new one is printed on
 * the next request) and is deleted by the setup that uses it. Development and test need no token.
 */
import { and, eq, gt, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { setupTokens, users } from "../db/schema";
import { createBusiness } from "./businesses";

export const SETUP_TOKEN_TTL_MINUTES = 60;
/** Any constant; it only has to differ from other advisory locks of this database. */
const SETUP_LOCK = sql`pg_advisory_xact_lock(hashtext('prosaas:first-run-setup'))`;

export async function hasAnyUser(db: Database): Promise<boolean> {
  const [row] = await db.select({ id: users.id }).from(users).limit(1);
  return row !== undefined;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Makes a setup token unless an unexpired one exists. Returns the new token (for the caller to
 * print) or null. Concurrent callers: the upsert's WHERE lets exactly one replace an expired row.
 */
export async function issueSetupTokenIfNone(db: Database): Promise<{ token: string; expiresAt: Date } | null> {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  const token = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const expiresAt = new Date(Date.now() + SETUP_TOKEN_TTL_MINUTES * 60_000);
  const rows = await db
    .insert(setupTokens)
    .values({ id: 1, tokenHash: await sha256Hex(token), expiresAt })
    .onConflictDoUpdate({
      target: setupTokens.id,
      set: { tokenHash: sql`excluded.token_hash`, createdAt: sql`now()`, expiresAt: sql`excluded.expires_at` },
      setWhere: sql`${setupTokens.expiresAt} <= now()`,
    })
    .returning({ id: setupTokens.id });
  return rows.length > 0 ? { token, expiresAt } : null;
}

export interface SetupInput {
  email: string;
  passwordHash: string;
  name: string;
  businessName: string;
  timezone?: string;
  locale?: string;
}

export type SetupResult =
  | { ok: true; user: typeof users.$inferSelect; business: Awaited<ReturnType<typeof createBusiness>>["business"] }
  | { ok: false; reason: "already_set_up" | "invalid_token" };

/** Creates the first system admin and business, or says why not (nothing changed then). */
export async function runFirstSetup(
  db: Database,
  input: SetupInput,
  gate: { requireToken: false } | { requireToken: true; token: string | undefined },
): Promise<SetupResult> {
  const tokenHash = gate.requireToken && gate.token ? await sha256Hex(gate.token) : null;
  return db.transaction(async (tx) => {
    await tx.execute(sql`select ${SETUP_LOCK}`);
    const [someone] = await tx.select({ id: users.id }).from(users).limit(1);
    if (someone) return { ok: false, reason: "already_set_up" } as const;
    if (gate.requireToken) {
      if (!tokenHash) return { ok: false, reason: "invalid_token" } as const;
      const used = await tx
        .delete(setupTokens)
        .where(and(eq(setupTokens.tokenHash, tokenHash), gt(setupTokens.expiresAt, sql`now()`)))
        .returning({ id: setupTokens.id });
      if (used.length === 0) return { ok: false, reason: "invalid_token" } as const;
    }
    // createBusiness opens its own transaction; inside this one drizzle makes it a savepoint.
    const { business } = await createBusiness(tx as unknown as Database, {
      name: input.businessName,
      timezone: input.timezone,
      locale: input.locale,
    });
    const [user] = await tx
      .insert(users)
      .values({
        businessId: null,
        email: input.email,
        name: input.name,
        role: "system_admin",
        passwordHash: input.passwordHash,
      })
      .returning();
    return { ok: true, user: user!, business } as const;
  });
}
