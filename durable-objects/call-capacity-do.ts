/**
 * The platform-wide call cap (MAX_CONCURRENT_CALLS across all businesses, inbound and outbound).
 * A single instance (named `global`) so admission is serialised in one place; the lease logic
 * lives in the calls part (./call-capacity/platform-slots.ts). Storage: SQLite, one row per slot
 * granted to a business (in use by a call, or idle in that business's block).
 */
import { DurableObject } from "cloudflare:workers";
import type { DurableObjectBindings } from "./bindings";
import { CreatePacer, type PaceResult, type PaceSource } from "./call-capacity/create-pacer";
import {
  type AcquireResult,
  type PlatformFreeReason,
  PlatformSlots,
  type PlatformSnapshot,
  type SlotRequest,
} from "./call-capacity/platform-slots";

export type { PlatformFreeReason } from "./call-capacity/platform-slots";

export class CallCapacityDO extends DurableObject<DurableObjectBindings> {
  protected readonly sql: SqlStorage;
  private readonly slots: PlatformSlots;
  private readonly pacer = new CreatePacer();

  constructor(ctx: DurableObjectState, env: DurableObjectBindings) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS slots (slot_id TEXT PRIMARY KEY, business_id INTEGER NOT NULL, kind TEXT NOT NULL, expires_ms INTEGER NOT NULL)",
    );
    this.slots = new PlatformSlots(ctx, env);
  }

  /** Grants a platform slot to a business (for its block), or says the cap is reached. Idempotent per slot id. */
  acquire(req: SlotRequest): Promise<AcquireResult> {
    return this.slots.acquire(req);
  }

  /** Frees a slot. Idempotent. */
  release(slotId: string, reason: PlatformFreeReason): { released: boolean; active: number } {
    return this.slots.release(slotId, reason);
  }

  /** Frees many slots at once (a BusinessDO's release outbox). Idempotent. */
  releaseMany(items: { slotId: string; reason: PlatformFreeReason }[]): { released: number; active: number } {
    return this.slots.releaseMany(items);
  }

  /**
   * A Twilio call creation time within the account's calls-per-second (direct calls first; see
   * create-pacer.ts). `missed`: the time this caller was given before and was late for.
   */
  paceCreate(source: PaceSource, perSecond: number, missed?: number): PaceResult {
    return this.pacer.take(source, perSecond, Date.now(), missed);
  }

  override async alarm(): Promise<void> {
    await this.slots.onAlarm();
  }

  /** Calls holding slots right now, in total, by business and kind; slots granted; the cap; frees by reason (dashboard, /metrics). */
  snapshot(): Promise<PlatformSnapshot> {
    return this.slots.snapshot();
  }
}
