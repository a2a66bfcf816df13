/** wrangler.toml must say what the code declares: queues, their consumers and DLQs, and the DOs. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { deadLetterConsumer, queueDefinitions } from "../../worker/queues/definitions";

const root = path.resolve(import.meta.dirname, "../..");
type Toml = {
  compatibility_date: string;
  compatibility_flags: string[];
  durable_objects: { bindings: { name: string; class_name: string }[] };
  migrations: { tag: string; new_sqlite_classes?: string[] }[];
  queues: {
    producers: { binding: string; queue: string }[];
    consumers: {
      queue: string;
      max_batch_size: number;
      max_batch_timeout: number;
      max_retries: number;
      dead_letter_queue?: string;
    }[];
  };
  triggers: { crons: string[] };
};
const toml = parse(readFileSync(path.join(root, "wrangler.toml"), "utf8")) as unknown as Toml;

describe("wrangler.toml matches the code", () => {
  it("declares every queue's producer, consumer and dead-letter queue as definitions.ts says", () => {
    for (const q of Object.values(queueDefinitions)) {
      expect(toml.queues.producers).toContainEqual({ binding: q.binding, queue: q.name });
      expect(toml.queues.producers).toContainEqual({ binding: q.deadLetter.binding, queue: q.deadLetter.name });
      expect(toml.queues.consumers).toContainEqual({
        queue: q.name,
        max_batch_size: q.maxBatchSize,
        max_batch_timeout: q.maxBatchTimeoutSeconds,
        max_retries: q.maxRetries,
        dead_letter_queue: q.deadLetter.name,
      });
      expect(toml.queues.consumers).toContainEqual({
        queue: q.deadLetter.name,
        max_batch_size: deadLetterConsumer.maxBatchSize,
        max_batch_timeout: deadLetterConsumer.maxBatchTimeoutSeconds,
        max_retries: deadLetterConsumer.maxRetries,
      });
    }
    expect(toml.queues.consumers).toHaveLength(Object.keys(queueDefinitions).length * 2);
  });

  it("binds the Durable Objects with SQLite storage", () => {
    const classes = toml.durable_objects.bindings.map((b) => b.class_name).sort();
    expect(classes).toEqual(["BusinessDO", "CallCapacityDO", "LiveHubDO", "RateLimiterDO"]);
    const sqlite = toml.migrations.flatMap((m) => m.new_sqlite_classes ?? []).sort();
    expect(sqlite).toEqual(classes);
  });

  it("uses a compatibility date the pinned workerd supports, with nodejs_compat", () => {
    const workerdDate = "2026-04-26";
    expect(toml.compatibility_date <= workerdDate).toBe(true);
    expect(toml.compatibility_flags).toContain("nodejs_compat");
  });

  it("has a task for every cron trigger", async () => {
    const { cronTasks } = await import("../../worker/scheduled");
    expect(Object.keys(cronTasks).sort()).toEqual([...toml.triggers.crons].sort());
  });
});
