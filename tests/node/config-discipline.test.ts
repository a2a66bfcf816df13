/**
 * Configuration has one home. This fails when code outside the config modules reads a setting
 * from the environment — `process.env` anywhere, or `env.SOME_SETTING` in the Worker where
 * SOME_SETTING is not a binding declared in wrangler.toml — so a new setting cannot bypass the
 * zod schema and its defaults.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const CONFIG_MODULES = new Set(["worker/config.ts", "scripts/lib/local-env.ts", "shard-node/src/config.ts"]);

/** TypeScript sources under the given folders (tests and declarations excluded). */
function sources(folders: string[]): string[] {
  return folders
    .filter((dir) => existsSync(path.join(root, dir)))
    .flatMap((dir) =>
      readdirSync(path.join(root, dir), { recursive: true, encoding: "utf8" }).map((f) => path.posix.join(dir, f)),
    )
    .filter((f) => f.endsWith(".ts") && !f.includes("node_modules") && !f.endsWith(".d.ts") && !f.includes(".test."));
}

function bindingNames(): Set<string> {
  const toml = parse(readFileSync(path.join(root, "wrangler.toml"), "utf8")) as {
    durable_objects?: { bindings?: { name: string }[] };
    queues?: { producers?: { binding: string }[] };
    r2_buckets?: { binding: string }[];
  };
  return new Set([
    ...(toml.durable_objects?.bindings ?? []).map((b) => b.name),
    ...(toml.queues?.producers ?? []).map((p) => p.binding),
    ...(toml.r2_buckets ?? []).map((b) => b.binding),
  ]);
}

describe("configuration has one home", () => {
  it("no code outside the config modules reads process.env", () => {
    const offenders = sources(["worker", "durable-objects", "shard-node/src", "scripts", "contracts"])
      .filter((f) => !CONFIG_MODULES.has(f))
      .filter((f) => /\bprocess\.env\b/.test(readFileSync(path.join(root, f), "utf8")));
    expect(offenders).toEqual([]);
  });

  it("Worker code reads only bindings from env; settings go through worker/config.ts", () => {
    const bindings = bindingNames();
    expect(bindings.size).toBeGreaterThan(0);
    const offenders: string[] = [];
    for (const file of sources(["worker", "durable-objects"])) {
      if (CONFIG_MODULES.has(file)) continue;
      const text = readFileSync(path.join(root, file), "utf8");
      for (const match of text.matchAll(/\benv\s*(?:\.|\[\s*["'`])([A-Z][A-Z0-9_]{2,})/g)) {
        if (!bindings.has(match[1]!)) offenders.push(`${file}: env.${match[1]}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it("the check itself catches a setting read outside config", () => {
    // Guard against a regex that silently matches nothing.
    const sample = 'const host = c.env.PUBLIC_HOST; const q = env["QUEUE_LOW"];';
    const found = [...sample.matchAll(/\benv\s*(?:\.|\[\s*["'`])([A-Z][A-Z0-9_]{2,})/g)].map((m) => m[1]);
    expect(found).toEqual(["PUBLIC_HOST", "QUEUE_LOW"]);
  });
});
