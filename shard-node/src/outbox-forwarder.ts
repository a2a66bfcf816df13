/**
 * Forwards the outbox to the edge: one lane per business (events of a business go in order, one
 * request in flight at a time), up to OUTBOX_CONCURRENCY lanes at once, each lane with its own
 * exponential backoff so one business the edge refuses does not hold up the others. A batch is
 * removed from the outbox only after the edge answered 2xx.
 *
 * Network errors, 5xx and "try later" answers (401/403: keys being rotated, 408, 429) are retried
 * forever: they say nothing about the event. Any other 4xx is a refusal of what we sent. After one,
 * the lane sends its oldest event alone, so a refusal is pinned on one event; an event refused
 * `maxRefusals` times on its own is parked in the dead lane and the lane moves on.
 */
import {
  SHARD_ID_HEADER,
  SHARD_SIGNATURE_HEADER,
  SHARD_TIMESTAMP_HEADER,
  signShardPayload,
} from "../../contracts/shard-signing.js";
import type { Logger } from "./logger.js";
import type { ShardMetrics } from "./metrics.js";
import { backoffDelay } from "./sessions/reconnect-policy.js";
import type { Outbox, OutboxRow } from "./store/outbox.js";

export interface ForwarderOptions {
  shardId: number;
  edgeEventsUrl: string;
  secret: string;
  batchSize: number;
  concurrency: number;
  retryBaseMs: number;
  retryMaxMs: number;
  requestTimeoutMs: number;
  pollMs: number;
  /** Refusals of one event, sent alone, before it is parked in the dead lane. */
  maxRefusals: number;
}

interface Lane {
  inFlight: boolean;
  failures: number;
  nextAttemptAt: number;
  /** After a refusal: send the oldest event alone until one is accepted or parked. */
  isolate: boolean;
  /** Refusals of the oldest event, sent alone. */
  refusals: number;
}

/** 4xx answers that are about the request's credentials or timing, not about the events in it. */
const RETRY_LATER = new Set([401, 403, 408, 425, 429]);

export function isRefusal(status: number): boolean {
  return status >= 400 && status < 500 && !RETRY_LATER.has(status);
}

