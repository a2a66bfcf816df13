/**
 * The /metrics text: every collector named here (no registration by import side effect), run
 * before each scrape to refresh its gauges from their source of truth, then the one registry.
 */
import { log } from "../lib/log";
import { collectCallMetrics } from "./calls";
import { collectCampaignMetrics } from "./campaigns";
import { registry, type ScrapeCollector } from "./registry";

const collectors: readonly ScrapeCollector[] = [collectCallMetrics, collectCampaignMetrics];

let labelled = false;

export async function renderMetrics(env: import("../env").Env): Promise<string> {
  if (!labelled) {
    // Random values are not allowed at global scope in Workers, so the isolate id is set here.
    registry.setDefaultLabels({ isolate: crypto.randomUUID().slice(0, 8) });
    labelled = true;
  }
  const results = await Promise.allSettled(collectors.map((collect) => collect({ env })));
  for (const r of results) {
    if (r.status === "rejected") log.warn("metrics collector failed", { error: String(r.reason) });
  }
  return registry.metrics();
}
