/**
 * Who a chat is: its lead, and the one address its conversation is kept under.
 *
 * WhatsApp addresses a person either by phone (`972…@s.whatsapp.net`) or by a hidden LID
 * (`…@lid`), and may switch from one to the other in the middle of a conversation (Baileys issue
 * #1768 and its peers). A customer must stay one lead and one conversation, so a conversation is
 * keyed by the phone JID whenever the LID's phone is known: from the message itself (the shard
 * puts the other id in `chatJidAlt`), or from a pair WhatsApp told us about earlier
 * (wa_lid_mappings). A chat known only by its LID lives under the LID until the pair arrives; then
 * its conversation and messages move under the phone JID (mergeLidConversation).
 */
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { leads, waConversations, waLidMappings, waMessages } from "../db/schema";

export type Tx = Parameters<Parameters<Database["transaction"]>[0]>[0];
type Executor = Pick<Database, "select" | "insert" | "update" | "delete" | "execute">;

/** `972501234567@s.whatsapp.net` → `+972501234567`; groups, LIDs and other JIDs have no phone. */
export function phoneOfJid(jid: string): string | null {
  const match = /^(\d{7,15})(?::\d+)?@s\.whatsapp\.net$/.exec(jid);
  return match ? `+${match[1]}` : null;
}

const LID = /^(\d{1,30})(?::\d+)?@lid$/;
const PN = /^(\d{1,30})(?::\d+)?@s\.whatsapp\.net$/;

/** A user JID without its device suffix, when it is a LID or a phone JID. */
function userJid(jid: string | undefined): { kind: "lid" | "pn"; jid: string } | null {
  if (!jid) return null;
  const lid = LID.exec(jid);
  if (lid) return { kind: "lid", jid: `${lid[1]}@lid` };
  const pn = PN.exec(jid);
  if (pn) return { kind: "pn", jid: `${pn[1]}@s.whatsapp.net` };
  return null;
}

/** The lead of a phone chat, created when a new contact writes in (as the old system did). */
export async function linkLead(
  tx: Executor,
  businessId: number,
  chatJid: string,
  pushName: string | undefined,
  /** Told of a lead created here, in the same transaction (the lead.created webhook). */
  onCreated?: (lead: typeof leads.$inferSelect) => Promise<void>,
): Promise<number | null> {
  const phone = phoneOfJid(chatJid);
  if (!phone) return null;
  const find = async () =>
    (
      await tx
        .select({ id: leads.id })
        .from(leads)
        .where(and(eq(leads.businessId, businessId), eq(leads.phoneE164, phone), isNull(leads.deletedAt)))
    )[0]?.id ?? null;
  const existing = await find();
  if (existing) return existing;
  // A new contact writing in becomes a lead, named as WhatsApp shows them.
  const [created] = await tx
    .insert(leads)
    .values({
      businessId,
      phoneE164: phone,
      firstName: pushName?.slice(0, 100) ?? null,
      source: "whatsapp",
      status: "new",
    })
    .onConflictDoNothing()
    .returning();
  if (created) {
    await onCreated?.(created);
    return created.id;
  }
  return find();
}

/**
 * The address a chat's conversation is kept under: the phone JID when the chat is a LID whose
 * phone is known (from `alt` or an earlier pair), else the chat as given. A pair seen for the
 * first time is remembered, and a conversation kept under the LID so far moves to the phone JID.
 */
export async function conversationJid(
  tx: Tx,
  businessId: number,
  chatJid: string,
  alt: string | undefined,
): Promise<string> {
  const main = userJid(chatJid);
  if (!main) return chatJid;
  const other = userJid(alt);
  if (main.kind === "pn") {
    if (other?.kind === "lid") await rememberLidMapping(tx, businessId, other.jid, main.jid);
    return chatJid;
  }
  if (other?.kind === "pn") {
    await rememberLidMapping(tx, businessId, main.jid, other.jid);
    return other.jid;
  }
  return (await phoneJidOfLid(tx, businessId, main.jid)) ?? chatJid;
}

