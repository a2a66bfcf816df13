/**
 * Prometheus metrics for one shard. A registry per shard instance (not prom-client's global one)
 * so several shards can live in one process in tests and benchmarks.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { connectionStates } from "../../contracts/shard-events.js";

export interface MetricsSources {
  sessionsByState(): Record<string, number>;
  sessionsByWatchdogState(): Record<string, number>;
  outboxPending(): number;
  outboxDead(): number;
}

export class ShardMetrics {
  readonly registry = new Registry();
  readonly eventsAppended = new Counter({
    name: "shard_outbox_events_appended_total",
    help: "Events written to the outbox",
    registers: [this.registry],
  });
  readonly eventsDelivered = new Counter({
    name: "shard_outbox_events_delivered_total",
    help: "Events the edge acknowledged (2xx)",
    registers: [this.registry],
  });
  readonly deliveries = new Counter({
    name: "shard_outbox_deliveries_total",
    help: "Delivery requests to the edge, by result",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly eventsParked = new Counter({
    name: "shard_outbox_events_parked_total",
    help: "Events moved to the dead lane after the edge refused them repeatedly",
    registers: [this.registry],
  });
  readonly deliverySeconds = new Histogram({
    name: "shard_outbox_delivery_seconds",
    help: "Time for a successful delivery request",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly messagesSent = new Counter({
    name: "shard_messages_sent_total",
    help: "Outbound sends, by result",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  readonly watchdogProbes = new Counter({
    name: "shard_watchdog_probes_total",
    help: "Pings the session watchdog sent to silent open sessions, by result (answered, unanswered)",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly watchdogReconnects = new Counter({
    name: "shard_watchdog_reconnects_total",
    help: "Sessions the watchdog found dead (open, silent, ping unanswered) and reconnected",
    registers: [this.registry],
  });
  readonly mediaDownloads = new Counter({
    name: "shard_media_downloads_total",
    help: "Media downloads from WhatsApp for the edge, by result (ok, expired, too_large, failed)",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly mediaBytes = new Counter({
    name: "shard_media_bytes_total",
    help: "Media bytes moved between WhatsApp and the edge, by direction (in, out)",
    labelNames: ["direction"] as const,
    registers: [this.registry],
  });

  constructor(shardId: number, sources: MetricsSources) {
    this.registry.setDefaultLabels({ shard: String(shardId) });
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: "shard_sessions",
      help: "Sessions held by this shard, by state",
      labelNames: ["state"] as const,
      registers: [this.registry],
      collect() {
        const counts = sources.sessionsByState();
        for (const state of connectionStates) this.set({ state }, counts[state] ?? 0);
      },
    });
    new Gauge({
      name: "shard_watchdog_sessions",
      help: "Live sessions by watchdog state (ok, probing, reconnecting)",
      labelNames: ["state"] as const,
      registers: [this.registry],
      collect() {
        const counts = sources.sessionsByWatchdogState();
        for (const state of ["ok", "probing", "reconnecting"]) this.set({ state }, counts[state] ?? 0);
      },
    });
    new Gauge({
      name: "shard_outbox_pending_events",
      help: "Events waiting in the outbox for the edge",
      registers: [this.registry],
      collect() {
        this.set(sources.outboxPending());
      },
    });
    new Gauge({
      name: "shard_outbox_dead_events",
      help: "Events parked in the dead lane (outbox_dead), waiting for an operator",
      registers: [this.registry],
      collect() {
        this.set(sources.outboxDead());
      },
    });
  }
}
