import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { getConfig, parseConfig } from "../../worker/config";
import { openDb } from "../../worker/db/client";
import {
  assignedShard,
  hashBusinessId,
  routeBusiness,
  shardForBusiness,
  shardUrl,
} from "../../worker/whatsapp/shard-router";
import { createTenant } from "./fixtures";
import { testDb } from "./helpers";

const { db, close } = testDb();
afterAll(close);

describe("shard routing", () => {
  it("an explicit shard wins; otherwise hash(business_id) % N + 1", () => {
    const config = parseConfig({ BAILEYS_NUM_SHARDS: "4" });
    expect(shardForBusiness(config, 42, 3)).toBe(3);
    expect(shardForBusiness(config, 42, 0)).toBe((hashBusinessId(42) % 4) + 1);
    expect(shardForBusiness(config, 42, null)).toBe((hashBusinessId(42) % 4) + 1);
    // Spread: 1,000 businesses land on every shard, none with more than twice its share.
    const counts = [0, 0, 0, 0];
    for (let id = 1; id <= 1000; id++) counts[shardForBusiness(config, id, null) - 1]!++;
    expect(Math.min(...counts)).toBeGreaterThan(150);
    expect(Math.max(...counts)).toBeLessThan(500);
  });

  it("builds shard URLs from overrides, the service names, or the single-shard name", () => {
    expect(shardUrl(parseConfig({}), 1)).toBe("http://baileys:3300");
    expect(shardUrl(parseConfig({ BAILEYS_NUM_SHARDS: "3" }), 2)).toBe("http://baileys-2:3300");
    expect(shardUrl(parseConfig({ BAILEYS_NUM_SHARDS: "3", BAILEYS_PORT: "4000" }), 3)).toBe("http://baileys-3:4000");
    expect(
      shardUrl(parseConfig({ BAILEYS_NUM_SHARDS: "3", BAILEYS_SHARD_2_URL: "https://wa2.internal:8443/" }), 2),
    ).toBe("https://wa2.internal:8443");
  });

  it("reads the business's column through the database", async () => {
    const tenant = await createTenant(db, "Routed business");
    await db.execute(sql`update businesses set whatsapp_shard = 2 where id = ${tenant.businessId}`);
    const route = await routeBusiness(db, getConfig(env), tenant.businessId);
    expect(route).toEqual({ shard: 2, url: env.BAILEYS_SHARD_2_URL });
  });

  it("falls back to the hash when the whatsapp_shard column is missing (schema behind)", async () => {
    // The never-migrated test database, with an old-style businesses table.
    const old = openDb(parseConfig({ ...env, DATABASE_URL: env.TEST_FRESH_DATABASE_URL }));
    try {
      await old.db.execute(sql`create table if not exists businesses (id integer primary key, name text)`);
      await old.db.execute(sql`insert into businesses values (7, 'old') on conflict do nothing`);
      const warnings: string[] = [];
      const original = console.warn;
      console.warn = (line: string) => warnings.push(line);
      try {
        expect(await assignedShard(old.db, 7)).toBeNull();
      } finally {
        console.warn = original;
      }
      expect(warnings.join("\n")).toContain("DB schema behind — run db:migrate");
    } finally {
      await old.close();
    }
  });
});
