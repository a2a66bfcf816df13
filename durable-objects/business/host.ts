/**
 * What a BusinessDO needs from the platform around it. The Worker provides it
 * (worker/durable-objects.ts), so this folder holds the objects' own logic and storage and knows
 * nothing of the Worker's services, queues or domain rules (the pattern of cloudflare/agents).
 */
import type { CallLogUpdate, HandOff } from "./call-log-outbox";

/** The settings the send schedule paces by; the host's settings carry at least these. */
export interface SendLimits {
  waMessagesPerMinute: number;
  waDailyCap: number;
  waQuietHoursStart: string | null;
  waQuietHoursEnd: string | null;
}

export interface BusinessHost<Settings extends SendLimits> {
  /** The business's settings, as the object caches them (TTL, invalidated on update). */
  loadSettings(businessId: number): Promise<Settings>;
  /** The business's IANA timezone: quiet hours and daily caps run on its clock. */
  loadTimezone(businessId: number): Promise<string>;
  /** Puts due sends on their queues: `urgent` (replies) on the fast lane, `normal` on the default one. */
  enqueueSends(urgent: number[], normal: number[]): Promise<void>;
  /** Applies one call log update to Postgres (and what follows a call's end); throws while Postgres is away. */
  applyCallLogUpdate(update: CallLogUpdate): Promise<void>;
  /**
   * Sends call log writes to be applied to Postgres in order, in one transaction (with what follows
   * calls' ends), and then acknowledged to this object (`ackCallLogWrites`); throws if not sent.
   */
  sendCallLogWrites(businessId: number, handOff: HandOff): Promise<void>;
}
