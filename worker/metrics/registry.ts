/**
 * The one Prometheus registry of the Worker. Later parts register their series here.
 *
 * Counters live in the isolate that served the request: a Worker has many isolates, so request
 * counters are per isolate (the `isolate` label tells them apart). Series that must be global —
 * active calls, jobs by status — are gauges collected at scrape time from their source of truth
 * (Durable Objects, Postgres) by the collectors ./render.ts runs.
 */

import { Counter, Histogram, Registry } from "./prom";

export const registry = new Registry();

export const httpRequests = new Counter({
  name: "prosaas_http_requests_total",
  help: "HTTP requests served by the Worker, by matched route and status.",
  labelNames: ["method", "route", "status"] as const,
  registers: [registry],
});

export const httpDuration = new Histogram({
  name: "prosaas_http_request_duration_seconds",
  help: "Time to produce the response (excluding streaming), by matched route.",
  labelNames: ["method", "route"] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

export const queueMessages = new Counter({
  name: "prosaas_queue_messages_total",
  help: "Queue messages handled, by queue and outcome (ack, retry, dead_letter).",
  labelNames: ["queue", "outcome"] as const,
  registers: [registry],
});

/** A collector refreshes gauges from their source of truth before each scrape (./render.ts lists them). */
export type ScrapeCollector = (ctx: { env: import("../env").Env }) => Promise<void>;
