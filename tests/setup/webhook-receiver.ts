/**
 * A customer's webhook endpoint, on loopback, for the webhook tests (the Worker under test runs in
 * workerd and reaches it with plain fetch). Each test uses its own "sink" (a path). A sink
 * verifies every request with the Standard Webhooks reference implementation (`standardwebhooks`)
 * against the secrets the test gave it, answers 401 when none verifies (as a real receiver
 * would), and otherwise answers as scripted: 500 for the first N requests, a fixed status, a
 * redirect, a delay. It records every request, and counts 2xx answers per webhook-id.
 *
 * Control API (JSON): PUT /_control/sinks/{sink} { secrets?, failFirst?, status?, delayMs?,
 * location? } · GET /_control/sinks/{sink} → { requests: [...] }.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { Webhook } from "standardwebhooks";
import { freePort } from "../../scripts/lib/embedded-postgres";

export interface ReceivedRequest {
  webhookId: string | null;
  timestamp: string | null;
  signature: string | null;
  body: string;
  /** Which of the sink's secrets verified it (index), or null. */
  verifiedWith: number | null;
  answered: number;
  receivedAt: number;
  userAgent: string | null;
}

interface Sink {
  secrets: string[];
  failFirst: number;
  status: number;
  delayMs: number;
  location: string | null;
  requests: ReceivedRequest[];
  seen: number;
}

export interface WebhookReceiverPlan {
  port: number;
  url: string;
}

const PLAN_VARIABLE = "PROSAAS_TEST_WEBHOOK_RECEIVER_PLAN";

export async function webhookReceiverPlan(): Promise<WebhookReceiverPlan> {
  const existing = process.env[PLAN_VARIABLE];
  if (existing) return JSON.parse(existing) as WebhookReceiverPlan;
  const port = await freePort();
  const plan = { port, url: `http://127.0.0.1:${port}` };
  process.env[PLAN_VARIABLE] = JSON.stringify(plan);
  return plan;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function header(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  return typeof v === "string" ? v : null;
}

export interface WebhookReceiver {
  close(): Promise<void>;
}

export async function startWebhookReceiver(port: number): Promise<WebhookReceiver> {
  const sinks = new Map<string, Sink>();
  const sinkOf = (name: string): Sink => {
    let sink = sinks.get(name);
    if (!sink) {
      sink = { secrets: [], failFirst: 0, status: 200, delayMs: 0, location: null, requests: [], seen: 0 };
      sinks.set(name, sink);
    }
    return sink;
  };

  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const json = (status: number, value: unknown) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
    const url = new URL(req.url ?? "/", "http://receiver");
    const control = /^\/_control\/sinks\/([\w-]+)$/.exec(url.pathname);
    if (control) {
      const sink = sinkOf(control[1]!);
      if (req.method === "PUT") {
        const patch = JSON.parse(body || "{}") as Partial<Sink>;
        Object.assign(sink, patch);
        return json(200, { ok: true });
      }
      return json(200, { requests: sink.requests });
    }
    const hook = /^\/hooks\/([\w-]+)$/.exec(url.pathname);
    if (!hook || req.method !== "POST") return json(404, { error: "no such sink" });
    const sink = sinkOf(hook[1]!);
    const headers = {
      "webhook-id": header(req, "webhook-id") ?? "",
      "webhook-timestamp": header(req, "webhook-timestamp") ?? "",
      "webhook-signature": header(req, "webhook-signature") ?? "",
    };
    let verifiedWith: number | null = null;
    sink.secrets.forEach((secret, i) => {
      if (verifiedWith !== null) return;
      try {
        new Webhook(secret).verify(body, headers);
        verifiedWith = i;
      } catch {
        // not this secret
      }
    });
    sink.seen++;
    let status = sink.status;
    if (verifiedWith === null) status = 401;
    else if (sink.seen <= sink.failFirst) status = 500;
    const record: ReceivedRequest = {
      webhookId: headers["webhook-id"] || null,
      timestamp: headers["webhook-timestamp"] || null,
      signature: headers["webhook-signature"] || null,
      body,
      verifiedWith,
      answered: status,
      receivedAt: Date.now(),
      userAgent: header(req, "user-agent"),
    };
    sink.requests.push(record);
    if (sink.delayMs > 0) await new Promise((r) => setTimeout(r, sink.delayMs));
    const extra: Record<string, string> =
      sink.location && status >= 300 && status < 400 ? { location: sink.location } : {};
    res.writeHead(status, { "content-type": "text/plain", ...extra }).end(`answer ${status} from ${hook[1]}`);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
