/** Shorthands for the team-inbox tests: a conversation made by a customer's message, a live tab. */
import { and, eq } from "drizzle-orm";
import { expect } from "vitest";
import type { Database } from "../../worker/db/client";
import { waConversations } from "../../worker/db/schema";
import type { LiveFrame } from "../../worker/live/events";
import type { Client } from "./fixtures";
import { BASE, call } from "./helpers";
import { uniquePhone } from "./phones";
import { deliver, inboundMessage } from "./whatsapp-helpers";

export interface TestConversation {
  id: number;
  chatJid: string;
}

/** A customer writes to the business (a live message through the shard-event route). */
export async function customerWrites(
  businessId: number,
  chatJid: string,
  fields: { text?: string; pushName?: string; at?: number } = {},
): Promise<void> {
  const res = await deliver([inboundMessage(businessId, { chatJid, ...fields })]);
  expect(res.status, await res.clone().text()).toBe(200);
}

/** A new conversation of `businessId`, started by a customer's message. */
export async function newConversation(
  db: Database,
  businessId: number,
  fields: { text?: string; pushName?: string; at?: number; phone?: string } = {},
): Promise<TestConversation> {
  const chatJid = `${(fields.phone ?? uniquePhone()).replace(/^\+/, "")}@s.whatsapp.net`;
  await customerWrites(businessId, chatJid, fields);
  const [row] = await db
    .select({ id: waConversations.id })
    .from(waConversations)
    .where(and(eq(waConversations.businessId, businessId), eq(waConversations.chatJid, chatJid)));
  return { id: row!.id, chatJid };
}

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON, read by assertions
export async function json(res: Response): Promise<any> {
  return res.json();
}

/** A dashboard tab's live socket as `client`, collecting its frames. */
export async function liveTab(client: Client) {
  const res = await call("/api/live", { headers: { Cookie: client.cookie, Upgrade: "websocket", Origin: BASE } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const frames: LiveFrame[] = [];
  ws.addEventListener("message", (e) => {
    frames.push(JSON.parse(String(e.data)) as LiveFrame);
  });
  ws.accept();
  await expect.poll(() => frames.some((f) => f.type === "hello"), { timeout: 5000 }).toBe(true);
  return {
    frames,
    /** Waits for a frame matching `predicate`. */
    async next(predicate: (f: LiveFrame) => boolean) {
      await expect.poll(() => frames.some(predicate), { timeout: 5000 }).toBe(true);
      return frames.find(predicate)!;
    },
    close: () => ws.close(1000),
  };
}

/** A live frame about this conversation's `change`. */
export function conversationChange(conversationId: number, change: "assigned" | "status" | "note") {
  return (f: LiveFrame) => f.type === "conversation" && f.conversationId === conversationId && f.change === change;
}
