/**
 * The BusinessDO's settings cache. The object is per business, so a cache here can never serve
 * one business's settings to another. Every update through the API drops the value
 * (`invalidate()`), and the next reader loads it again, waiting for the load. The TTL is only a
 * safety net for writes that bypassed the API: when it runs out, readers keep the value they have
 * while one load refreshes it in the background (issue 16 #2: waiting for it held every call in
 * flight for a Postgres round trip once a minute, the worst of bench:webhook's p99). Concurrent
 * loads are one. A failed refresh keeps the old value and is tried again after RETRY_MS (stale
 * beats failing: Postgres away must not fail what the object can still answer); after
 * `invalidate()` there is nothing to fall back on, and the error goes to the caller.
 */
export class SettingsCache<T> {
  /** A failed background refresh is tried again after this long. */
  static readonly RETRY_MS = 5_000;

  private value: { data: T; expiresAtMs: number } | null = null;
  /** The load in flight, and the generation it started in (one from before an invalidate() is not reused). */
  private loading: { promise: Promise<T>; generation: number } | null = null;
  private generation = 0;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly ttlMs: number,
  ) {}

  async get(nowMs = Date.now()): Promise<T> {
    const current = this.value;
    if (current && nowMs < current.expiresAtMs) return current.data;
    const loading = this.startLoad(nowMs);
    if (!current) return loading;
    // Expired but not invalidated: answer now; the load refreshes it for later readers.
    loading.catch(() => {
      if (this.value === current) this.value = { data: current.data, expiresAtMs: nowMs + SettingsCache.RETRY_MS };
    });
    return current.data;
  }

  invalidate(): void {
    this.value = null;
    this.generation++;
  }

  private startLoad(nowMs: number): Promise<T> {
    if (this.loading?.generation === this.generation) return this.loading.promise;
    const generation = this.generation;
    const promise = this.load()
      .then((data) => {
        // An invalidate() during the load means this data may be stale: use it once, don't keep it.
        if (generation === this.generation) this.value = { data, expiresAtMs: nowMs + this.ttlMs };
        return data;
      })
      .finally(() => {
        if (this.loading?.promise === promise) this.loading = null;
      });
    this.loading = { promise, generation };
    return promise;
  }
}
