/**
 * Shard routing has one home (worker/whatsapp/shard-router.ts). This fails when any other Worker
 * code builds a shard URL or reads the shard URL settings itself.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const ALLOWED = new Set(["worker/whatsapp/shard-router.ts", "worker/config.ts"]);
const PATTERN = /baileys-\$\{|["'`]http:\/\/baileys|BAILEYS_SHARD_|shardUrlOverrides/;

describe("shard URLs have one home", () => {
  it("no Worker or Durable Object code outside the router builds a shard URL", () => {
    const files = ["worker", "durable-objects"].flatMap((dir) =>
      readdirSync(path.join(root, dir), { recursive: true, encoding: "utf8" })
        .filter((f) => f.endsWith(".ts"))
        .map((f) => path.posix.join(dir, f)),
    );
    expect(files.length).toBeGreaterThan(10);
    const offenders = files.filter((f) => !ALLOWED.has(f) && PATTERN.test(readFileSync(path.join(root, f), "utf8")));
    expect(offenders).toEqual([]);
  });

  it("the pattern catches the ways a URL could be built", () => {
    for (const sample of [
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a sample of source text, not a template
      "`http://baileys-${n}:3300`",
      '"http://baileys:3300"',
      "env.BAILEYS_SHARD_2_URL",
      "config.shardUrlOverrides.get(2)",
    ]) {
      expect(PATTERN.test(sample), sample).toBe(true);
    }
  });
});
