/**
 * The BusinessDO's settings cache. The object is per business, so a cache here can never serve
 * one business's settings to another. Values live for `ttlMs` (a safety net for writes that
 * bypassed invalidation) and are dropped on `invalidate()` after every update through the API.
 * Concurrent misses share one load. A load that fails while an expired value is still here serves
 * that value (stale beats failing: Postgres away must not fail what the object can still answer);
 * after `invalidate()` there is nothing to fall back on, and the error goes to the caller.
 */
export class SettingsCache<T> {
  private value: { data: T; expiresAtMs: number } | null = null;
  private loading: Promise<T> | null = null;
  private generation = 0;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly ttlMs: number,
  ) {}

  async get(nowMs = Date.now()): Promise<T> {
    if (this.value && nowMs < this.value.expiresAtMs) return this.value.data;
    const stale = this.value;
    if (!this.loading) {
      const generation = this.generation;
      this.loading = this.load()
        .then((data) => {
          // An invalidate() during the load means this data may be stale: use it once, don't keep it.
          if (generation === this.generation) this.value = { data, expiresAtMs: nowMs + this.ttlMs };
          return data;
        })
        .finally(() => {
          this.loading = null;
        });
    }
    if (!stale) return this.loading;
    return this.loading.catch(() => stale.data);
  }

  invalidate(): void {
    this.value = null;
    this.generation++;
  }
}
