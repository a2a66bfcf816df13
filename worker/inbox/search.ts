/**
 * Inbox search: message text, the contact's display name, the lead's name and phone. Hebrew-safe
 * by construction: a substring match (ILIKE '%…%'), never a stemmer (Postgres full text has no
 * Hebrew dictionary, and its `simple` one still splits on prefixes like ו/ה/ב that Hebrew glues to
 * words). Trigram GIN indexes (pg_trgm, migration 0007) answer those ILIKEs without a sequential
 * scan; bench/inbox-search.ts measures it against the same query without them.
 *
 * A phone is matched by its digits: "050-123 45" finds +97250123 45…, so the leading 0 of a
 * national number is dropped before matching the E.164 digits (and the chat JID's).
 */
import { and, eq, type SQL, sql } from "drizzle-orm";
import type { Executor } from "../db/client";
import { leads, waConversations, waMessages } from "../db/schema";
import { intArray } from "../lib/pg-arrays";

/** ILIKE's own characters, escaped (the default escape character is the backslash). */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

/** The digits to look for in phones, or null when the query is not a phone (fragment). */
export function phoneDigits(q: string): string | null {
  if (!/^[\d\s()+.-]+$/.test(q)) return null;
  const digits = q.replace(/\D/g, "");
  if (digits.length < 3) return null;
  // A national number's trunk 0 is not in the E.164 form (050… → 97250…).
  return digits.length > 3 && digits.startsWith("0") ? digits.slice(1) : digits;
}

/** The lead's full name, exactly as the trigram index (leads_full_name_trgm_idx) is built. */
export const leadFullName = sql`(coalesce(${leads.firstName}, '') || ' ' || coalesce(${leads.lastName}, ''))`;

/**
 * The ids of a business's conversations that match `q`: one branch per index, so each can use its
 * own (a UNION, not an OR the planner would have to read across tables).
 */
export function matchingConversationIds(businessId: number, q: string): SQL {
  const pattern = likePattern(q);
  const digits = phoneDigits(q);
  const digitsPattern = digits ? likePattern(digits) : null;
  const c = waConversations;
  const branches: SQL[] = [
    sql`select ${c.id} from ${c} where ${c.businessId} = ${businessId} and ${c.displayName} ilike ${pattern}`,
    sql`select ${c.id} from ${c} join ${leads} on ${leads.id} = ${c.leadId}
        where ${c.businessId} = ${businessId} and ${leads.businessId} = ${businessId}
          and ${leadFullName} ilike ${pattern}`,
    sql`select ${waMessages.conversationId} from ${waMessages}
        where ${waMessages.businessId} = ${businessId} and ${waMessages.text} ilike ${pattern}`,
  ];
  if (digitsPattern) {
    branches.push(
      sql`select ${c.id} from ${c} where ${c.businessId} = ${businessId} and ${c.chatJid} like ${digitsPattern}`,
      sql`select ${c.id} from ${c} join ${leads} on ${leads.id} = ${c.leadId}
          where ${c.businessId} = ${businessId} and ${leads.businessId} = ${businessId}
            and ${leads.phoneE164} like ${digitsPattern}`,
    );
  }
  return sql`${c.id} in (${sql.join(branches, sql` union `)})`;
}

const SNIPPET_CONTEXT = 40;

/** The part of `text` around the first occurrence of `q` (case-insensitive), with ellipses. */
export function snippetOf(text: string, q: string): string {
  const at = text.toLocaleLowerCase().indexOf(q.toLocaleLowerCase());
  if (at < 0) return text.length > SNIPPET_CONTEXT * 2 ? `${text.slice(0, SNIPPET_CONTEXT * 2)}…` : text;
  const start = Math.max(0, at - SNIPPET_CONTEXT);
  const end = Math.min(text.length, at + q.length + SNIPPET_CONTEXT);
  return `${start > 0 ? "…" : ""}${text.slice(start, end)}${end < text.length ? "…" : ""}`;
}

/** For each conversation, its latest message whose text matches `q` (none when a name or phone matched). */
export async function latestMatches(
  db: Executor,
  businessId: number,
  conversationIds: number[],
  q: string,
): Promise<Map<number, { messageId: number; snippet: string }>> {
  if (conversationIds.length === 0) return new Map();
  const m = waMessages;
  const rows = await db
    .selectDistinctOn([m.conversationId], { conversationId: m.conversationId, id: m.id, text: m.text })
    .from(m)
    .where(
      and(
        eq(m.businessId, businessId),
        sql`${m.conversationId} = any(${intArray(conversationIds)})`,
        sql`${m.text} ilike ${likePattern(q)}`,
      ),
    )
    .orderBy(m.conversationId, sql`${m.sentAt} desc`, sql`${m.id} desc`);
  return new Map(rows.map((r) => [r.conversationId, { messageId: r.id, snippet: snippetOf(r.text ?? "", q) }]));
}
