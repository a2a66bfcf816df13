/**
 * The BusinessDO's settings cache (durable-objects/business/settings-cache.ts): what a call or a
 * send sees when the cached settings run out, are changed through the API, or cannot be loaded.
 */
import { describe, expect, it } from "vitest";
import { SettingsCache } from "../../durable-objects/business/settings-cache";

const TTL = 60_000;

/** A load the test answers by hand, counting how often it was asked. */
function controlledLoad<T>() {
  const pending: { resolve: (v: T) => void; reject: (e: Error) => void }[] = [];
  const load = () => new Promise<T>((resolve, reject) => pending.push({ resolve, reject }));
  return { load, pending };
}

describe("SettingsCache", () => {
  it("answers with the settings it has when they run out, while one load refreshes them", async () => {
    const { load, pending } = controlledLoad<string>();
    const cache = new SettingsCache(load, TTL);
    const first = cache.get(0);
    pending[0]!.resolve("greeting v1");
    expect(await first).toBe("greeting v1");

    // Past the TTL: every reader is answered at once with v1; only one load goes out.
    const readers = await Promise.all([cache.get(TTL + 1), cache.get(TTL + 2), cache.get(TTL + 3)]);
    expect(readers).toEqual(["greeting v1", "greeting v1", "greeting v1"]);
    expect(pending).toHaveLength(2);

    pending[1]!.resolve("greeting v2");
    await expect.poll(() => cache.get(TTL + 4)).toBe("greeting v2");
    expect(pending).toHaveLength(2);
  });

  it("after an update through the API, waits for the new settings rather than answering the old ones", async () => {
    const { load, pending } = controlledLoad<string>();
    const cache = new SettingsCache(load, TTL);
    const first = cache.get(0);
    pending[0]!.resolve("forward");
    await first;

    // A refresh goes out (TTL ran out), then the business changes its settings.
    expect(await cache.get(TTL + 1)).toBe("forward");
    cache.invalidate();
    const afterUpdate = cache.get(TTL + 2);
    // The refresh that started before the update is not what the reader gets.
    expect(pending).toHaveLength(3);
    pending[1]!.resolve("forward");
    pending[2]!.resolve("voicemail");
    expect(await afterUpdate).toBe("voicemail");
    expect(await cache.get(TTL + 3)).toBe("voicemail");
  });

  it("keeps the old settings when a refresh fails, and tries again a little later", async () => {
    const { load, pending } = controlledLoad<string>();
    const cache = new SettingsCache(load, TTL);
    const first = cache.get(0);
    pending[0]!.resolve("v1");
    await first;

    expect(await cache.get(TTL + 1)).toBe("v1");
    pending[1]!.reject(new Error("database unreachable"));
    // Within the retry delay nobody asks Postgres again; the old value holds.
    await expect.poll(() => cache.get(TTL + 2)).toBe("v1");
    expect(await cache.get(TTL + 1 + SettingsCache.RETRY_MS - 1)).toBe("v1");
    expect(pending).toHaveLength(2);
    // After it, one more try.
    expect(await cache.get(TTL + 1 + SettingsCache.RETRY_MS)).toBe("v1");
    expect(pending).toHaveLength(3);
    pending[2]!.resolve("v2");
    await expect.poll(() => cache.get(TTL + 2 + SettingsCache.RETRY_MS)).toBe("v2");
  });

  it("gives the error to the reader when there is nothing cached to fall back on", async () => {
    const { load, pending } = controlledLoad<string>();
    const cache = new SettingsCache(load, TTL);
    const a = cache.get(0);
    const b = cache.get(1);
    expect(pending).toHaveLength(1);
    pending[0]!.reject(new Error("database unreachable"));
    await expect(a).rejects.toThrow("database unreachable");
    await expect(b).rejects.toThrow("database unreachable");
  });
});
