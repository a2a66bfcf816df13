/**
 * Forwards the outbox to the edge: one lane per business (events of a business go in order, one
 * request in flight at a time), up to OUTBOX_CONCURRENCY lanes at once, each lane with its own
 * exponential backoff so one business the edge refuses does not hold up the others. A batch is
 * removed from the outbox only after the edge answered 2xx; anything else is retried, forever.
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
import type { Outbox } from "./store/outbox.js";

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
}

interface Lane {
  inFlight: boolean;
  failures: number;
  nextAttemptAt: number;
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
      lane = { inFlight: false, failures: 0, nextAttemptAt: 0 };
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
    const rows = this.outbox.peek(businessId, this.options.batchSize);
    if (rows.length === 0) return;
    const body = `{"events":[${rows.map((r) => r.payload).join(",")}]}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const started = performance.now();
    let outcome: string;
    try {
      const signature = await signShardPayload(this.options.secret, timestamp, body);
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
      // Drain the body so the connection can be reused.
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) {
        this.outbox.ack(businessId, rows[rows.length - 1]!.seq);
        lane.failures = 0;
        lane.nextAttemptAt = 0;
        this.metrics.eventsDelivered.inc(rows.length);
        this.metrics.deliveries.inc({ result: "ok" });
        this.metrics.deliverySeconds.observe((performance.now() - started) / 1000);
        return;
      }
      outcome = `edge answered ${res.status}`;
      this.metrics.deliveries.inc({ result: `http_${res.status}` });
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
}
