/**
 * Twilio call creations per second for the whole account (TWILIO_CALLS_PER_SECOND): the pacer
 * CallCapacityDO hands creation times out of. One object for the account, so every Worker, consumer
 * and business shares one budget: creations are at least 1/CPS apart.
 *
 * Priority: a direct call (an agent waiting) books the next free time, however far; a bulk dial
 * only takes a time within one interval of now, and is otherwise told when to come back. So bulk
 * never books ahead of a direct call: a direct call waits at most for the direct calls before it
 * plus one interval. In memory: a restarted object starts at "now", at worst one early creation.
 */
export type PaceSource = "direct" | "bulk" | "inbound";

export type PaceResult =
  /** Create the call at `at` (epoch ms): wait `waitMs` first. */
  | { ok: true; at: number; waitMs: number }
  /** Bulk only: no creation time soon enough; ask again after `retryAfterMs`. */
  | { ok: false; retryAfterMs: number };

export class CreatePacer {
  private nextFree = 0;

  /** `perSecond` comes from the caller's config (TWILIO_CALLS_PER_SECOND; the same everywhere in one deployment). */
  take(source: PaceSource, perSecond: number, now = Date.now()): PaceResult {
    if (!(perSecond > 0)) throw new Error(`pace: bad calls per second ${perSecond}`);
    const interval = 1000 / perSecond;
    const at = Math.max(now, this.nextFree);
    if (source === "bulk" && at - now > interval) return { ok: false, retryAfterMs: Math.ceil(at - now - interval) };
    this.nextFree = at + interval;
    return { ok: true, at, waitMs: at - now };
  }
}
