/**
 * Storing what shards report: messages (live and history), message statuses, connection changes.
 *
 * Each event is judged on its own. It is stored once, by its stable id (contracts/shard-events.ts),
 * in its own transaction with its effects, so a redelivered event changes nothing and a Postgres
 * refusal of one event does not undo the others. An event that cannot be applied — it breaks the
 * contract, names another shard, comes from a shard that does not hold the business's assignment
 * or carries another fencing token, or Postgres refuses its data — is quarantined
 * (./event-quarantine.ts) and the delivery is still acknowledged.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import { messageStatusRank, type ShardEvent, shardEvent } from "../../contracts/shard-events";
import type { Database } from "../db/client";
import { businesses, shardEvents, waMessages, waSessions } from "../db/schema";
import { businessReplied, customerWrote } from "../inbox/activity";
import { cachedSubscriptions, type EnabledSubscriptions, emitWebhookEvent } from "../webhooks/outbox";
import { conversationJid, linkLead, phoneOfJid, rememberLidMapping, type Tx } from "./contacts";
import { upsertConversation } from "./conversations";
import { isDataError, type QuarantineReason, quarantineEvent, sqlState as sqlStateOf } from "./event-quarantine";

/**
 * Webhook events of one shard event: the business's subscriptions (read once per delivery), and
 * the subscriptions that got events in this transaction (kicked after the commit).
 */
interface Subscribers {
  lookup: EnabledSubscriptions;
  hit: Set<number>;
}

async function emit(tx: Tx, subscribers: Subscribers, event: Parameters<typeof emitWebhookEvent>[1]): Promise<void> {
  for (const id of await emitWebhookEvent(tx, event, subscribers.lookup)) subscribers.hit.add(id);
}

/** A message status's rank, computed in SQL from the one rank table (contracts/shard-events.ts). */
const storedStatusRank = sql`(case ${waMessages.status} ${sql.join(
  Object.entries(messageStatusRank).map(([status, rank]) => sql`when ${status} then ${rank}::int`),
  sql` `,
)} else 0 end)`;

/** What storing one event asks for afterwards: media to download (wa_messages ids), conversations reopened. */
interface Applied {
  mediaDownloads: number[];
  reopened: { businessId: number; conversationId: number }[];
}

async function applyMessage(
  tx: Tx,
  subscribers: Subscribers,
  event: Extract<ShardEvent, { type: "message.upsert" }>,
): Promise<Applied> {
  const { businessId, key } = event;
  // An out-of-range timestamp was dropped by the contract: when the shard saw it is the best guess.
  const sentAt = event.messageTimestamp ? new Date(event.messageTimestamp * 1000) : new Date(event.occurredAt);
  const isGroup = key.chatJid.endsWith("@g.us");
  // One customer, one conversation, whichever id (phone or LID) this message carries.
  const chatJid = isGroup ? key.chatJid : await conversationJid(tx, businessId, key.chatJid, key.chatJidAlt);
  if (key.participantJid && key.participantJidAlt)
    await conversationJid(tx, businessId, key.participantJid, key.participantJidAlt);
  const leadId = isGroup
    ? null
    : await linkLead(tx, businessId, chatJid, key.fromMe ? undefined : event.pushName, (lead) =>
        emit(tx, subscribers, { businessId, type: "lead.created", data: { lead } }),
      );
  // Only live incoming messages count as unread; history sync does not.
  const unread = !key.fromMe && event.upsertType === "notify" ? 1 : 0;
  const conversationId = await upsertConversation(tx, {
    businessId,
    chatJid,
    leadId,
    displayName: key.fromMe ? null : (event.pushName ?? null),
    at: sentAt,
    preview: event.text ?? `[${event.kind}]`,
    unread,
    replyJid: key.fromMe || isGroup ? null : key.chatJid,
  });
  const { ref, ...media } = event.media ?? {};
  // Media is downloaded by the media queue (worker/whatsapp/media.ts), never inside this request.
  const downloadable = ref !== undefined;
  const [inserted] = await tx
    .insert(waMessages)
    .values({
      businessId,
      conversationId,
      chatJid,
      waMessageId: key.messageId,
      fromMe: key.fromMe,
      kind: event.kind,
      text: event.text ?? null,
      media: event.media ? media : null,
      status: key.fromMe ? "sent" : "delivered",
      sentAt,
      ...(downloadable
        ? {
            mediaRef: ref,
            mediaStatus: "pending" as const,
            mediaMimeType: media.mimetype ?? null,
          }
        : {}),
    })
    // Our own sends are stored when the shard accepts them; the shard's echo then adds nothing.
    .onConflictDoNothing()
    .returning({ id: waMessages.id, mediaStatus: waMessages.mediaStatus });
  // The team inbox: a live customer message waits for an answer and reopens the conversation; a
  // live message of ours (sent from the phone, or an echo that overtook our own send) answers it.
  let reopened = false;
  if (inserted && event.upsertType === "notify") {
    if (key.fromMe) await businessReplied(tx, conversationId, sentAt);
    else reopened = (await customerWrote(tx, conversationId, sentAt)) !== null;
  }
  // A customer's live message (not history sync, not our own echo).
  if (inserted && !key.fromMe && event.upsertType === "notify") {
    await emit(tx, subscribers, {
      businessId,
      type: "message.received",
      data: {
        message: {
          id: key.messageId,
          conversationId,
          chatJid,
          phone: phoneOfJid(chatJid),
          leadId,
          pushName: event.pushName ?? null,
          kind: event.kind,
          text: event.text ?? null,
          sentAt,
        },
      },
    });
  }
  return {
    mediaDownloads: inserted?.mediaStatus === "pending" ? [inserted.id] : [],
    reopened: reopened ? [{ businessId, conversationId }] : [],
  };
}

