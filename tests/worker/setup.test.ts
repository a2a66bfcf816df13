/**
 * First-run setup on a migrated database with no users (TEST_EMPTY_DATABASE_URL, this file's own).
 * Guards against: a fresh install with no way in but a shell; setup left open once someone exists;
 * two racing setups both creating an admin; a production setup open to anyone without the token.
 */
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { getConfig } from "../../worker/config";
import { openDb } from "../../worker/db/client";
import { issueSetupTokenIfNone, runFirstSetup } from "../../worker/services/setup";
import { callWithSettings, errorOf, expectFieldRefused } from "./helpers";

const settings = { DATABASE_URL: env.TEST_EMPTY_DATABASE_URL as string };
const handle = openDb(getConfig({ ...env, ...settings }));
const db = handle.db;

const setupBody = (email: string) => ({
  email,
  password: "first admin password",
  name: "First Admin",
  businessName: "Acme Clinic",
  timezone: "Asia/Jerusalem",
  locale: "he-IL",
});

function post(body: unknown): Promise<Response> {
  return callWithSettings(settings, "/api/setup", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function userCount(): Promise<number> {
  const { rows } = await db.execute<{ n: number }>(sql`select count(*)::int as n from users`);
  return rows[0]!.n;
}

beforeEach(async () => {
  await db.execute(sql`truncate users, businesses, sessions, setup_tokens restart identity cascade`);
});
afterAll(() => handle.close());

describe("first-run setup API", () => {
  it("a fresh install asks for setup, with no token outside production", async () => {
    const res = await callWithSettings(settings, "/api/setup");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ setupRequired: true, tokenRequired: false });
  });

  it("creates the first system admin and business, signs the caller in, then closes", async () => {
    const res = await post(setupBody("Admin@Example.com"));
    expect(res.status).toBe(201);
    const body = (await res.json()) as {
      user: { email: string; role: string; businessId: number | null };
      business: { id: number; name: string; timezone: string; locale: string };
    };
    expect(body.user).toMatchObject({ email: "admin@example.com", role: "system_admin", businessId: null });
    expect(body.business).toMatchObject({ name: "Acme Clinic", timezone: "Asia/Jerusalem", locale: "he-IL" });

    const cookie = /prosaas_session=([^;]+)/.exec(res.headers.get("set-cookie") ?? "")?.[1];
    expect(cookie).toBeTruthy();
    const me = await callWithSettings(settings, "/api/me", { headers: { Cookie: `prosaas_session=${cookie}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({
      user: { email: "admin@example.com", role: "system_admin" },
      business: { id: body.business.id, name: "Acme Clinic" },
    });

    const after = await callWithSettings(settings, "/api/setup");
    expect(await after.json()).toEqual({ setupRequired: false, tokenRequired: false });
    const again = await post(setupBody("someone@example.com"));
    expect(again.status).toBe(409);
    expect((await errorOf(again)).code).toBe("already_set_up");
    expect(await userCount()).toBe(1);
  });

  it("of two setups racing, exactly one creates anything", async () => {
    const results = await Promise.all([post(setupBody("one@example.com")), post(setupBody("two@example.com"))]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(await userCount()).toBe(1);
    const { rows } = await db.execute<{ n: number }>(sql`select count(*)::int as n from businesses`);
    expect(rows[0]!.n).toBe(1);
  });

  it("refuses bad input naming the field, and creates nothing", async () => {
    const { businessName: _, ...noBusiness } = setupBody("admin@example.com");
    await expectFieldRefused(await post(noBusiness), "businessName", "missing businessName");
    await expectFieldRefused(await post({ ...setupBody("admin@example.com"), password: "short" }), "password", "short");
    await expectFieldRefused(
      await post({ ...setupBody("admin@example.com"), timezone: "Mars/Base" }),
      "timezone",
      "tz",
    );
    expect(await userCount()).toBe(0);
  });
});

describe("the production setup token", () => {
  const input = {
    email: "ops@example.com",
    passwordHash: "pbkdf2-sha256$100000$c2FsdA$aGFzaA",
    name: "Ops",
    businessName: "Prod Co",
  };

  it("is made once, stored only as a hash, refused when wrong, and used up by the setup", async () => {
    const issued = await issueSetupTokenIfNone(db);
    expect(issued?.token).toMatch(/^[0-9a-f]{48}$/);
    // While it is valid, no second token is made (and printed).
    expect(await issueSetupTokenIfNone(db)).toBeNull();
    const { rows } = await db.execute<{ token_hash: string }>(sql`select token_hash from setup_tokens`);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).not.toContain(issued!.token);

    expect(await runFirstSetup(db, input, { requireToken: true, token: undefined })).toEqual({
      ok: false,
      reason: "invalid_token",
    });
    expect(await runFirstSetup(db, input, { requireToken: true, token: `${issued!.token}x` })).toEqual({
      ok: false,
      reason: "invalid_token",
    });
    expect(await userCount()).toBe(0);

    const done = await runFirstSetup(db, input, { requireToken: true, token: issued!.token });
    expect(done).toMatchObject({ ok: true, user: { email: "ops@example.com", role: "system_admin" } });
    const left = await db.execute(sql`select 1 from setup_tokens`);
    expect(left.rows).toHaveLength(0);
    expect(await runFirstSetup(db, input, { requireToken: true, token: issued!.token })).toEqual({
      ok: false,
      reason: "already_set_up",
    });
  });

  it("expires, and a new one replaces it", async () => {
    const first = await issueSetupTokenIfNone(db);
    await db.execute(sql`update setup_tokens set expires_at = now() - interval '1 second'`);
    expect(await runFirstSetup(db, input, { requireToken: true, token: first!.token })).toMatchObject({
      ok: false,
      reason: "invalid_token",
    });
    const second = await issueSetupTokenIfNone(db);
    expect(second?.token).toBeTruthy();
    expect(second!.token).not.toBe(first!.token);
    expect(await runFirstSetup(db, input, { requireToken: true, token: second!.token })).toMatchObject({ ok: true });
  });
});
