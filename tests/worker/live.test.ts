/**
 * Live updates: GET /api/live hands a signed-in tab's WebSocket to its business's LiveHubDO.
 * Guards: no session → no socket; another site's page → no socket; one business never hears
 * another's changes; a tab that reconnects with its cursor gets exactly what it missed.
 */
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LiveFrame } from "../../worker/live/events";
import { publishLive } from "../../worker/live/publish";
import { type Client, createTenant } from "./fixtures";
import { BASE, call, errorOf, testDb } from "./helpers";

const handle = testDb();
let a: { businessId: number; owner: Client; agent: Client };
let b: { businessId: number; owner: Client };

beforeAll(async () => {
  a = await createTenant(handle.db, "Live A");
  b = await createTenant(handle.db, "Live B");
});
afterAll(() => handle.close());

/** Opens the live socket as `client` and collects its frames. */
async function open(client: Client, since?: number) {
  const res = await call(`/api/live${since === undefined ? "" : `?since=${since}`}`, {
    headers: { Cookie: client.cookie, Upgrade: "websocket", Origin: BASE },
  });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const frames: LiveFrame[] = [];
  ws.addEventListener("message", (e) => frames.push(JSON.parse(String(e.data)) as LiveFrame));
  ws.accept();
  const next = async (predicate: (f: LiveFrame) => boolean) => {
    await expect.poll(() => frames.some(predicate), { timeout: 5000 }).toBe(true);
    return frames.find(predicate)!;
  };
  return { ws, frames, next };
}

describe("GET /api/live", () => {
  it("refuses a request without a session, and a socket opened from another site's page", async () => {
    const anonymous = await call("/api/live", { headers: { Upgrade: "websocket", Origin: BASE } });
    expect(anonymous.status).toBe(401);
    const foreign = await call("/api/live", {
      headers: { Cookie: a.owner.cookie, Upgrade: "websocket", Origin: "https://evil.example" },
    });
    expect(foreign.status).toBe(403);
    expect((await errorOf(foreign)).code).toBe("forbidden");
    const plain = await call("/api/live", { headers: { Cookie: a.owner.cookie, Origin: BASE } });
    expect(plain.status).toBe(426);
  });

  it("delivers a business's changes to its own tabs (any role) and never to another business", async () => {
    const owner = await open(a.owner);
    const agent = await open(a.agent);
    const other = await open(b.owner);
    await owner.next((f) => f.type === "hello");
    await other.next((f) => f.type === "hello");

    await publishLive(env, a.businessId, { type: "inbox", chatJids: ["972501234567@s.whatsapp.net"] });
    const got = await owner.next((f) => f.type === "inbox");
    expect(got).toMatchObject({ type: "inbox", chatJids: ["972501234567@s.whatsapp.net"] });
    expect((got as { cursor: number }).cursor).toBeGreaterThan(0);
    await agent.next((f) => f.type === "inbox");

    // B published something after A's change: B's tab sees only B's.
    await publishLive(env, b.businessId, { type: "whatsapp", state: "qr" });
    await other.next((f) => f.type === "whatsapp");
    expect(other.frames.some((f) => f.type === "inbox")).toBe(false);
    for (const s of [owner, agent, other]) s.ws.close(1000);
  });

  it("a tab that reconnects with its cursor gets what it missed, in order", async () => {
    const first = await open(a.owner);
    const hello = (await first.next((f) => f.type === "hello")) as { cursor: number };
    first.ws.close(1000);

    await publishLive(env, a.businessId, { type: "outbound", outboundId: 1, status: "sent" });
    await publishLive(env, a.businessId, { type: "whatsapp", state: "open" });

    const again = await open(a.owner, hello.cursor);
    await again.next((f) => f.type === "whatsapp");
    const missed = again.frames.filter((f) => f.type !== "hello");
    expect(missed.map((f) => f.type)).toEqual(["outbound", "whatsapp"]);
    const cursors = missed.map((f) => (f as { cursor: number }).cursor);
    expect(cursors[0]).toBe(hello.cursor + 1);
    expect(cursors[1]).toBe(hello.cursor + 2);
    again.ws.close(1000);
  });
});
