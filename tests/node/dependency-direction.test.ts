/**
 * The Durable Objects hold their own logic and storage; what they need from the platform comes
 * through narrow host interfaces (durable-objects/business/host.ts, durable-objects/bindings.ts)
 * that the Worker fills in (worker/durable-objects.ts). This fails when a module in
 * durable-objects/ reaches, directly or through what it imports, the Worker's services, routes,
 * queues or its Env type — the cycle issue 17 removed.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const FORBIDDEN = [
  /^worker\/services\//,
  /^worker\/routes\//,
  /^worker\/queues\//,
  /^worker\/env\.ts$/,
  /^worker\/app/,
];

/** Relative imports of a module (type-only ones too: they are dependencies of the code's meaning). */
function importsOf(file: string): string[] {
  const source = readFileSync(path.join(root, file), "utf8");
  const found: string[] = [];
  for (const match of source.matchAll(/(?:from|import)\s+"(\.{1,2}\/[^"]+)"/g)) {
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), match[1]!));
    for (const candidate of [`${target}.ts`, `${target}/index.ts`, target]) {
      try {
        if (statSync(path.join(root, candidate)).isFile()) {
          found.push(candidate);
          break;
        }
      } catch {}
    }
  }
  return found;
}

/** Every module reachable from `start`, with the chain of imports that reaches it. */
function reachable(start: string): Map<string, string[]> {
  const chains = new Map<string, string[]>([[start, [start]]]);
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const next of importsOf(file)) {
      if (chains.has(next)) continue;
      chains.set(next, [...chains.get(file)!, next]);
      queue.push(next);
    }
  }
  return chains;
}

const objectModules = readdirSync(path.join(root, "durable-objects"), { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".ts"))
  .map((f) => path.posix.join("durable-objects", f));

describe("durable-objects/ depends on nothing of the Worker's services", () => {
  it("finds the modules it checks", () => {
    expect(objectModules).toContain("durable-objects/business-do.ts");
  });

  it.each(objectModules)("%s reaches no Worker service, route, queue or Env", (file) => {
    const offending = [...reachable(file).entries()]
      .filter(([module]) => FORBIDDEN.some((rule) => rule.test(module)))
      .map(([, chain]) => chain.join(" -> "));
    expect(offending).toEqual([]);
  });
});
