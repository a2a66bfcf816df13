/**
 * Token buckets for rate limiting. One object per limited subject (e.g. `webhook:business:7`, or
 * `login:a@b.c` for everything about one account), so every check for it is serialised in one
 * place and the count holds across isolates. An object holds named buckets (the default one is
 * ""), persisted in its SQLite storage so a restart neither forgets nor resets them.
 *
 * Sign-in (worker/auth/login-guard.ts) keeps all of one account's buckets — per client, per
 * device, the account's own budget — and its trusted devices in that account's object, and decides
 * an attempt in one call (`admitSignIn`): one round trip, and no interleaving between the checks.
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

/** The buckets a sign-in attempt on one account goes through (policies from worker/auth/rate-limits.ts). */
export interface SignInPolicies {
  perClient: BucketPolicy;
  clientShare: BucketPolicy;
  account: BucketPolicy;
  perDevice: BucketPolicy;
}

export interface SignInVerdict extends TakeResult {
  /** Which bucket refused (for the 429's details), or null when admitted. */
  refusedBy: keyof SignInPolicies | null;
  /** Whether the attempt came from a device that signed in to this account before. */
  knownDevice: boolean;
}

/**
 * A bucket untouched for a day is full again under every policy we use (the slowest refills its
 * burst within hours), so its row carries nothing and is dropped: an account's object does not
 * grow with every address that ever tried it (nor a spread object with every address it holds).
 */
const IDLE_BUCKET_MS = 86_400_000;

export class RateLimiterDO extends DurableObject<DurableObjectBindings> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: DurableObjectBindings) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS buckets (name TEXT PRIMARY KEY, tokens REAL NOT NULL, updated_ms INTEGER NOT NULL)",
    );
    this.sql.exec("CREATE INDEX IF NOT EXISTS buckets_updated ON buckets (updated_ms)");
    // Clients this key trusts (sign-in: devices that signed in to the account), by token hash.
    this.sql.exec("CREATE TABLE IF NOT EXISTS known_client (hash TEXT PRIMARY KEY, expires_ms INTEGER NOT NULL)");
  }

  /** Whether `cost` tokens are there now, without taking them. */
  peek(policy: BucketPolicy, cost = 1, nowMs = Date.now(), bucket = ""): TakeResult {
    const available = this.available(policy, nowMs, bucket);
    const allowed = available >= cost;
    return {
      allowed,
      remaining: Math.floor(available),
      retryAfterSeconds: allowed ? 0 : Math.ceil((cost - available) / policy.refillPerSecond),
    };
  }

  /** Takes `cost` tokens if the bucket has them; otherwise says how long to wait. */
  take(policy: BucketPolicy, cost = 1, nowMs = Date.now(), bucket = ""): TakeResult {
    this.pruneIdle(nowMs);
    const available = this.available(policy, nowMs, bucket);
    const allowed = available >= cost;
    const tokens = allowed ? available - cost : available;
    this.sql.exec(
      "INSERT INTO buckets (name, tokens, updated_ms) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET tokens = excluded.tokens, updated_ms = excluded.updated_ms",
      bucket,
      tokens,
      nowMs,
    );
    const retryAfterSeconds = allowed ? 0 : Math.ceil((cost - tokens) / policy.refillPerSecond);
    return { allowed, remaining: Math.floor(tokens), retryAfterSeconds };
  }

  /** Forgets a bucket (it is full again), e.g. a client's failures after it signed in. */
  reset(bucket = ""): void {
    this.sql.exec("DELETE FROM buckets WHERE name = ?", bucket);
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

  /**
   * One sign-in attempt on this account (see worker/auth/login-guard.ts for the goals). A known
   * device is judged by its own bucket only. Anyone else spends from their per-client bucket and,
   * within their share, from the account's budget; past their share they only need the budget not
   * to be empty (their per-client bucket already paces them).
   */
  admitSignIn(
    attempt: { client: string; deviceHash: string | null },
    policies: SignInPolicies,
    nowMs = Date.now(),
  ): SignInVerdict {
    if (attempt.deviceHash && this.isKnownClient(attempt.deviceHash, nowMs)) {
      return this.verdict(this.take(policies.perDevice, 1, nowMs, `device:${attempt.deviceHash}`), "perDevice", true);
    }
    const perClient = this.take(policies.perClient, 1, nowMs, `client:${attempt.client}`);
    if (!perClient.allowed) return this.verdict(perClient, "perClient", false);
    const withinShare = this.take(policies.clientShare, 1, nowMs, `share:${attempt.client}`).allowed;
    const account = withinShare
      ? this.take(policies.account, 1, nowMs, "account")
      : this.peek(policies.account, 1, nowMs, "account");
    return this.verdict(account, "account", false);
  }

  /**
   * After a correct password: this client's counters start afresh and its device is trusted
   * (`deviceHash`, until `trustedUntilMs`). The account's budget is NOT refilled: that would hand
   * a spread guessing run a fresh budget whenever the real user signs in.
   */
  signInSucceeded(client: string, deviceHash: string, trustedUntilMs: number, nowMs = Date.now()): void {
    this.reset(`client:${client}`);
    this.reset(`share:${client}`);
    this.rememberClient(deviceHash, trustedUntilMs, 20, nowMs);
  }

  private verdict(result: TakeResult, bucket: keyof SignInPolicies, knownDevice: boolean): SignInVerdict {
    return { ...result, refusedBy: result.allowed ? null : bucket, knownDevice };
  }

  private available(policy: BucketPolicy, nowMs: number, bucket: string): number {
    const row = this.sql
      .exec<{ tokens: number; updated_ms: number }>("SELECT tokens, updated_ms FROM buckets WHERE name = ?", bucket)
      .toArray()[0];
    const elapsed = row ? Math.max(0, nowMs - row.updated_ms) / 1000 : 0;
    return Math.min(policy.capacity, (row ? row.tokens : policy.capacity) + elapsed * policy.refillPerSecond);
  }

  private pruneIdle(nowMs: number): void {
    this.sql.exec("DELETE FROM buckets WHERE updated_ms < ?", nowMs - IDLE_BUCKET_MS);
  }
}
