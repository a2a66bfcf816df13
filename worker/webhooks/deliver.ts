/**
 * Delivering a subscription's events: at least once, in order, one consumer at a time.
 *
 * A `webhook.deliver` job names a subscription. The consumer takes the subscription's lease (a
 * token and an expiry in its row, so duplicate jobs, concurrent consumers and a consumer that died
 * mid-delivery are all safe: the others find it held and ack; a dead holder's lease expires),
 * then sends the oldest pending event, then the next, until none is due. A failure stops the
 * line: the event is retried after its backoff (./backoff.ts) and nothing behind it goes first.
 * An event out of attempts is marked failed and the line moves on. After releasing the lease the
 * consumer looks once more for due events, so an event committed while it held the lease (whose
 * own job found the lease taken) is not left waiting for the sweep.
 *
 * Each attempt: the target guard (./target-guard.ts), a POST signed per Standard Webhooks
 * (./signing.ts), WEBHOOK_TIMEOUT_MS, redirects not followed (a 3xx is a failure), 2xx = delivered.
 * Every attempt is logged (request headers, status, the first KB of the answer, duration).
 */
import { and, asc, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { Config } from "../config";
import type { Database } from "../db/client";
import { webhookAttempts, webhookDeliveries, webhookEvents, webhookSubscriptions } from "../db/schema";
import type { Env } from "../env";
import { log } from "../lib/log";
import { enqueue } from "../queues/producer";
import { recordAudit } from "../services/audit";
import { retryDelayMs } from "./backoff";
import { kickDeliveries } from "./outbox";
import { signedHeaders } from "./signing";
import { checkWebhookTarget } from "./target-guard";

const SNIPPET_BYTES = 1024;
/** A job stops taking new events after this long and queues itself again (other jobs share the batch). */
const WORK_BUDGET_MS = 20_000;
/** The longest delay a queue message may carry (Cloudflare Queues: 12 h). */
const MAX_QUEUE_DELAY_SECONDS = 43_200;
export const USER_AGENT = "ProSaaS-Webhooks/1.0";

export interface DeliveryContext {
  db: Database;
  env: Env;
  config: Config;
}

type Subscription = typeof webhookSubscriptions.$inferSelect;

function leaseMs(config: Config): number {
  // Longer than one attempt can take, so a live holder never loses it mid-request.
  return config.WEBHOOK_TIMEOUT_MS * 2 + 10_000;
}

async function acquireLease(db: Database, subscriptionId: number, ms: number) {
  const token = crypto.randomUUID();
  const [sub] = await db
    .update(webhookSubscriptions)
    .set({ leaseToken: token, leaseUntil: sql`now() + ${ms} * interval '1 millisecond'` })
    .where(
      and(
        eq(webhookSubscriptions.id, subscriptionId),
        eq(webhookSubscriptions.enabled, true),
        or(isNull(webhookSubscriptions.leaseUntil), lt(webhookSubscriptions.leaseUntil, sql`now()`)),
      ),
    )
    .returning();
  return sub ? { token, sub } : null;
}

async function renewLease(db: Database, sub: Subscription, token: string, ms: number): Promise<Subscription | null> {
  const [row] = await db
    .update(webhookSubscriptions)
    .set({ leaseUntil: sql`now() + ${ms} * interval '1 millisecond'` })
    .where(
      and(
        eq(webhookSubscriptions.id, sub.id),
        eq(webhookSubscriptions.leaseToken, token),
        eq(webhookSubscriptions.enabled, true),
      ),
    )
    .returning();
  return row ?? null;
}

async function releaseLease(db: Database, subscriptionId: number, token: string): Promise<void> {
  await db
    .update(webhookSubscriptions)
    .set({ leaseToken: null, leaseUntil: null })
    .where(and(eq(webhookSubscriptions.id, subscriptionId), eq(webhookSubscriptions.leaseToken, token)));
}

async function headOfLine(db: Database, subscriptionId: number) {
  const [head] = await db
    .select({
      id: webhookDeliveries.id,
      attempts: webhookDeliveries.attempts,
      nextAttemptAt: webhookDeliveries.nextAttemptAt,
      dueInMs: sql<number>`greatest(0, extract(epoch from (${webhookDeliveries.nextAttemptAt} - now())) * 1000)::float8`,
      eventId: webhookEvents.eventId,
      body: webhookEvents.body,
    })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventRowId))
    .where(and(eq(webhookDeliveries.subscriptionId, subscriptionId), eq(webhookDeliveries.status, "pending")))
    .orderBy(asc(webhookDeliveries.eventRowId))
    .limit(1);
  return head ?? null;
}

