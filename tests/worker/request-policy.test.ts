/**
 * The door every request passes (worker/middleware/request-policy.ts): cross-site writes, content
 * types and body limits, tried on EVERY route the app registers (enumerated, never hand-listed),
 * so a route added tomorrow is covered by the same tests.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { policyFor, routePolicies } from "../../worker/middleware/request-policy";
import { type Client, createSystemAdmin, createTenant, type Tenant } from "./fixtures";
import { BASE, call, errorOf, testDb } from "./helpers";

const { db, close } = testDb();
let tenant: Tenant;
let sysAdmin: Client;
beforeAll(async () => {
  tenant = await createTenant(db, "Request policy business");
  sysAdmin = await createSystemAdmin(db, tenant.businessId);
});
afterAll(close);

const DASHBOARD = "http://localhost:5173";
const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Every route the app answers, as `METHOD /pattern`, from the app's own registry. */
const routes = [...new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`))].map(
  (key) => {
    const [method, path] = key.split(" ") as [string, string];
    return { key, method, path, policy: policyFor(method, key) };
  },
);
const writes = routes.filter((r) => STATE_CHANGING.has(r.method));
const browserWrites = writes.filter((r) => r.policy.caller === "browser");

/** A concrete URL for a pattern: ids and keys that exist or not do not matter at the door. */
function urlOf(path: string): string {
  return path.replace(/:id\b/g, "1").replace(/:key\b/g, "bulk_calls");
}

function send(method: string, path: string, init: { headers?: Record<string, string>; body?: BodyInit }) {
  return call(urlOf(path), { method, ...init });
}

describe("the route registry the tests enumerate", () => {
  it("holds every resource's routes (a broken enumeration would make the tests below vacuous)", () => {
    expect(routes.length).toBeGreaterThan(60);
    expect(browserWrites.map((r) => r.key)).toEqual(
      expect.arrayContaining([
        "POST /api/whatsapp/logout",
        "POST /api/whatsapp/sends/resume",
        "POST /api/campaigns/:id/pause",
        "POST /api/broadcasts/:id/cancel",
        "DELETE /api/leads/:id",
      ]),
    );
    // Every exception in the policy table names a route that exists.
    const known = new Set(routes.map((r) => r.key));
    expect(Object.keys(routePolicies).filter((k) => !known.has(k))).toEqual([]);
  });
});

describe("cross-site writes are refused on every state-changing route", () => {
  it("a <form enctype=text/plain> post (same origin, signed in) is 415 and reaches no handler", async () => {
    const outcomes: Record<string, string> = {};
    for (const r of writes) {
      const res = await send(r.method, r.path, {
        headers: { Cookie: sysAdmin.cookie, "Content-Type": "text/plain", Origin: BASE },
        body: "x=y",
      });
      const error = await errorOf(res);
      outcomes[r.key] = `${res.status} ${error.code}`;
    }
    expect(outcomes).toEqual(Object.fromEntries(writes.map((r) => [r.key, "415 unsupported_media_type"])));
  });

  it("a body-less no-cors POST (no Content-Type at all) is 415 on every POST route", async () => {
    const posts = writes.filter((r) => r.method === "POST");
    const outcomes: Record<string, number> = {};
    for (const r of posts) {
      outcomes[r.key] = (await send(r.method, r.path, { headers: { Cookie: sysAdmin.cookie, Origin: BASE } })).status;
    }
    expect(outcomes).toEqual(Object.fromEntries(posts.map((r) => [r.key, 415])));
  });

  it("a JSON write from a foreign Origin, or from a same-site page (Sec-Fetch-Site), is 403", async () => {
    const outcomes: Record<string, string> = {};
    for (const r of browserWrites) {
      const type = r.policy.contentTypes[0]!;
      const foreign = await send(r.method, r.path, {
        headers: { Cookie: sysAdmin.cookie, "Content-Type": type, Origin: "https://evil.example" },
        body: type === "text/csv" ? "first_name\nx\n" : "{}",
      });
      const nullOrigin = await send(r.method, r.path, {
        headers: { Cookie: sysAdmin.cookie, "Content-Type": type, Origin: "null" },
        body: type === "text/csv" ? "first_name\nx\n" : "{}",
      });
      const sibling = await send(r.method, r.path, {
        headers: { Cookie: sysAdmin.cookie, "Content-Type": type, "Sec-Fetch-Site": "same-site" },
        body: type === "text/csv" ? "first_name\nx\n" : "{}",
      });
      outcomes[r.key] =
        `${foreign.status} ${(await errorOf(foreign)).code} / ${nullOrigin.status} / ${sibling.status} ${(await errorOf(sibling)).code}`;
    }
    expect(outcomes).toEqual(
      Object.fromEntries(browserWrites.map((r) => [r.key, "403 forbidden / 403 / 403 forbidden"])),
    );
  });

  it("WhatsApp logout from a foreign page leaves the session signed in and the business untouched", async () => {
    const before = await (await tenant.admin.request("GET", "/api/whatsapp/status")).json();
    const attack = await call("/api/whatsapp/logout", {
      method: "POST",
      headers: { Cookie: tenant.admin.cookie, "Content-Type": "text/plain", Origin: "https://evil.example" },
      body: "",
    });
    expect(attack.status).toBe(403);
    expect(await (await tenant.admin.request("GET", "/api/whatsapp/status")).json()).toEqual(before);
  });

  it("the dashboard's origin, the Worker's own, and a non-browser client (no Origin, no Sec-Fetch-Site) pass", async () => {
    const passing: Record<string, string>[] = [
      { Origin: DASHBOARD },
      { Origin: BASE },
      { "Sec-Fetch-Site": "same-origin" },
      {},
    ];
    for (const headers of passing) {
      const res = await tenant.agent.request("POST", "/api/leads", { firstName: "Door" }, headers);
      expect(res.status, JSON.stringify(headers)).toBe(201);
    }
  });

  it("machine routes (Twilio, shards) are judged by their signature, not an Origin", async () => {
    for (const r of writes.filter((w) => w.policy.caller === "signed")) {
      const res = await send(r.method, r.path, {
        headers: { "Content-Type": r.policy.contentTypes[0]!, Origin: "https://evil.example" },
        body: r.policy.contentTypes[0] === "application/json" ? "{}" : "a=b",
      });
      const error = await errorOf(res);
      expect(error.code, r.key).not.toBe("forbidden");
      expect(res.status, r.key).toBeLessThan(500);
    }
  });
});

describe("body limits", () => {
  it("every route refuses a body one byte over its limit with 413 in the one error shape", async () => {
    const outcomes: Record<string, string> = {};
    const limited = routes.filter((r) => r.method !== "GET" && r.method !== "HEAD");
    for (const r of limited) {
      const type = r.policy.contentTypes[0]!;
      // Past 5 MB (a WhatsApp attachment, up to 100 MB) the body says its length, as a browser's
      // upload does, and only its first bytes exist: the limit must refuse it before reading.
      const big = r.policy.maxBodyBytes > 5 * 1024 * 1024;
      const res = await send(r.method, r.path, {
        headers: {
          Cookie: sysAdmin.cookie,
          "Content-Type": type,
          Origin: BASE,
          ...(big ? { "Content-Length": String(r.policy.maxBodyBytes + 1) } : {}),
        },
        body: big
          ? new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(1024)) })
          : " ".repeat(r.policy.maxBodyBytes + 1),
      });
      const error = await errorOf(res);
      outcomes[r.key] = `${res.status} ${error.code}`;
    }
    expect(outcomes).toEqual(Object.fromEntries(limited.map((r) => [r.key, "413 payload_too_large"])));
  });

  it("every route is sized: nothing but a WhatsApp attachment takes more than the CSV import's 5 MB, body-less routes take 1 KB", () => {
    const attachment = "POST /api/whatsapp/conversations/:id/media";
    for (const r of routes.filter((r) => r.key !== attachment))
      expect(r.policy.maxBodyBytes, r.key).toBeLessThanOrEqual(5 * 1024 * 1024);
    // WhatsApp's own largest limit (documents), and no more.
    expect(policyFor("POST", attachment).maxBodyBytes).toBe(100 * 1024 * 1024);
    expect(policyFor("POST", "POST /api/whatsapp/logout").maxBodyBytes).toBe(1024);
    expect(policyFor("GET", "GET /api/leads").maxBodyBytes).toBe(1024);
  });

  it("an unauthenticated 30 MB login body streamed without Content-Length is refused while reading", async () => {
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    const totalChunks = (30 * 1024 * 1024) / chunk.byteLength;
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled === totalChunks) return controller.close();
        pulled++;
        controller.enqueue(chunk);
      },
    });
    const res = await call("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", "CF-Connecting-IP": "203.0.113.250" },
      body,
    });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe("payload_too_large");
    // The 4 KB limit was hit in the first chunk: the other ~30 MB were never pulled.
    expect(pulled).toBeLessThan(totalChunks / 10);
  });

  it("a 30 MB login body with an honest Content-Length is refused before reading", async () => {
    const res = await call("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", "CF-Connecting-IP": "203.0.113.251" },
      body: new Uint8Array(30 * 1024 * 1024),
    });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe("payload_too_large");
  });
});
