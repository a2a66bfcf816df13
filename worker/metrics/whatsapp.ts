import { Counter } from "./prom";
import { registry } from "./registry";

export const shardEventMetrics = {
  stored: new Counter({
    name: "prosaas_shard_events_stored_total",
    help: "Shard events stored.",
    registers: [registry],
  }),
  duplicates: new Counter({
    name: "prosaas_shard_events_duplicate_total",
    help: "Shard events received again and acknowledged without storing.",
    registers: [registry],
  }),
  quarantined: new Counter({
    name: "prosaas_shard_events_quarantined_total",
    help: "Shard events kept in shard_event_quarantine instead of being applied, by reason.",
    labelNames: ["reason"] as const,
    registers: [registry],
  }),
  rejected: new Counter({
    name: "prosaas_shard_events_rejected_total",
    help: "Shard event deliveries refused, by reason (unknown shard, signature, staleness, not a delivery).",
    labelNames: ["reason"] as const,
    registers: [registry],
  }),
};