export class OutboxForwarder {
  private readonly lanes = new Map<number, Lane>();
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;
  private tickQueued = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly outbox: Outbox,
    private readonly options: ForwarderOptions,
    private readonly logger: Logger,
    private readonly metrics: ShardMetrics,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.outbox.onAppend(() => this.wake());
    // A sweep for work nobody announced: rows left by a previous process, or lanes whose backoff ended.
    this.pollTimer = setInterval(() => this.wake(), this.options.pollMs);
    this.pollTimer.unref();
    this.wake();
  }

  /** Stops taking new batches; waits for in-flight requests up to `graceMs`, then aborts them. */
  async stop(graceMs: number): Promise<void> {
    this.running = false;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([Promise.allSettled([...this.inFlight]), timeout]);
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  wake(): void {
    if (!this.running || this.tickQueued) return;
    this.tickQueued = true;
    setImmediate(() => {
      this.tickQueued = false;
      this.tick();
    });
  }

  private tick(): void {
    if (!this.running) return;
    const now = Date.now();
    let nextWake = Number.POSITIVE_INFINITY;
    for (const businessId of this.outbox.pendingBusinesses()) {
      if (this.inFlight.size >= this.options.concurrency) break;
      const lane = this.lane(businessId);
      if (lane.inFlight) continue;
      if (lane.nextAttemptAt > now) {
        nextWake = Math.min(nextWake, lane.nextAttemptAt);
        continue;
      }
      this.launch(businessId, lane);
    }
    if (Number.isFinite(nextWake)) this.scheduleWake(nextWake - now);
  }

  private scheduleWake(delayMs: number): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.wake();
      },
      Math.max(0, delayMs),
    );
  }

  private lane(businessId: number): Lane {
    let lane = this.lanes.get(businessId);
    if (!lane) {
      lane = { inFlight: false, failures: 0, nextAttemptAt: 0, isolate: false, refusals: 0 };
      this.lanes.set(businessId, lane);
    }
    return lane;
  }

  private launch(businessId: number, lane: Lane): void {
    lane.inFlight = true;
    const task = this.deliver(businessId, lane).finally(() => {
      lane.inFlight = false;
      this.inFlight.delete(task);
      if (lane.failures === 0 && this.outbox.peek(businessId, 1).length === 0) this.lanes.delete(businessId);
      this.wake();
    });
    this.inFlight.add(task);
  }

  private async deliver(businessId: number, lane: Lane): Promise<void> {
    const rows = this.outbox.peek(businessId, lane.isolate ? 1 : this.options.batchSize);
    if (rows.length === 0) return;
    const body = `{"events":[${rows.map((r) => r.payload).join(",")}]}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const started = performance.now();
    let outcome: string;
    try {
      const signature = await signShardPayload(this.options.secret, {
        shardId: this.options.shardId,
        timestamp,
        body,
      });
      const res = await this.fetchImpl(this.options.edgeEventsUrl, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          [SHARD_ID_HEADER]: String(this.options.shardId),
          [SHARD_TIMESTAMP_HEADER]: String(timestamp),
          [SHARD_SIGNATURE_HEADER]: signature,
        },
        body,
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.options.requestTimeoutMs)]),
      });
      // Read the body either way so the connection can be reused; a refusal's text is kept when
      // the event is parked.
      const errorText = await res.text().catch(() => "");
      if (res.ok) {
        this.outbox.ack(businessId, rows[rows.length - 1]!.seq);
        lane.failures = 0;
        lane.nextAttemptAt = 0;
        lane.isolate = false;
        lane.refusals = 0;
        this.metrics.eventsDelivered.inc(rows.length);
        this.metrics.deliveries.inc({ result: "ok" });
        this.metrics.deliverySeconds.observe((performance.now() - started) / 1000);
        return;
      }
      outcome = `edge answered ${res.status}`;
      this.metrics.deliveries.inc({ result: `http_${res.status}` });
      if (isRefusal(res.status) && this.refused(businessId, lane, rows, res.status, errorText)) return;
    } catch (err) {
      outcome = `request failed: ${(err as Error).message}`;
      this.metrics.deliveries.inc({ result: "network_error" });
    }
    lane.failures++;
    const delay = backoffDelay(lane.failures - 1, { baseMs: this.options.retryBaseMs, maxMs: this.options.retryMaxMs });
    lane.nextAttemptAt = Date.now() + delay;
    this.logger.warn(
      { businessId, events: rows.length, failures: lane.failures, retryInMs: delay },
      `event delivery failed: ${outcome}`,
    );
  }

  /**
   * Counts a refusal. Returns true when the oldest event was parked (the lane goes on at once);
   * false when the lane should back off and try again.
   */
  private refused(businessId: number, lane: Lane, rows: OutboxRow[], status: number, errorText: string): boolean {
    if (rows.length > 1 || !lane.isolate) {
      // A refused batch: which event was refused is unknown, so try the oldest one alone first.
      lane.isolate = true;
      lane.refusals = rows.length === 1 ? 1 : 0;
      return false;
    }
    lane.refusals++;
    if (lane.refusals < this.options.maxRefusals) return false;
    const row = rows[0]!;
    this.outbox.park(row.seq, { refusals: lane.refusals, status, error: errorText });
    this.metrics.eventsParked.inc();
    this.logger.error(
      { businessId, seq: row.seq, refusals: lane.refusals, status },
      "event parked in the dead lane after repeated refusals; the lane moves on",
    );
    lane.isolate = false;
    lane.refusals = 0;
    lane.failures = 0;
    lane.nextAttemptAt = 0;
    return true;
  }
}
