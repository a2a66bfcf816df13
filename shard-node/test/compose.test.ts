/**
 * docker-compose.shards.yml is parsed (no Docker engine here) and checked against what the edge's
 * URL registry expects: service baileys-N at http://baileys-{N}:3300 (baileys-1 also answers as
 * `baileys` for single-shard mode), one volume per shard, a /health healthcheck, shard 2+ behind
 * the multi-shard profile.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const composePath = fileURLToPath(new URL("../../docker-compose.shards.yml", import.meta.url));

interface Service {
  build?: { context: string; dockerfile: string };
  environment: Record<string, string>;
  volumes: string[];
  expose?: string[];
  profiles?: string[];
  healthcheck: { test: string[] };
  networks?: { default?: { aliases?: string[] } };
}

const compose = parse(readFileSync(composePath, "utf8"), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};

/** What the edge derives for shard N (DESIGN.md: `http://baileys-{N}:3300`). */
const registryUrl = (n: number) => `http://baileys-${n}:3300`;

const shards = Object.entries(compose.services)
  .filter(([name]) => /^baileys-\d+$/.test(name))
  .map(([name, service]) => ({ name, n: Number(name.slice("baileys-".length)), service }))
  .sort((a, b) => a.n - b.n);

describe("docker-compose.shards.yml", () => {
  it("defines shards baileys-1..N (at least 2) whose ids and ports match the edge's URL registry", () => {
    expect(shards.length).toBeGreaterThanOrEqual(2);
    expect(shards.map((s) => s.n)).toEqual(shards.map((_, i) => i + 1));
    for (const { name, n, service } of shards) {
      expect(service.environment.BAILEYS_SHARD_ID).toBe(String(n));
      const port = service.environment.BAILEYS_PORT;
      expect(`http://${name}:${port}`).toBe(registryUrl(n));
      expect(service.expose).toContain(port);
      expect(service.build).toEqual({ context: ".", dockerfile: "shard-node/Dockerfile" });
    }
    expect(shards[0]!.service.networks?.default?.aliases).toContain("baileys");
  });

  it("gives every shard its own declared volume, mounted at its data dir", () => {
    const volumes = shards.map(({ service }) => {
      expect(service.volumes).toHaveLength(1);
      const [volume, target] = service.volumes[0]!.split(":");
      expect(target).toBe(service.environment.SHARD_DATA_DIR);
      expect(compose.volumes).toHaveProperty(volume!);
      return volume;
    });
    expect(new Set(volumes).size).toBe(shards.length);
    expect(volumes.slice(0, 2)).toEqual(["whatsapp_auth", "whatsapp_auth_shard2"]);
  });

  it("healthchecks /health on the shard's port; shard 1 runs by default, the others under multi-shard", () => {
    for (const { n, service } of shards) {
      expect(service.healthcheck.test.join(" ")).toContain(`:${service.environment.BAILEYS_PORT}/health`);
      if (n === 1) expect(service.profiles).toBeUndefined();
      else expect(service.profiles).toEqual(["multi-shard"]);
    }
  });

  it("gives each shard its own key and the edge URL from the environment, never a value in the file", () => {
    for (const { n, service } of shards) {
      expect(service.environment.SHARD_SECRET).toMatch(new RegExp(`^\\$\\{SHARD_${n}_SECRET:\\?`));
      expect(service.environment.EDGE_EVENTS_URL).toMatch(/^\$\{EDGE_EVENTS_URL:\?/);
    }
  });
});
