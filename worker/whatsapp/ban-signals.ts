/**
 * WhatsApp's signals that a number is being limited or banned. Seeing one, we stop sending for
 * the business (and say why) rather than keep hammering and turn a timelock into a ban.
 */
import type { ShardError } from "./shard-client";

const BAN_STATUS: Record<number, string> = {
  429: "WhatsApp rate limit (429 rate-overlimit)",
  463: 'WhatsApp "reach-out timelock" (463)',
  401: "WhatsApp logged the number out (401)",
  403: "WhatsApp forbade the send (403)",
};

/** The reason to pause for, or null when the error is not a ban signal. */
export function banReason(err: ShardError): string | null {
  if (err.code !== "send_failed") return null;
  const statusCode = (err.details as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof statusCode === "number" ? (BAN_STATUS[statusCode] ?? null) : null;
}

/**
 * A connection event that means WhatsApp stopped the number. A logout we asked for (dashboard
 * logout, shard move) has no status code and is not a ban.
 */
export function connectionBanReason(state: string, statusCode: number | undefined): string | null {
  if (state === "logged_out" && statusCode === 401) return BAN_STATUS[401]!;
  if (statusCode === 463 || statusCode === 429) return BAN_STATUS[statusCode]!;
  return null;
}