async function applyStatus(
  tx: Tx,
  subscribers: Subscribers,
  event: Extract<ShardEvent, { type: "message.status" }>,
): Promise<void> {
  const rank = messageStatusRank[event.status];
  const chatJid = event.key.chatJid.endsWith("@g.us")
    ? event.key.chatJid
    : await conversationJid(tx, event.businessId, event.key.chatJid, event.key.chatJidAlt);
  const updated = await tx
    .update(waMessages)
    .set({ status: event.status, statusUpdatedAt: new Date(event.occurredAt) })
    .where(
      and(
        eq(waMessages.businessId, event.businessId),
        eq(waMessages.chatJid, chatJid),
        eq(waMessages.waMessageId, event.key.messageId),
        eq(waMessages.fromMe, event.key.fromMe),
        // Never regress; "failed" only replaces a message not yet delivered.
        sql`${storedStatusRank} < ${rank === messageStatusRank.failed ? messageStatusRank.delivered : rank}`,
      ),
    )
    .returning({ id: waMessages.id });
  if (updated.length > 0) {
    await emit(tx, subscribers, {
      businessId: event.businessId,
      type: "message.status",
      data: {
        message: {
          id: event.key.messageId,
          chatJid: event.key.chatJid,
          fromMe: event.key.fromMe,
          status: event.status,
          at: new Date(event.occurredAt),
        },
      },
    });
  }
}

async function applyConnection(
  tx: Tx,
  subscribers: Subscribers,
  event: Extract<ShardEvent, { type: "connection.update" }>,
): Promise<void> {
  const at = new Date(event.occurredAt);
  const [applied] = await tx
    .insert(waSessions)
    .values({
      businessId: event.businessId,
      shardId: event.shardId,
      state: event.state,
      reason: event.reason ?? null,
      phoneNumber: event.phoneNumber ?? null,
      updatedAt: at,
    })
    .onConflictDoUpdate({
      target: waSessions.businessId,
      set: {
        shardId: event.shardId,
        state: event.state,
        reason: event.reason ?? null,
        phoneNumber: sql`coalesce(excluded.phone_number, ${waSessions.phoneNumber})`,
        updatedAt: at,
      },
      // Events of one business arrive in order, but a late redelivery must not roll the state back.
      setWhere: sql`${waSessions.updatedAt} <= excluded.updated_at`,
    })
    .returning({ phoneNumber: waSessions.phoneNumber });
  if (applied) {
    await emit(tx, subscribers, {
      businessId: event.businessId,
      type: "whatsapp.connection",
      data: { connection: { state: event.state, reason: event.reason ?? null, phoneNumber: applied.phoneNumber, at } },
    });
  }
}

export interface IngestResult {
  stored: number;
  duplicates: number;
  /** Events for businesses that do not exist (deleted): acknowledged so the shard stops retrying. */
  ignored: number;
  /** Events kept in the quarantine table instead of being applied. */
  quarantined: number;
  /** Connection events that mean sending must stop, by business. */
  banSignals: { businessId: number; state: string; statusCode?: number }[];
  /** The events stored now (not duplicates, not quarantined): what open dashboards should hear of. */
  applied: ShardEvent[];
  /** Messages stored now whose media the media queue must download (wa_messages ids). */
  mediaDownloads: number[];
  /** Conversations a customer's message reopened (pending, resolved or snoozed → open). */
  reopened: { businessId: number; conversationId: number }[];
  /** Webhook subscriptions that got events: kick their delivery (webhooks/outbox.ts kickDeliveries). */
  webhookSubscriptions: number[];
}

export interface Delivery {
  /** The shard whose key signed the delivery. */
  shardId: number;
  /** The events as received: each is validated on its own. */
  events: unknown[];
  /** The business's current assignment (shard and fencing token). */
  assignment(businessId: number): Promise<{ shard: number; fencingToken: number }>;
}

