/**
 * The Worker's side of the call log hand-off (issue 16 #2; the object's side and why:
 * durable-objects/business/call-log-outbox.ts). A Twilio webhook answers once the business's object
 * keeps its call log write; the object hands a call's end (and an inbound call's row) back to the
 * webhook, which writes it to Postgres just after answering (`waitUntil`) and acknowledges it.
 *
 * At most MAX_APPLYING hand-offs are applied at once per isolate (each holds a Postgres
 * connection); beyond that a webhook leaves its writes to the object, which sends them through the
 * queue in batches. An acknowledgement that never arrives only means the object hands the writes
 * out again after its grace: applying them twice is harmless.
 */
import type { HandOff } from "../../durable-objects/business/call-log-outbox";
import type { Config } from "../config";
import { withDb } from "../db/client";
import type { Env } from "../env";
import { log } from "../lib/log";
import { callAdmission } from "./admission";
import { recordCallLogWrites } from "./status-callback";

const MAX_APPLYING = 16;
let applying = 0;
/** Whether this isolate takes a webhook's hand-off now (see MAX_APPLYING). */
export function canApplyHandOff(): boolean {
  return applying < MAX_APPLYING;
}

/**
 * After answering Twilio: applies the writes the business's object handed over, in one
 * transaction, and acknowledges them. On any failure the object still holds them: this gives them
 * back, and the object sends them through the queue at once, with its backoff.
 */
export async function applyHandOff(env: Env, config: Config, businessId: number, handOff: HandOff): Promise<void> {
  const admission = callAdmission(env, businessId);
  applying++;
  try {
    await withDb(config, (db) => recordCallLogWrites(db, env, handOff.writes));
    await admission.ackCallLogWrites(handOff.ids);
  } catch (err) {
    await admission.ackCallLogWrites(handOff.ids, false).catch(() => {});
    log.warn("call log writes left to the business's object: applying them failed", {
      businessId,
      writes: handOff.ids.length,
      // Drizzle's message carries the SQL and its parameters: log only the cause.
      error: err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err),
    });
  } finally {
    applying--;
  }
}
