/**
 * Publishing a change to a business's open dashboard tabs. Call it AFTER the write committed, from
 * the code that wrote. Live updates are a convenience on top of the API: a failed publish is
 * logged, never fails the write (a tab that missed it refetches on its next reconnect or action).
 */
import type { ShardEvent } from "../../contracts/shard-events";
import { liveHubObjectName } from "../../durable-objects/names";
import type { Env } from "../env";
import { log } from "../lib/log";
import type { LiveChange } from "./events";

export function liveHub(env: Env, businessId: number) {
  return env.LIVE_HUB_DO.getByName(liveHubObjectName(businessId));
}

export async function publishLive(env: Env, businessId: number, change: LiveChange): Promise<void> {
  try {
    await liveHub(env, businessId).publish(change);
  } catch (err) {
    log.warn("live publish failed", { businessId, type: change.type, error: String(err) });
  }
}

/** Shard events, after they were stored: one change per business and kind. */
export async function publishShardEvents(env: Env, events: readonly ShardEvent[]): Promise<void> {
  const inbox = new Map<number, Set<string>>();
  const whatsapp = new Map<number, string | undefined>();
  for (const e of events) {
    if (e.type === "connection.update") whatsapp.set(e.businessId, e.state);
    else {
      // A LID ↔ phone pair may have merged two conversations: both ids changed.
      const chats = e.type === "contact.lid_mapping" ? [e.lid, e.pn] : [e.key.chatJid, e.key.chatJidAlt];
      const set = inbox.get(e.businessId) ?? new Set<string>();
      for (const jid of chats) if (jid) set.add(jid);
      inbox.set(e.businessId, set);
    }
  }
  await Promise.all([
    ...[...inbox].map(([businessId, chats]) => publishLive(env, businessId, { type: "inbox", chatJids: [...chats] })),
    ...[...whatsapp].map(([businessId, state]) => publishLive(env, businessId, { type: "whatsapp", state })),
  ]);
}
