/**
 * Token buckets for rate limiting. One object per limited key (e.g. `login:email:a@b.c`), so
 * every check for a key is serialised in one place and the count holds across isolates.
 * The bucket is persisted in the object's SQLite storage so a restart neither forgets nor resets.
 */
import { DurableObject } from "cloudflare:workers";
import type { DurableObjectBindings } from "./bindings";

export interface BucketPolicy {
  /** Most tokens the bucket holds (the burst). */
  capacity: number;
  /** Tokens added per second. */
  refillPerSecond: number;
}

export interface TakeResult {
  allowed: boolean;
  remaining: number;
  /** Seconds until `cost` tokens are available again (0 when allowed). */
  retryAfterSeconds: number;
}

export class RateLimiterDO extends DurableObject<DurableObjectBindings> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: DurableObjectBindings) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS bucket (id INTEGER PRIMARY KEY CHECK (id = 1), tokens REAL NOT NULL, updated_ms INTEGER NOT NULL)",
    );
    // Clients this key trusts (sign-in: devices that signed in to the account), by token hash.
    this.sql.exec("CREATE TABLE IF NOT EXISTS known_client (hash TEXT PRIMARY KEY, expires_ms INTEGER NOT NULL)");
  }

  /** Whether `cost` tokens are there now, without taking them. */
  peek(policy: BucketPolicy, cost = 1, nowMs = Date.now()): TakeResult {
    const available = this.available(policy, nowMs);
    const allowed = available >= cost;
    return {
      allowed,
      remaining: Math.floor(available),
      retryAfterSeconds: allowed ? 0 : Math.ceil((cost - available) / policy.refillPerSecond),
    };
  }

  private available(policy: BucketPolicy, nowMs: number): number {
    const row = this.sql
      .exec<{ tokens: number; updated_ms: number }>("SELECT tokens, updated_ms FROM bucket")
      .toArray()[0];
    const elapsed = row ? Math.max(0, nowMs - row.updated_ms) / 1000 : 0;
    return Math.min(policy.capacity, (row ? row.tokens : policy.capacity) + elapsed * policy.refillPerSecond);
  }

  /** Remembers a client (by the hash of its token) until `expiresMs`; keeps the newest `keep`. */
  rememberClient(hash: string, expiresMs: number, keep = 20, nowMs = Date.now()): void {
    this.sql.exec("DELETE FROM known_client WHERE expires_ms <= ?", nowMs);
    this.sql.exec(
      "INSERT INTO known_client (hash, expires_ms) VALUES (?, ?) ON CONFLICT (hash) DO UPDATE SET expires_ms = excluded.expires_ms",
      hash,
      expiresMs,
    );
    this.sql.exec(
      "DELETE FROM known_client WHERE hash NOT IN (SELECT hash FROM known_client ORDER BY expires_ms DESC LIMIT ?)",
      keep,
    );
  }

  isKnownClient(hash: string, nowMs = Date.now()): boolean {
    return (
      this.sql.exec("SELECT 1 FROM known_client WHERE hash = ? AND expires_ms > ?", hash, nowMs).toArray().length > 0
    );
  }

  /** Takes `cost` tokens if the bucket has them; otherwise says how long to wait. */
  take(policy: BucketPolicy, cost = 1, nowMs = Date.now()): TakeResult {
    const available = this.available(policy, nowMs);
    const allowed = available >= cost;
    const tokens = allowed ? available - cost : available;
    this.sql.exec(
      "INSERT INTO bucket (id, tokens, updated_ms) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET tokens = excluded.tokens, updated_ms = excluded.updated_ms",
      tokens,
      nowMs,
    );
    const retryAfterSeconds = allowed ? 0 : Math.ceil((cost - tokens) / policy.refillPerSecond);
    return { allowed, remaining: Math.floor(tokens), retryAfterSeconds };
  }

  /** Forgets the bucket (e.g. after a successful sign-in clears the failure counter). */
  reset(): void {
    this.sql.exec("DELETE FROM bucket");
  }
}
