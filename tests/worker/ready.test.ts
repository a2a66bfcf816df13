import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, callWithSettings } from "./helpers";

describe("GET /ready", () => {
  it("is ready when Postgres answers and every migration is applied", async () => {
    const res = await call("/ready");
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      status: string;
      migrations: { expected: { count: number }; applied: { count: number } };
    };
    expect(body.status).toBe("ready");
    expect(body.migrations.applied.count).toBe(body.migrations.expected.count);
  });

  it("is 503 on a fresh database that was never migrated, saying to run db:migrate", async () => {
    const res = await callWithSettings({ DATABASE_URL: env.TEST_FRESH_DATABASE_URL }, "/ready");
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: "not_ready", reason: "DB schema behind — run db:migrate" });
  });

  it("is 503 when the database is missing the latest migration", async () => {
    const res = await callWithSettings({ DATABASE_URL: env.TEST_BEHIND_DATABASE_URL }, "/ready");
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: "not_ready", reason: "DB schema behind — run db:migrate" });
  });

  it("is 503 when Postgres cannot be reached", async () => {
    const res = await callWithSettings({ DATABASE_URL: "postgres://postgres:postgres@127.0.0.1:1/nowhere" }, "/ready");
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: "not_ready", database: { reachable: false } });
  });
});
