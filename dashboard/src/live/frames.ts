/**
 * Which queries each live frame makes stale: the one table between the hub's events and the
 * dashboard's query keys (LiveProvider applies it; plain TypeScript so tests can read it).
 */
import type { LiveFrame } from "../../../worker/live/events";
import { adminKeys } from "../admin/hooks/keys";
import { broadcastKeys } from "../broadcasts/hooks/keys";
import { callKeys } from "../calls/hooks/keys";
import { campaignKeys } from "../campaigns/hooks/keys";
import { inboxKeys } from "../inbox/hooks/keys";
import { scheduledKeys } from "../scheduled/hooks/keys";
import { whatsappKeys } from "../whatsapp/hooks/keys";

export type Invalidate = (queryKey?: readonly unknown[]) => void;

/** Which queries a frame makes stale (`invalidate()` with no key: all of them). */
export function applyLiveFrame(invalidate: Invalidate, frame: LiveFrame): void {
  switch (frame.type) {
    case "hello":
      return;
    case "resync":
      invalidate();
      return;
    case "inbox":
      invalidate(inboxKeys.all);
      return;
    case "conversation":
      // Assigned, status changed (a customer's message reopening it too) or a note added: the lists
      // filter on both, the header shows them, the thread shows the notes.
      invalidate(inboxKeys.conversations());
      invalidate(inboxKeys.conversation(frame.conversationId));
      invalidate(inboxKeys.notes(frame.conversationId));
      return;
    case "outbound":
      // A sent or failed message moves the inbox, and the broadcast or scheduled message it belongs to.
      invalidate(inboxKeys.all);
      invalidate(inboxKeys.outbound(frame.outboundId));
      invalidate(broadcastKeys.all);
      invalidate(scheduledKeys.all);
      return;
    case "whatsapp":
      invalidate(whatsappKeys.all);
      invalidate(adminKeys.assignment);
      return;
    case "calls":
      // A call's status moved: the log, the gauge, and (bulk calls) campaign progress.
      invalidate(callKeys.all);
      invalidate(campaignKeys.all);
      invalidate(adminKeys.calls);
      return;
    case "campaign":
      invalidate(campaignKeys.all);
      return;
    case "broadcast":
      invalidate(broadcastKeys.all);
      return;
  }
}
