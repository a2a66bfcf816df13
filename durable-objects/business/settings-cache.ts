/**
 * The BusinessDO's settings cache. The object is per business, so a cache here can never serve
 * one business's settings to another. Values live for `ttlMs` (a safety net for writes that
 * bypassed invalidation) and are dropped on `invalidate()` after every update through the API.
 * Concurrent misses share one load.
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
    return this.loading;
  }

  invalidate(): void {
    this.value = null;
    this.generation++;
  }
}
