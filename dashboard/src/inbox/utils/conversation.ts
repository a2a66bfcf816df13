import type { Conversation } from "../../api/types";
import { phoneOfJid } from "../../format/phones";

/** How a conversation is named: the contact's WhatsApp name, else their phone in national format. */
export function conversationName(c: Pick<Conversation, "displayName" | "chatJid">, region: string): string {
  return c.displayName?.trim() || phoneOfJid(c.chatJid, region);
}

/** A reply's id, unique per attempt series: resending with the same id sends at most once. */
export function newClientMessageId(): string {
  return crypto.randomUUID().replaceAll("-", "");
}