/** Why an event from this shard may not touch this business, or null when it may. */
function senderRefusal(
  event: ShardEvent,
  shardId: number,
  assignment: { shard: number; fencingToken: number },
): { reason: QuarantineReason; detail: string } | null {
  if (assignment.shard !== shardId) {
    return {
      reason: "not_assigned_shard",
      detail: `business ${event.businessId} is assigned to shard ${assignment.shard}, not shard ${shardId}`,
    };
  }
  if (event.fencingToken !== undefined && event.fencingToken !== assignment.fencingToken) {
    return {
      reason: "stale_fencing_token",
      detail: `fencing token ${event.fencingToken}; the current one is ${assignment.fencingToken}`,
    };
  }
  return null;
}

function describeIssues(issues: { path: PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join(".") || "(event)"}: ${i.message}`)
    .join("; ");
}

async function applyEvent(tx: Tx, subscribers: Subscribers, event: ShardEvent): Promise<Applied | null> {
  const [fresh] = await tx
    .insert(shardEvents)
    .values({ eventId: event.id, businessId: event.businessId, type: event.type })
    .onConflictDoNothing()
    .returning({ id: shardEvents.eventId });
  if (!fresh) return null;
  switch (event.type) {
    case "message.upsert":
      return applyMessage(tx, subscribers, event);
    case "message.status":
      await applyStatus(tx, subscribers, event);
      break;
    case "connection.update":
      await applyConnection(tx, subscribers, event);
      break;
    case "contact.lid_mapping":
      await rememberLidMapping(tx, event.businessId, event.lid, event.pn);
      break;
  }
  return { mediaDownloads: [], reopened: [] };
}

export async function ingestShardEvents(db: Database, delivery: Delivery): Promise<IngestResult> {
  const result: IngestResult = {
    stored: 0,
    duplicates: 0,
    ignored: 0,
    quarantined: 0,
    banSignals: [],
    applied: [],
    mediaDownloads: [],
    reopened: [],
    webhookSubscriptions: [],
  };
  const subscribers = new Set<number>();
  const lookup = cachedSubscriptions(db);
  const quarantine = async (raw: unknown, reason: QuarantineReason, detail: string) => {
    await quarantineEvent(db, { shardId: delivery.shardId, raw, reason, detail });
    result.quarantined++;
  };

  const valid: { raw: unknown; event: ShardEvent }[] = [];
  for (const raw of delivery.events) {
    const parsed = shardEvent.safeParse(raw);
    if (!parsed.success) await quarantine(raw, "invalid", describeIssues(parsed.error.issues));
    else if (parsed.data.shardId !== delivery.shardId)
      await quarantine(raw, "foreign_shard", `names shard ${parsed.data.shardId}, signed by shard ${delivery.shardId}`);
    else valid.push({ raw, event: parsed.data });
  }
  if (valid.length === 0) return result;

  const businessIds = [...new Set(valid.map((v) => v.event.businessId))];
  const known = new Set(
    (await db.select({ id: businesses.id }).from(businesses).where(inArray(businesses.id, businessIds))).map(
      (b) => b.id,
    ),
  );
  const assignments = new Map<number, { shard: number; fencingToken: number }>();
  for (const { raw, event } of valid) {
    if (!known.has(event.businessId)) {
      result.ignored++;
      continue;
    }
    let assignment = assignments.get(event.businessId);
    if (!assignment) {
      assignment = await delivery.assignment(event.businessId);
      assignments.set(event.businessId, assignment);
    }
    const refusal = senderRefusal(event, delivery.shardId, assignment);
    if (refusal) {
      await quarantine(raw, refusal.reason, refusal.detail);
      continue;
    }
    let stored: Applied | null;
    try {
      // Subscribers are collected per event: a rolled-back event's must not be kept.
      const eventSubscribers: Subscribers = { lookup, hit: new Set() };
      stored = await db.transaction((tx) => applyEvent(tx, eventSubscribers, event));
      for (const id of eventSubscribers.hit) subscribers.add(id);
    } catch (err) {
      // The transaction rolled back; a data error will fail the same way every time, so the event
      // is kept aside and the rest go on. Anything else is thrown: the shard sends it all again.
      if (!isDataError(err)) throw err;
      await quarantine(raw, "apply_failed", `Postgres refused the event (SQLSTATE ${sqlStateOf(err)})`);
      continue;
    }
    if (stored) {
      result.stored++;
      result.applied.push(event);
      result.mediaDownloads.push(...stored.mediaDownloads);
      result.reopened.push(...stored.reopened);
    } else result.duplicates++;
    // Reported for redeliveries too: if acting on it failed the first time (the delivery was then
    // answered 5xx and sent again), the retry must still act. Pausing is idempotent.
    if (event.type === "connection.update") {
      result.banSignals.push({ businessId: event.businessId, state: event.state, statusCode: event.statusCode });
    }
  }
  result.webhookSubscriptions = [...subscribers];
  return result;
}
