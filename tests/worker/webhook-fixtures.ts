/**
 * The webhook receiver of the tests (tests/setup/webhook-receiver.ts), one sink per test, and
 * shorthands for API keys and subscriptions made through the real API.
 */
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import type { ReceivedRequest } from "../setup/webhook-receiver";
import type { Client } from "./fixtures";
import { call as fetchWorker } from "./helpers";

export interface Sink {
  url: string;
  configure(patch: {
    secrets?: string[];
    failFirst?: number;
    status?: number;
    delayMs?: number;
    location?: string | null;
  }): Promise<void>;
  requests(): Promise<ReceivedRequest[]>;
  /** Requests the receiver verified and answered 2xx, by webhook-id (what a deduping receiver keeps). */
  accepted(): Promise<ReceivedRequest[]>;
}

export function sink(label: string): Sink {
  const name = `${label}-${crypto.randomUUID().slice(0, 8)}`;
  const base = env.TEST_WEBHOOK_RECEIVER_URL;
  const control = `${base}/_control/sinks/${name}`;
  const requests = async () => ((await (await fetch(control)).json()) as { requests: ReceivedRequest[] }).requests;
  return {
    url: `${base}/hooks/${name}`,
    async configure(patch) {
      const res = await fetch(control, { method: "PUT", body: JSON.stringify(patch) });
      expect(res.status).toBe(200);
    },
    requests,
    accepted: async () => (await requests()).filter((r) => r.verifiedWith !== null && r.answered < 300),
  };
}

export async function createApiKey(
  client: Client,
  scopes: string[],
  extra: Record<string, unknown> = {},
): Promise<{ id: number; secret: string; prefix: string }> {
  const res = await client.request("POST", "/api/api-keys", {
    name: `key ${scopes.length === 1 ? scopes[0] : `${scopes.length} scopes`}`,
    scopes,
    ...extra,
  });
  expect(res.status, await res.clone().text()).toBe(201);
  const body = (await res.json()) as { apiKey: { id: number; prefix: string }; secret: string };
  return { id: body.apiKey.id, prefix: body.apiKey.prefix, secret: body.secret };
}

/** A request with `Authorization: Bearer <key>` (and no cookie), as a customer's system sends it. */
export function withKey(key: string) {
  return (method: string, path: string, body?: unknown): Promise<Response> =>
    fetchWorker(path, {
      method,
      headers: {
        Authorization: `Bearer ${key}`,
        ...(body !== undefined || ["POST", "PATCH", "PUT"].includes(method)
          ? { "Content-Type": "application/json" }
          : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
}

export async function subscribe(
  client: Client,
  target: Sink,
  eventTypes: string[],
): Promise<{ id: number; secret: string }> {
  const res = await client.request("POST", "/api/webhooks", { url: target.url, eventTypes });
  expect(res.status, await res.clone().text()).toBe(201);
  const body = (await res.json()) as { subscription: { id: number }; secret: string };
  await target.configure({ secrets: [body.secret] });
  return { id: body.subscription.id, secret: body.secret };
}

/** Waits until the sink accepted `n` distinct events (or more) and returns them in arrival order. */
export async function waitForAccepted(target: Sink, n: number, timeout = 20_000): Promise<ReceivedRequest[]> {
  return vi.waitFor(
    async () => {
      const accepted = await target.accepted();
      const ids = new Set(accepted.map((r) => r.webhookId));
      if (ids.size < n) throw new Error(`accepted ${ids.size} of ${n}`);
      return accepted;
    },
    { timeout, interval: 50 },
  );
}

export function eventOf(r: ReceivedRequest): { type: string; timestamp: string; data: Record<string, unknown> } {
  return JSON.parse(r.body) as { type: string; timestamp: string; data: Record<string, unknown> };
}
