/**
 * What the live hub tells a dashboard tab. Events say WHAT changed, not the new data: the tab
 * refetches through the API, so permissions (an agent never sees the QR) and shapes stay the API's.
 * Shared by the Worker (publishers), the hub Durable Object and the dashboard.
 */
export type LiveChange =
  /** Inbound messages or delivery statuses in these chats (WhatsApp JIDs). */
  | { type: "inbox"; chatJids: string[] }
  /** An outbound message moved (sent or failed). */
  | { type: "outbound"; outboundId: number; status: string }
  /** The WhatsApp session changed: QR rotated, connected, logged out, sends paused. */
  | { type: "whatsapp"; state?: string }
  /** A call's status moved (placed, ringing, answered, ended): the log, the slots and campaigns changed. */
  | { type: "calls"; callLogId: number | null; status: string }
  /** A campaign was created, paused, resumed or cancelled (job progress comes with `calls`). */
  | { type: "campaign"; campaignId: number }
  /** A broadcast was created, paused, resumed or cancelled (message progress comes with `outbound`). */
  | { type: "broadcast"; broadcastId: number }
  /** A conversation was assigned, changed status (including a reopen by a customer's message), or got a note. */
  | { type: "conversation"; conversationId: number; change: "assigned" | "status" | "note" };

/** A published change with the hub's cursor: strictly increasing per business. */
export type LiveEvent = LiveChange & { cursor: number };

/** Frames the hub sends that are not changes. */
export type LiveControl =
  /** Sent on connect: the hub's latest cursor. */
  | { type: "hello"; cursor: number }
  /** The tab's cursor is older than the hub's history: refetch everything. */
  | { type: "resync"; cursor: number };

export type LiveFrame = LiveEvent | LiveControl;
