import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createApp } from "../../worker/app";
import type { AppEnv } from "../../worker/app-env";
import { validate } from "../../worker/lib/validate";
import { BASE, call, errorOf } from "./helpers";

describe("liveness and unknown routes", () => {
  it("GET /health answers ok without touching the database", async () => {
    const res = await call("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("an unknown route is a 404 in the one error shape", async () => {
    const res = await call("/api/does-not-exist");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(await res.json()).toEqual({ error: { code: "not_found", message: "No route for GET /api/does-not-exist" } });
  });

  it("every response carries a request id, echoing a sane incoming one", async () => {
    const fresh = await call("/health");
    expect(fresh.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const echoed = await call("/health", { headers: { "X-Request-Id": "client-req-12345" } });
    expect(echoed.headers.get("x-request-id")).toBe("client-req-12345");
    const refused = await call("/health", { headers: { "X-Request-Id": "<script>" } });
    expect(refused.headers.get("x-request-id")).not.toBe("<script>");
  });

  it("sets security headers", async () => {
    const res = await call("/health");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("strict-transport-security")).toContain("max-age=");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
  });
});

describe("CORS", () => {
  it("allows only the configured dashboard origin, with credentials", async () => {
    const allowed = await call("/api/anything", {
      method: "OPTIONS",
      headers: { Origin: "http://localhost:5173", "Access-Control-Request-Method": "POST" },
    });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(allowed.headers.get("access-control-allow-credentials")).toBe("true");

    const other = await call("/api/anything", {
      method: "OPTIONS",
      headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "POST" },
    });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("error shapes", () => {
  // A throwaway route on the real app (same middleware and error handler) to exercise validation
  // and unexpected failures before the resource routes exist.
  const app: Hono<AppEnv> = createApp();
  app.post(
    "/test/things",
    validate("json", z.object({ name: z.string().min(1), count: z.number().int().positive() }).strict()),
    (c) => c.json({ ok: true, thing: c.req.valid("json") }, 201),
  );
  app.get("/test/boom", () => {
    throw new Error("connection string postgres://secret@db leaked?");
  });

  async function send(path: string, init?: RequestInit): Promise<Response> {
    const ctx = createExecutionContext();
    const res = await app.fetch(new Request(`${BASE}${path}`, init), env, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  }

  it("a zod failure is a 400 naming every bad field", async () => {
    const res = await send("/test/things", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: "", count: -1, extra: true }),
    });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe("validation_failed");
    expect(error.message).toContain("name");
    expect(error.message).toContain("count");
    const fields = (error.details as { fields: { field: string }[] }).fields.map((f) => f.field);
    expect(fields).toEqual(expect.arrayContaining(["name", "count"]));
  });

  it("malformed JSON is a 400 in the same shape", async () => {
    const res = await send("/test/things", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{oops",
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("bad_request");
  });

  it("valid input passes through", async () => {
    const res = await send("/test/things", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: "a", count: 2 }),
    });
    expect(res.status).toBe(201);
  });

  it("an unexpected error is a 500 that leaks nothing", async () => {
    const res = await send("/test/boom");
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain("secret");
    expect(text).not.toContain("postgres://");
    expect(JSON.parse(text).error.code).toBe("internal_error");
  });
});