async function hasDueEvents(db: Database, subscriptionId: number): Promise<boolean> {
  const [row] = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.subscriptionId, subscriptionId),
        eq(webhookDeliveries.status, "pending"),
        sql`${webhookDeliveries.nextAttemptAt} <= now()`,
      ),
    )
    .limit(1);
  return Boolean(row);
}

export interface AttemptResult {
  ok: boolean;
  status: number | null;
  snippet: string | null;
  error: string | null;
  durationMs: number;
  headers: Record<string, string>;
}

async function readSnippet(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < SNIPPET_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    // The rest is not needed; do not wait for (or pay for) a large answer.
    reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(Math.min(size, SNIPPET_BYTES));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, all.length - offset);
    all.set(part, offset);
    offset += part.length;
    if (offset >= all.length) break;
  }
  return new TextDecoder().decode(all).replaceAll("\u0000", "");
}

/** One HTTP attempt of one event to one subscription. Never throws. */
export async function attemptDelivery(
  config: Config,
  sub: Pick<Subscription, "url" | "secret" | "previousSecret" | "previousSecretExpiresAt">,
  event: { eventId: string; body: string },
  fetcher: typeof fetch = fetch,
): Promise<AttemptResult> {
  const at = new Date();
  const secrets = [sub.secret];
  if (sub.previousSecret && sub.previousSecretExpiresAt && sub.previousSecretExpiresAt > at)
    secrets.push(sub.previousSecret);
  const headers = {
    "content-type": "application/json",
    "user-agent": USER_AGENT,
    ...signedHeaders(secrets, event.eventId, at, event.body),
  };
  const started = Date.now();
  const target = await checkWebhookTarget(sub.url, config);
  if (!target.ok) {
    return {
      ok: false,
      status: null,
      snippet: null,
      error: `target refused: ${target.reason}`,
      durationMs: 0,
      headers,
    };
  }
  try {
    const res = await fetcher(sub.url, {
      method: "POST",
      headers,
      body: event.body,
      redirect: "manual",
      signal: AbortSignal.timeout(config.WEBHOOK_TIMEOUT_MS),
    });
    const snippet = await readSnippet(res).catch(() => null);
    const durationMs = Date.now() - started;
    if (res.status >= 200 && res.status < 300)
      return { ok: true, status: res.status, snippet, error: null, durationMs, headers };
    const error =
      res.status >= 300 && res.status < 400
        ? `redirect (${res.status}${res.headers.get("location") ? ` to ${res.headers.get("location")}` : ""}) not followed`
        : `answered ${res.status}`;
    return { ok: false, status: res.status, snippet, error, durationMs, headers };
  } catch (err) {
    const durationMs = Date.now() - started;
    const name = err instanceof Error ? err.name : "";
    const error =
      name === "TimeoutError" || name === "AbortError"
        ? `no answer within ${config.WEBHOOK_TIMEOUT_MS} ms`
        : `request failed: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, status: null, snippet: null, error, durationMs, headers };
  }
}

async function recordAttempt(
  ctx: DeliveryContext,
  sub: Subscription,
  head: { id: number; attempts: number },
  result: AttemptResult,
): Promise<{ retryInMs: number | null }> {
  const { db, config } = ctx;
  const attempts = head.attempts + 1;
  const exhausted = !result.ok && attempts >= config.WEBHOOK_MAX_ATTEMPTS;
  const retryInMs = result.ok || exhausted ? null : retryDelayMs(attempts, config.WEBHOOK_BACKOFF_BASE_SECONDS);
  await db.transaction(async (tx) => {
    await tx.insert(webhookAttempts).values({
      businessId: sub.businessId,
      deliveryId: head.id,
      url: sub.url,
      requestHeaders: result.headers,
      responseStatus: result.status,
      responseSnippet: result.snippet,
      error: result.error,
      durationMs: result.durationMs,
    });
    await tx
      .update(webhookDeliveries)
      .set({
        attempts,
        status: result.ok ? "succeeded" : exhausted ? "failed" : "pending",
        lastStatusCode: result.status,
        lastError: result.error,
        deliveredAt: result.ok ? sql`now()` : undefined,
        nextAttemptAt: retryInMs === null ? undefined : sql`now() + ${retryInMs} * interval '1 millisecond'`,
        updatedAt: sql`now()`,
      })
      .where(and(eq(webhookDeliveries.id, head.id), eq(webhookDeliveries.status, "pending")));
    await tx
      .update(webhookSubscriptions)
      .set({ failingSince: result.ok ? null : sql`coalesce(${webhookSubscriptions.failingSince}, now())` })
      .where(eq(webhookSubscriptions.id, sub.id));
  });
  if (!result.ok) await disableIfFailingTooLong(ctx, sub);
  return { retryInMs };
}

/** A subscription whose every attempt failed for WEBHOOK_DISABLE_AFTER_DAYS is disabled; the owner sees why. */
async function disableIfFailingTooLong(ctx: DeliveryContext, sub: Subscription): Promise<void> {
  const days = ctx.config.WEBHOOK_DISABLE_AFTER_DAYS;
  const reason = `Every delivery failed for ${days} days; fix the endpoint, then enable it again (failed events can be redelivered).`;
  const [disabled] = await ctx.db
    .update(webhookSubscriptions)
    .set({ enabled: false, disabledReason: reason, leaseToken: null, leaseUntil: null, updatedAt: sql`now()` })
    .where(
      and(
        eq(webhookSubscriptions.id, sub.id),
        eq(webhookSubscriptions.enabled, true),
        sql`${webhookSubscriptions.failingSince} < now() - ${days} * interval '1 day'`,
      ),
    )
    .returning({ id: webhookSubscriptions.id });
  if (!disabled) return;
  log.warn("webhook subscription disabled after failing for days", { subscriptionId: sub.id, days });
  await recordAudit(ctx.db, {
    businessId: sub.businessId,
    action: "webhook.disabled",
    targetType: "webhook",
    targetId: sub.id,
    details: { url: sub.url, reason },
  });
}

async function scheduleKick(env: Env, subscriptionId: number, inMs: number): Promise<void> {
  const delaySeconds = Math.min(MAX_QUEUE_DELAY_SECONDS, Math.ceil(inMs / 1000));
  await enqueue(env, { type: "webhook.deliver", subscriptionId }, delaySeconds > 0 ? { delaySeconds } : undefined);
}

/** Works through one subscription's due events (the `webhook.deliver` job). */
export async function deliverSubscription(ctx: DeliveryContext, subscriptionId: number): Promise<void> {
  const { db, config } = ctx;
  const ms = leaseMs(config);
  const started = Date.now();
  for (let round = 0; round < 3; round++) {
    const lease = await acquireLease(db, subscriptionId, ms);
    // Held by another consumer (it re-checks after its release), or disabled, or gone.
    if (!lease) return;
    let sub: Subscription | null = lease.sub;
    let wakeInMs: number | null = null;
    try {
      while (sub) {
        const head = await headOfLine(db, subscriptionId);
        if (!head) break;
        if (head.dueInMs > 0) {
          wakeInMs = head.dueInMs;
          break;
        }
        if (Date.now() - started > WORK_BUDGET_MS) {
          wakeInMs = 0;
          break;
        }
        const result = await attemptDelivery(config, sub, head);
        const { retryInMs } = await recordAttempt(ctx, sub, head, result);
        if (retryInMs !== null) {
          wakeInMs = retryInMs;
          break;
        }
        // Before the next attempt: still ours, still enabled (a user may have disabled it meanwhile).
        sub = await renewLease(db, sub, lease.token, ms);
      }
    } finally {
      await releaseLease(db, subscriptionId, lease.token);
    }
    if (!sub) return;
    if (wakeInMs !== null) {
      await scheduleKick(ctx.env, subscriptionId, wakeInMs);
      return;
    }
    if (!(await hasDueEvents(db, subscriptionId))) return;
  }
  await scheduleKick(ctx.env, subscriptionId, 0);
}

/**
 * The minute sweep: subscriptions with due events and no live lease get a job. Catches kicks
 * lost between a commit and its queue send, consumers that died holding a lease, and retries
 * whose delayed job went missing.
 */
export async function sweepDueDeliveries(db: Database, env: Env, limit = 1000): Promise<number> {
  const rows = await db
    .selectDistinct({ id: webhookDeliveries.subscriptionId })
    .from(webhookDeliveries)
    .innerJoin(webhookSubscriptions, eq(webhookSubscriptions.id, webhookDeliveries.subscriptionId))
    .where(
      and(
        eq(webhookDeliveries.status, "pending"),
        sql`${webhookDeliveries.nextAttemptAt} <= now()`,
        eq(webhookSubscriptions.enabled, true),
        or(isNull(webhookSubscriptions.leaseUntil), lt(webhookSubscriptions.leaseUntil, sql`now()`)),
      ),
    )
    .limit(limit);
  await kickDeliveries(
    env,
    rows.map((r) => r.id),
  );
  return rows.length;
}
