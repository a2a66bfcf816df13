/**
 * Cron triggers under `npm run dev`. `wrangler dev` (4.86) does not fire a Worker's crons by
 * itself; with `--test-scheduled` it serves a trigger route `/__scheduled?cron=…` inside the
 * Worker (listed in wrangler.toml's run_worker_first, so the static assets do not answer it). So the
 * runner keeps the schedule: each `[triggers] crons` expression of wrangler.toml, in UTC as
 * Cloudflare runs them, calls that route at its time, and logs one line per firing.
 */
import { readFileSync } from "node:fs";
import { Cron } from "croner";
import { parse } from "smol-toml";

export function wranglerCrons(file = "wrangler.toml"): string[] {
  const toml = parse(readFileSync(file, "utf8")) as { triggers?: { crons?: string[] } };
  return toml.triggers?.crons ?? [];
}

export interface CronFiring {
  cron: string;
  scheduledTime: Date;
  status: number | null;
  outcome: string;
}

export function startCronTriggers(opts: {
  crons: string[];
  workerUrl: string;
  log: (line: string) => void;
  onFired?: (firing: CronFiring) => void;
}): { stop(): void } {
  const jobs = opts.crons.map(
    (cron) =>
      new Cron(cron, { timezone: "UTC", name: cron, protect: true, catch: true }, async (self: Cron) => {
        const scheduledTime = self.currentRun() ?? new Date();
        // `wrangler dev --test-scheduled` serves this inside the Worker. Miniflare's own
        // /cdn-cgi/handler/scheduled reaches the static-assets router instead of the Worker once
        // [assets] is configured, and answers 500.
        const url = new URL("/__scheduled", opts.workerUrl);
        url.searchParams.set("cron", cron);
        url.searchParams.set("time", String(scheduledTime.getTime()));
        let firing: CronFiring;
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
          firing = { cron, scheduledTime, status: res.status, outcome: (await res.text()).trim() || res.statusText };
        } catch (err) {
          firing = { cron, scheduledTime, status: null, outcome: err instanceof Error ? err.message : String(err) };
        }
        opts.log(
          `cron "${cron}" fired for ${scheduledTime.toISOString()}: ${firing.status ?? "no answer"} ${firing.outcome}`,
        );
        opts.onFired?.(firing);
      }),
  );
  return {
    stop: () => {
      for (const job of jobs) job.stop();
    },
  };
}
