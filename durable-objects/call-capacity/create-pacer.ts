/**
 * Twilio call creations per second for the whole account (TWILIO_CALLS_PER_SECOND): the pacer
 * CallCapacityDO hands creation times out of. One object for the account, so every Worker, consumer
 * and business shares one budget.
 *
 * The budget is a sliding window, not a fixed spacing: at most N = ceil(perSecond) creation times
 * in any window of N / perSecond seconds (`perSecond` is the setting less 5%: at most CPS times in
 * any 1.053 s). A creation goes out within CREATE_TURN_LATENESS_MS (40 ms) of its time, so Twilio
 * never sees more than CPS creations in any second; calls that end close together (a campaign's
 * slots) are refilled at once instead of 1/CPS apart. With N = 1 (1 call per second, Twilio's
 * default) this is the spacing of one interval it always was.
 *
 * Priority: a direct call (an agent waiting) books the earliest time the window allows, however
 * far; a bulk dial only takes a time within one interval (N / perSecond / N) of now, and is
 * otherwise told when to come back. So bulk never books ahead of a direct call: a time a direct
 * call booked counts in every window, and the direct call had the earliest one free. In memory: a
 * restarted object starts empty, at worst one window of early creations.
 */
export type PaceSource = "direct" | "bulk" | "inbound";

export type PaceResult =
  /** Create the call at `at` (epoch ms): wait `waitMs` first. */
  | { ok: true; at: number; waitMs: number }
  /** Bulk only: no creation time soon enough; ask again after `retryAfterMs`. */
  | { ok: false; retryAfterMs: number };

export class CreatePacer {
  /** Creation times given and not yet out of every window that may matter, ascending. */
  private given: number[] = [];

  /**
   * `perSecond` comes from the caller's config (TWILIO_CALLS_PER_SECOND less 5%; the same
   * everywhere in one deployment). `missed`: a time this caller was given and did not use (it was
   * late for it, e.g. a slow database): it is taken back before the new time is chosen.
   */
  take(source: PaceSource, perSecond: number, now = Date.now(), missed?: number): PaceResult {
    if (!(perSecond > 0)) throw new Error(`pace: bad calls per second ${perSecond}`);
    const n = Math.ceil(perSecond);
    const windowMs = (n * 1000) / perSecond;
    const interval = windowMs / n;
    if (missed !== undefined) {
      const i = this.given.indexOf(missed);
      if (i >= 0) this.given.splice(i, 1);
    }
    // A time at or before now - window is outside every window a new time (>= now) can be in.
    while (this.given.length > 0 && this.given[0]! <= now - windowMs) this.given.shift();
    const at = this.earliest(now, n, windowMs);
    if (source === "bulk" && at - now > interval) return { ok: false, retryAfterMs: Math.ceil(at - now - interval) };
    let i = this.given.length;
    while (i > 0 && this.given[i - 1]! > at) i--;
    this.given.splice(i, 0, at);
    return { ok: true, at, waitMs: at - now };
  }

  /**
   * The earliest time >= now that keeps at most n given times in any window of windowMs: with it
   * added, every n + 1 consecutive times span at least windowMs. Such a time is now or one window
   * after a given time (where a constraint lets go).
   */
  private earliest(now: number, n: number, windowMs: number): number {
    if (this.fits(now, n, windowMs)) return now;
    // The given times are ascending, so these candidates are too: the first that fits is the earliest.
    for (const g of this.given) if (g + windowMs > now && this.fits(g + windowMs, n, windowMs)) return g + windowMs;
    // Unreachable: one window after the last given time always fits.
    return (this.given[this.given.length - 1] ?? now) + windowMs;
  }

  /** With t added (after the given times equal to it), do every n + 1 consecutive times span at least windowMs? */
  private fits(t: number, n: number, windowMs: number): boolean {
    const given = this.given;
    let i = given.length;
    while (i > 0 && given[i - 1]! > t) i--;
    // The list with t at index i, read in place.
    const at = (j: number) => (j < i ? given[j]! : j === i ? t : given[j - 1]!);
    const length = given.length + 1;
    // Only the runs of n + 1 consecutive times that include t can break the rule.
    for (let start = Math.max(0, i - n); start <= i && start + n < length; start++)
      if (at(start + n) - at(start) < windowMs) return false;
    return true;
  }
}
