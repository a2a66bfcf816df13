/**
 * What messages do to a conversation's place in the team's inbox, in one home (called by inbound
 * ingest and by our own sends):
 *  - a customer's live message makes the conversation wait for the business (from its first
 *    unanswered message) and reopens it if it was pending, resolved or snoozed. Reopening a
 *    resolved conversation starts a new cycle (./status.ts newCycle);
 *  - the business's reply (from the dashboard or the phone) ends the wait; the first such reply
 *    of a cycle records `first_response_seconds`.
 * History sync (old messages) changes none of this: only live messages call these.
 */
import { sql } from "drizzle-orm";
import type { Executor } from "../db/client";
import { type ConversationStatus, waConversations } from "../db/schema";

const c = waConversations;

/** A customer's live message at `at`. Returns the status it had before, when the message reopened it. */
export async function customerWrote(
  db: Executor,
  conversationId: number,
  at: Date,
): Promise<ConversationStatus | null> {
  const result = await db.execute<{ previous: ConversationStatus }>(sql`
    with old as (
      select ${c.id} as id, ${c.status} as status from ${c} where ${c.id} = ${conversationId} for update
    )
    update ${c} set
      customer_waiting_since = coalesce(${c.customerWaitingSince}, ${at}),
      status = 'open',
      snoozed_until = null,
      status_changed_at = case when old.status <> 'open' then ${at} else ${c.statusChangedAt} end,
      opened_at = case when old.status = 'resolved' then ${at} else ${c.openedAt} end,
      first_response_seconds = case when old.status = 'resolved' then null else ${c.firstResponseSeconds} end,
      resolved_at = case when old.status = 'resolved' then null else ${c.resolvedAt} end,
      resolution_seconds = case when old.status = 'resolved' then null else ${c.resolutionSeconds} end
    from old
    where ${c.id} = old.id
    returning old.status as previous`);
  const previous = result.rows[0]?.previous;
  return previous && previous !== "open" ? previous : null;
}

/**
 * The business replied at `at`: the first reply after the customer's waiting message records the
 * cycle's first-response time. A reply older than the wait (a late echo) changes nothing.
 */
export async function businessReplied(db: Executor, conversationId: number, at: Date): Promise<void> {
  await db.execute(sql`
    update ${c} set
      first_response_seconds = coalesce(
        ${c.firstResponseSeconds},
        greatest(0, round(extract(epoch from (${at}::timestamptz - ${c.customerWaitingSince}))))::int
      ),
      customer_waiting_since = null
    where ${c.id} = ${conversationId}
      and ${c.customerWaitingSince} is not null
      and ${c.customerWaitingSince} <= ${at}`);
}
