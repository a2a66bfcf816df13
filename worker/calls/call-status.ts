/**
 * Twilio's call statuses, in the order a call moves through them. Terminal statuses end the call
 * (and free its slot); once a call log is terminal its status never changes again.
 */
export const CALL_STATUSES = [
  "queued",
  "initiated",
  "ringing",
  "in-progress",
  "completed",
  "busy",
  "failed",
  "no-answer",
  "canceled",
] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];

export const TERMINAL_CALL_STATUSES = ["completed", "busy", "failed", "no-answer", "canceled"] as const;

/** Our own terminal status for an inbound call refused at capacity (never a Twilio status). */
export const REJECTED_STATUS = "rejected";

/**
 * Our own status for an outbound call whose create Twilio never answered (timeout, cut-off): it may
 * exist. Not terminal; ranked like `queued`, so the call's first status callback moves it on.
 */
export const UNKNOWN_OUTCOME_STATUS = "unknown";

const terminal = new Set<string>([...TERMINAL_CALL_STATUSES, REJECTED_STATUS]);

export function isTerminalStatus(status: string): boolean {
  return terminal.has(status);
}

/**
 * Progress rank, used only when a callback carries no SequenceNumber: a status is applied when it
 * is further along than the stored one.
 */
export function statusRank(status: string): number {
  if (isTerminalStatus(status)) return 4;
  if (status === "in-progress") return 3;
  if (status === "ringing") return 2;
  if (status === "initiated") return 1;
  return 0;
}
