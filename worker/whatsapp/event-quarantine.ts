/**
 * Quarantine for shard events the edge cannot apply (table `shard_event_quarantine`, metric
 * `prosaas_shard_events_quarantined_total{reason}`). An authentic delivery is always acknowledged:
 * what cannot be applied is kept here with its reason instead of being refused, because a refusal
 * makes the shard send the same delivery again and holds back every later event of the business.
 */
import { sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { shardEventQuarantine } from "../db/schema";
import { shardEventMetrics } from "../metrics/whatsapp";

export const quarantineReasons = [
  /** The event does not match the contract (a field named in the detail). */
  "invalid",
  /** The event names another shard than the one whose key signed the delivery. */
  "foreign_shard",
  /** The business is assigned to another shard. */
  "not_assigned_shard",
  /** The event carries a fencing token other than the business's current one. */
  "stale_fencing_token",
  /** Postgres refused to store it (a data or constraint error; SQLSTATE in the detail). */
  "apply_failed",
] as const;
export type QuarantineReason = (typeof quarantineReasons)[number];

/** Longest payload kept; a longer one is cut (the detail says so). The delivery limit is 5 MB. */
const MAX_PAYLOAD_CHARS = 200_000;

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const field = (raw: unknown, name: string): unknown =>
  raw && typeof raw === "object" ? (raw as Record<string, unknown>)[name] : undefined;

const shortText = (value: unknown, max: number): string | null =>
  typeof value === "string" ? JSON.stringify(value).slice(1, -1).slice(0, max) : null;

export async function quarantineEvent(
  db: Database,
  entry: { shardId: number; raw: unknown; reason: QuarantineReason; detail: string },
): Promise<void> {
  // JSON.stringify escapes U+0000 and lone surrogates (\u0000, \ud800): the text is always storable.
  const full = JSON.stringify(entry.raw) ?? "null";
  const payload = full.slice(0, MAX_PAYLOAD_CHARS);
  const detail =
    full.length > payload.length ? `${entry.detail} (payload cut at ${MAX_PAYLOAD_CHARS} chars)` : entry.detail;
  const businessId = field(entry.raw, "businessId");
  await db
    .insert(shardEventQuarantine)
    .values({
      shardId: entry.shardId,
      businessId: typeof businessId === "number" && Number.isSafeInteger(businessId) ? businessId : null,
      eventId: shortText(field(entry.raw, "id"), 500),
      eventType: shortText(field(entry.raw, "type"), 100),
      reason: entry.reason,
      detail: JSON.stringify(detail).slice(1, -1).slice(0, 2000),
      payload,
      payloadSha256: await sha256Hex(full),
    })
    .onConflictDoUpdate({
      target: [shardEventQuarantine.payloadSha256, shardEventQuarantine.reason],
      set: { occurrences: sql`${shardEventQuarantine.occurrences} + 1`, lastSeenAt: sql`now()` },
    });
  shardEventMetrics.quarantined.inc({ reason: entry.reason });
}

/** The SQLSTATE of a Postgres error, looked for through drizzle's wrapping `cause` chain. */
export function sqlState(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Errors that are about the event's data (class 22: data exception, 23: constraint violation):
 * retrying cannot help, so the event is quarantined. Anything else (connection lost, serialisation
 * failure, database shutting down) is thrown: the delivery is answered 5xx and sent again later.
 */
export function isDataError(err: unknown): boolean {
  const state = sqlState(err);
  return state !== undefined && (state.startsWith("22") || state.startsWith("23"));
}
