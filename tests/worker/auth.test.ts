import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessions } from "../../worker/db/schema";
import { createTenant, createUser, PASSWORD, signIn, type Tenant } from "./fixtures";
import { call, errorOf, testDb } from "./helpers";

const { db, close } = testDb();
let tenant: Tenant;
beforeAll(async () => {
  tenant = await createTenant(db, "Auth test business");
});
afterAll(close);

function login(email: string, password: string, ip = "203.0.113.9") {
  return call("/api/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json", "CF-Connecting-IP": ip },
    body: JSON.stringify({ email, password }),
  });
}

describe("sign-in", () => {
  it("sets an HttpOnly, Secure, SameSite=Lax session cookie and /api/me answers with the business context", async () => {
    const res = await login(tenant.agent.email.toUpperCase(), PASSWORD, "203.0.113.1");
    expect(res.status).toBe(200);
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^prosaas_session=[A-Za-z0-9_-]{40,};/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("Secure");
    expect(cookie).toContain("SameSite=Lax");
    const me = await call("/api/me", { headers: { Cookie: cookie.split(";")[0]! } });
    expect(me.status).toBe(200);
    const body = (await me.json()) as {
      user: { role: string };
      business: { id: number; timezone: string };
      permissions: string[];
    };
    expect(body.user.role).toBe("agent");
    expect(body.business).toMatchObject({ id: tenant.businessId, timezone: "Asia/Jerusalem" });
    expect(body.permissions).toContain("leads.write");
    expect(body.permissions).not.toContain("users.manage");
  });

  it("answers a wrong password and an unknown email the same way", async () => {
    const wrong = await login(tenant.owner.email, "not the password", "203.0.113.2");
    const unknown = await login("nobody@example.test", "whatever-password", "203.0.113.2");
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(await errorOf(wrong)).toEqual(await errorOf(unknown));
    expect(wrong.headers.get("set-cookie")).toBeNull();
  });

  it("locks an email out from a client after 5 attempts (429 + Retry-After, even with the right password), not the real user elsewhere", async () => {
    const email = tenant.admin.email;
    for (let i = 0; i < 5; i++) expect((await login(email, "wrong-password-x", "203.0.113.20")).status).toBe(401);
    const locked = await login(email, PASSWORD, "203.0.113.20");
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await errorOf(locked)).code).toBe("rate_limited");
    // The stranger's guesses do not lock the real user out from their own network.
    expect((await login(email, PASSWORD, "198.18.0.7")).status).toBe(200);
  });

  it("stops a guessing run spread over many clients at the per-email limit", async () => {
    const email = await createUser(db, tenant.businessId, "agent", "guessed");
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) statuses.push((await login(email, "wrong-password-y", `192.0.2.${i + 1}`)).status);
    expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
    expect(statuses[30]).toBe(429);
  });

  it("keys IPv6 clients by their /64", async () => {
    for (let i = 0; i < 5; i++) await login(tenant.owner.email, "wrong-password-z", `2001:db8:1:2::${i + 1}`);
    expect((await login(tenant.owner.email, PASSWORD, "2001:db8:1:2:ffff::9")).status).toBe(429);
  });

  it("limits attempts per client IP across emails", async () => {
    // 20 at once, then one per 15 s: however slow this machine, 25 attempts meet a 429 within
    // 75 s (the refill may hand out a token or two while they run; it cannot hand out five).
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++)
      statuses.push((await login(`spray-${i}@example.test`, "password-guess", "203.0.113.77")).status);
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses).toContain(429);
  });

  it("refuses bad input naming the field", async () => {
    const res = await call("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "not-an-email", password: "" }),
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toMatch(/email.*password|password.*email/);
  });
});

describe("sessions", () => {
  it("an API call without a session is 401", async () => {
    const res = await call("/api/leads");
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toBe("unauthorized");
  });

  it("an expired session no longer works", async () => {
    const client = await signIn(tenant.agent.email);
    expect((await client.request("GET", "/api/me")).status).toBe(200);
    const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(client.cookie.split("=")[1]!));
    const tokenHash = btoa(String.fromCharCode(...new Uint8Array(hash)))
      .replaceAll("+", "-")
      .replaceAll("/", "_")
      .replace(/=+$/, "");
    await db
      .update(sessions)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(sessions.tokenHash, tokenHash));
    expect((await client.request("GET", "/api/me")).status).toBe(401);
  });

  it("sign-out revokes the session", async () => {
    const client = await signIn(tenant.agent.email);
    expect((await client.request("POST", "/api/auth/logout")).status).toBe(204);
    expect((await client.request("GET", "/api/me")).status).toBe(401);
  });

  it("a password change keeps this session, revokes the others, and the new password works", async () => {
    const here = await signIn(tenant.owner.email);
    const elsewhere = await signIn(tenant.owner.email);
    const wrong = await here.request("POST", "/api/auth/password", {
      currentPassword: "nope-nope-nope",
      newPassword: "a brand new password",
    });
    expect(wrong.status).toBe(401);
    const short = await here.request("POST", "/api/auth/password", { currentPassword: PASSWORD, newPassword: "short" });
    expect(short.status).toBe(400);
    expect((await errorOf(short)).message).toContain("newPassword");

    const res = await here.request("POST", "/api/auth/password", {
      currentPassword: PASSWORD,
      newPassword: "a brand new password",
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { revokedSessions: number }).revokedSessions).toBeGreaterThanOrEqual(1);
    expect((await here.request("GET", "/api/me")).status).toBe(200);
    expect((await elsewhere.request("GET", "/api/me")).status).toBe(401);
    await expect(signIn(tenant.owner.email, "a brand new password")).resolves.toBeTruthy();
    await expect(signIn(tenant.owner.email, PASSWORD)).rejects.toThrow(/401/);
  });
});
