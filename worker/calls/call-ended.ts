/**
 * The hook point for work that follows a call's end. The status callback calls
 * `runCallEndedHooks` after a call log reaches a terminal status — with `firstTime` true exactly
 * once (the callback that made the transition) and false for repeated terminal callbacks — so a
 * handler can react once or reconcile idempotently.
 *
 * Issue 5 (bulk campaigns) registers here: a call log with `outboundJobId` set completes its job.
 * Hooks run after the slot was released; a hook that throws is logged and does not fail the
 * callback (Twilio's retry would not run it again: the transition has happened).
 */
import type { Config } from "../config";
import type { Database } from "../db/client";
import type { callLogs } from "../db/schema";
import type { Env } from "../env";
import { log } from "../lib/log";

export type CallLogRow = typeof callLogs.$inferSelect;

export interface CallEndedEvent {
  row: CallLogRow;
  /** True for the callback that moved the log to its terminal status; false for repeats. */
  firstTime: boolean;
  db: Database;
  env: Env;
  config: Config;
}

export type CallEndedHook = (event: CallEndedEvent) => Promise<void> | void;

const hooks: CallEndedHook[] = [];

/** Registers a hook; returns a function that removes it (tests). */
export function onCallEnded(hook: CallEndedHook): () => void {
  hooks.push(hook);
  return () => {
    const i = hooks.indexOf(hook);
    if (i >= 0) hooks.splice(i, 1);
  };
}

export async function runCallEndedHooks(event: CallEndedEvent): Promise<void> {
  for (const hook of hooks) {
    try {
      await hook(event);
    } catch (err) {
      log.error("call-ended hook failed", {
        callLogId: event.row.id,
        callSid: event.row.callSid,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
}
