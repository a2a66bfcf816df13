/**
 * Shard routing, in one home. Nothing else in the code builds a shard URL
 * (tests/node/shard-url-discipline.test.ts enforces it).
 *
 *  - shard: `businesses.whatsapp_shard` when > 0, else `hash(business_id) % N + 1`;
 *  - URL of shard N: `BAILEYS_SHARD_{N}_URL`, else `http://baileys-{N}:{BAILEYS_PORT}`, and with a
 *    single shard `http://baileys:{BAILEYS_PORT}` (the old system's service name).
 *  - if the column is missing (migrations not applied), fall back to the hash and say so.
 *  - key of shard N (edge → shard bearer, shard → edge HMAC): `SHARD_{N}_SECRET`, else derived
 *    from the master `SHARD_SECRET` (contracts/shard-signing.ts deriveShardSecret). Each shard is
 *    given only its own key, so one leaked shard key cannot speak for the others.
 */
import { eq } from "drizzle-orm";
import { deriveShardSecret } from "../../contracts/shard-signing";
import type { Config } from "../config";
import type { Database } from "../db/client";
import { businesses } from "../db/schema";
import { log } from "../lib/log";

/** FNV-1a over the decimal id: stable across runtimes and versions (unlike a language's own hash). */
export function hashBusinessId(businessId: number): number {
  let hash = 0x811c9dc5;
  for (const ch of String(businessId)) {
    hash ^= ch.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export function shardForBusiness(
  config: Pick<Config, "BAILEYS_NUM_SHARDS">,
  businessId: number,
  assigned: number | null,
): number {
  if (assigned !== null && assigned > 0) return assigned;
  return (hashBusinessId(businessId) % config.BAILEYS_NUM_SHARDS) + 1;
}

export function shardUrl(
  config: Pick<Config, "BAILEYS_NUM_SHARDS" | "BAILEYS_PORT" | "shardUrlOverrides">,
  shard: number,
): string {
  const override = config.shardUrlOverrides.get(shard);
  if (override) return override;
  if (config.BAILEYS_NUM_SHARDS === 1 && shard === 1) return `http://baileys:${config.BAILEYS_PORT}`;
  return `http://baileys-${shard}:${config.BAILEYS_PORT}`;
}

type KeyConfig = Pick<Config, "BAILEYS_NUM_SHARDS" | "SHARD_SECRET" | "shardSecretOverrides" | "shardUrlOverrides">;

/** A shard the edge knows: within BAILEYS_NUM_SHARDS, or configured by its own URL or key. */
export function isKnownShard(config: KeyConfig, shard: number): boolean {
  return (
    (shard >= 1 && shard <= config.BAILEYS_NUM_SHARDS) ||
    config.shardUrlOverrides.has(shard) ||
    config.shardSecretOverrides.has(shard)
  );
}

const derivedKeys = new WeakMap<object, Map<number, Promise<string>>>();

/** Shard N's own key, or undefined when neither SHARD_{N}_SECRET nor SHARD_SECRET is set or N is unknown. */
export function shardSecret(config: KeyConfig, shard: number): Promise<string | undefined> {
  const explicit = config.shardSecretOverrides.get(shard);
  if (explicit) return Promise.resolve(explicit);
  if (!config.SHARD_SECRET || !isKnownShard(config, shard)) return Promise.resolve(undefined);
  const cache = derivedKeys.get(config) ?? new Map<number, Promise<string>>();
  derivedKeys.set(config, cache);
  const key = cache.get(shard) ?? deriveShardSecret(config.SHARD_SECRET, shard);
  cache.set(shard, key);
  return key;
}

export const SCHEMA_BEHIND_LOG = "DB schema behind — run db:migrate";

/** The business's assigned shard column, or null when unset or when the column does not exist yet. */
export async function assignedShard(db: Database, businessId: number): Promise<number | null> {
  try {
    const [row] = await db
      .select({ shard: businesses.whatsappShard })
      .from(businesses)
      .where(eq(businesses.id, businessId));
    return row?.shard ?? null;
  } catch (err) {
    if (isUndefinedColumn(err)) {
      log.warn(SCHEMA_BEHIND_LOG, { businessId, detail: "businesses.whatsapp_shard is missing; routing by hash" });
      return null;
    }
    throw err;
  }
}

function isUndefinedColumn(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    if ((e as { code?: string }).code === "42703") return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

export interface ShardRoute {
  shard: number;
  url: string;
}

export async function routeBusiness(db: Database, config: Config, businessId: number): Promise<ShardRoute> {
  const shard = shardForBusiness(config, businessId, await assignedShard(db, businessId));
  return { shard, url: shardUrl(config, shard) };
}
