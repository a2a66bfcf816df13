/**
 * The Durable Object classes the Worker binds (wrangler.toml [durable_objects]). Their logic lives
 * in durable-objects/; the Worker gives the BusinessDO what it needs from the platform (its
 * BusinessHost): settings and timezone from Postgres, the send queues, and call log writes.
 */
import { eq } from "drizzle-orm";
import type { BusinessHost } from "../durable-objects/business/host";
import { BusinessObject } from "../durable-objects/business-do";
import { recordCallLogUpdate } from "./calls/status-callback";
import { getConfig } from "./config";
import { withDb } from "./db/client";
import { businesses } from "./db/schema";
import type { Env } from "./env";
import { enqueue, enqueueBatch } from "./queues/producer";
import { type BusinessSettingsView, loadSettings } from "./services/settings";

export { CallCapacityDO } from "../durable-objects/call-capacity-do";
export { LiveHubDO } from "../durable-objects/live-hub-do";
export { RateLimiterDO } from "../durable-objects/rate-limiter-do";

/** A business whose row has no timezone yet still gets a sensible clock (the product's home market). */
const DEFAULT_TIMEZONE = "Asia/Jerusalem";

function businessHost(env: Env): BusinessHost<BusinessSettingsView> {
  const config = () => getConfig(env);
  return {
    loadSettings: (businessId) => withDb(config(), (db) => loadSettings(db, businessId)),
    loadTimezone: (businessId) =>
      withDb(config(), async (db) => {
        const [row] = await db
          .select({ timezone: businesses.timezone })
          .from(businesses)
          .where(eq(businesses.id, businessId));
        return row?.timezone ?? DEFAULT_TIMEZONE;
      }),
    async enqueueSends(urgent, normal) {
      // A reply (and what goes before it to that customer) takes the high queue, which delivers at
      // once; the rest the default queue.
      await enqueueBatch(
        env,
        "whatsapp.send_urgent",
        urgent.map((outboundId) => ({ type: "whatsapp.send_urgent" as const, outboundId })),
      );
      await enqueueBatch(
        env,
        "whatsapp.send",
        normal.map((outboundId) => ({ type: "whatsapp.send" as const, outboundId })),
      );
    },
    applyCallLogUpdate: (update) =>
      withDb(config(), async (db) => {
        await recordCallLogUpdate(db, env, config(), update);
      }),
    // Applied by the queue's consumer, outside the object (see call-log-outbox.ts for why).
    sendCallLogWrites: (businessId, handOff) =>
      enqueue(env, { type: "calls.log_writes", businessId, ids: handOff.ids, writes: handOff.writes }),
  };
}

/** One object per business (see durable-objects/business-do.ts), with the Worker as its host. */
export class BusinessDO extends BusinessObject<BusinessSettingsView> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, businessHost(env));
  }
}
