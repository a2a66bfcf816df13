/**
 * Lets the test shard nodes reach the Worker under test, which runs inside workerd without an HTTP
 * port. The shards' EDGE_EVENTS_URL points here. A delivery for a business a test has attached is
 * held until that test pulls it (`/_relay/next`), passes the shard's request — body and signature
 * headers, untouched — to the Worker, and hands back the Worker's answer (`/_relay/reply`), which
 * the shard then receives as its HTTP response. Deliveries for businesses nobody attached are
 * answered 503 at once: those shards keep their events and retry, as with an edge that is down.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

interface Held {
  id: number;
  headers: Record<string, string>;
  body: string;
  answer(status: number, body: string): void;
}

const FORWARDED_HEADERS = ["content-type", "x-shard-id", "x-shard-timestamp", "x-shard-signature"];
/** A held delivery nobody pulled in this long is answered 503 (the shard retries it). */
const HOLD_MS = 20_000;

export interface EdgeRelay {
  url: string;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function businessOf(body: string): number | null {
  try {
    const id = (JSON.parse(body) as { events?: { businessId?: unknown }[] }).events?.[0]?.businessId;
    return typeof id === "number" ? id : null;
  } catch {
    return null;
  }
}

export async function startEdgeRelay(port: number): Promise<EdgeRelay> {
  const attached = new Map<number, { queue: Held[]; waiters: ((h: Held | null) => void)[] }>();
  const inFlight = new Map<number, Held>();
  let nextId = 1;

  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const json = (status: number, value: unknown) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));

    if (req.url === "/internal/shards/events") {
      const businessId = businessOf(body);
      const lane = businessId === null ? undefined : attached.get(businessId);
      if (!lane) return json(503, { error: { code: "service_unavailable", message: "no test attached" } });
      const headers: Record<string, string> = {};
      for (const name of FORWARDED_HEADERS) {
        const value = req.headers[name];
        if (typeof value === "string") headers[name] = value;
      }
      let done = false;
      const held: Held = {
        id: nextId++,
        headers,
        body,
        answer(status, text) {
          if (done) return;
          done = true;
          inFlight.delete(held.id);
          res.writeHead(status, { "content-type": "application/json" }).end(text);
        },
      };
      setTimeout(
        () => held.answer(503, '{"error":{"code":"service_unavailable","message":"not pulled"}}'),
        HOLD_MS,
      ).unref();
      const waiter = lane.waiters.shift();
      if (waiter) waiter(held);
      else lane.queue.push(held);
      return;
    }

    const input = body ? (JSON.parse(body) as Record<string, unknown>) : {};
    const businessId = Number(input.businessId);
    if (req.url === "/_relay/attach") {
      if (!attached.has(businessId)) attached.set(businessId, { queue: [], waiters: [] });
      return json(200, { attached: businessId });
    }
    if (req.url === "/_relay/detach") {
      const lane = attached.get(businessId);
      attached.delete(businessId);
      for (const held of lane?.queue ?? []) held.answer(503, "{}");
      for (const waiter of lane?.waiters ?? []) waiter(null);
      return json(200, { detached: businessId });
    }
    if (req.url === "/_relay/next") {
      const lane = attached.get(businessId);
      if (!lane) return json(404, { error: "not attached" });
      const queued = lane.queue.shift();
      const held =
        queued ??
        (await new Promise<Held | null>((resolve) => {
          const waiter = (h: Held | null) => resolve(h);
          lane.waiters.push(waiter);
          setTimeout(
            () => {
              const i = lane.waiters.indexOf(waiter);
              if (i >= 0) lane.waiters.splice(i, 1);
              resolve(null);
            },
            Math.min(Number(input.waitMs) || 1000, 10_000),
          ).unref();
        }));
      if (!held) return json(200, { delivery: null });
      inFlight.set(held.id, held);
      return json(200, { delivery: { id: held.id, headers: held.headers, body: held.body } });
    }
    if (req.url === "/_relay/reply") {
      inFlight.get(Number(input.id))?.answer(Number(input.status), String(input.body ?? ""));
      return json(200, { ok: true });
    }
    json(404, { error: "no such relay route" });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
