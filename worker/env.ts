/**
 * The Worker's bindings. Settings (strings from wrangler.toml [vars] and secrets) are not read
 * from here: they go through ./config.ts.
 */
import type { DurableObjectBindings } from "../durable-objects/bindings";
import type { CallCapacityDO } from "../durable-objects/call-capacity-do";
import type { LiveHubDO } from "../durable-objects/live-hub-do";
import type { RateLimiterDO } from "../durable-objects/rate-limiter-do";
import type { BusinessSettingsView } from "./services/settings";

/**
 * The Durable Objects are typed by their logic classes (durable-objects/); the Worker's subclasses
 * in ./durable-objects.ts only add the host, so the RPC surface is the same.
 */
export interface Bindings extends DurableObjectBindings<BusinessSettingsView> {
  CALL_CAPACITY_DO: DurableObjectNamespace<CallCapacityDO>;
  RATE_LIMITER_DO: DurableObjectNamespace<RateLimiterDO>;
  LIVE_HUB_DO: DurableObjectNamespace<LiveHubDO>;
  /** The dashboard's built files (wrangler.toml [assets]); the SPA itself is served before the Worker runs. */
  ASSETS?: Fetcher;
  /** WhatsApp media: inbound downloads and outbound attachments (worker/whatsapp/media.ts). */
  MEDIA: R2Bucket;
  QUEUE_HIGH: Queue;
  QUEUE_DEFAULT: Queue;
  QUEUE_LOW: Queue;
  QUEUE_MEDIA: Queue;
  DLQ_HIGH: Queue;
  DLQ_DEFAULT: Queue;
  DLQ_LOW: Queue;
  DLQ_MEDIA: Queue;
}

/** Bindings plus the raw settings, which only config.ts interprets. */
export type Env = Bindings & { readonly [setting: string]: unknown };