/** The phone JID a LID is known to be, if any. */
export async function phoneJidOfLid(db: Executor, businessId: number, lidJid: string): Promise<string | null> {
  const lid = userJid(lidJid);
  if (lid?.kind !== "lid") return null;
  const [row] = await db
    .select({ pn: waLidMappings.pnJid })
    .from(waLidMappings)
    .where(and(eq(waLidMappings.businessId, businessId), eq(waLidMappings.lidJid, lid.jid)));
  return row?.pn ?? null;
}

/**
 * Stores a LID ↔ phone pair (the latest word wins: WhatsApp may reassign a LID) and, when it is
 * new, moves the LID's conversation under the phone JID.
 */
export async function rememberLidMapping(tx: Tx, businessId: number, lidJid: string, pnJid: string): Promise<void> {
  const lid = userJid(lidJid);
  const pn = userJid(pnJid);
  if (lid?.kind !== "lid" || pn?.kind !== "pn") return;
  const [changed] = await tx
    .insert(waLidMappings)
    .values({ businessId, lidJid: lid.jid, pnJid: pn.jid })
    .onConflictDoUpdate({
      target: [waLidMappings.businessId, waLidMappings.lidJid],
      set: { pnJid: pn.jid },
      setWhere: sql`${waLidMappings.pnJid} <> excluded.pn_jid`,
    })
    .returning({ pn: waLidMappings.pnJid });
  if (changed) await mergeLidConversation(tx, businessId, lid.jid, pn.jid);
}

/**
 * One customer, one conversation: the conversation kept under a LID (while its phone was unknown)
 * joins the phone JID's — its messages move over (a message stored under both ids is kept once),
 * unread counts add up, the later activity wins — and the lead is linked by the phone number.
 */
async function mergeLidConversation(tx: Tx, businessId: number, lidJid: string, pnJid: string): Promise<void> {
  const [lidConversation] = await tx
    .select()
    .from(waConversations)
    .where(and(eq(waConversations.businessId, businessId), eq(waConversations.chatJid, lidJid)))
    .for("update");
  if (!lidConversation) return;
  const [pnConversation] = await tx
    .select()
    .from(waConversations)
    .where(and(eq(waConversations.businessId, businessId), eq(waConversations.chatJid, pnJid)))
    .for("update");
  const leadId =
    pnConversation?.leadId ??
    lidConversation.leadId ??
    (await linkLead(tx, businessId, pnJid, lidConversation.displayName ?? undefined));

  if (!pnConversation) {
    await tx
      .update(waConversations)
      .set({ chatJid: pnJid, leadId, replyJid: lidConversation.replyJid ?? lidJid })
      .where(eq(waConversations.id, lidConversation.id));
    await tx
      .update(waMessages)
      .set({ chatJid: pnJid })
      .where(and(eq(waMessages.businessId, businessId), eq(waMessages.conversationId, lidConversation.id)));
    return;
  }

  // The same WhatsApp message stored under both ids: keep the phone chat's copy.
  await tx.execute(sql`
    delete from wa_messages l using wa_messages p
    where l.business_id = ${businessId} and l.conversation_id = ${lidConversation.id}
      and p.business_id = ${businessId} and p.chat_jid = ${pnJid}
      and p.wa_message_id = l.wa_message_id and p.from_me = l.from_me`);
  await tx
    .update(waMessages)
    .set({ chatJid: pnJid, conversationId: pnConversation.id })
    .where(and(eq(waMessages.businessId, businessId), eq(waMessages.conversationId, lidConversation.id)));
  const lidIsLater =
    lidConversation.lastMessageAt !== null &&
    (pnConversation.lastMessageAt === null || lidConversation.lastMessageAt > pnConversation.lastMessageAt);
  await tx
    .update(waConversations)
    .set({
      leadId,
      unreadCount: pnConversation.unreadCount + lidConversation.unreadCount,
      displayName: pnConversation.displayName ?? lidConversation.displayName,
      ...(lidIsLater
        ? {
            lastMessageAt: lidConversation.lastMessageAt,
            lastMessagePreview: lidConversation.lastMessagePreview,
            replyJid: lidConversation.replyJid ?? lidJid,
          }
        : {}),
    })
    .where(eq(waConversations.id, pnConversation.id));
  await tx.delete(waConversations).where(eq(waConversations.id, lidConversation.id));
}
