/**
 * One WebSocket per signed-in tab to the business's live hub (GET /api/live). Each change the hub
 * sends invalidates exactly the queries it touches; the data itself is refetched through the API.
 * Dropped sockets reconnect with capped, jittered backoff and `?since=<last cursor>`, so the hub
 * replays what this tab missed (or says `resync`, and everything is refetched).
 */
import { type QueryClient, useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useContext, useEffect, useState } from "react";
import type { LiveFrame } from "../../../worker/live/events";
import { broadcastKeys } from "../broadcasts/hooks/keys";
import { callKeys } from "../calls/hooks/keys";
import { campaignKeys } from "../campaigns/hooks/keys";
import { inboxKeys } from "../inbox/hooks/keys";
import { whatsappKeys } from "../whatsapp/hooks/keys";
import { applyLiveFrame, type Invalidate } from "./frames";

export type LiveStatus = "connecting" | "open" | "offline";

const LiveContext = createContext<LiveStatus>("connecting");

/**
 * Invalidations batched for a moment: a campaign's calls send a burst of events, and one refetch
 * per burst (at most every 300 ms, always after the last event) shows the same as one per event.
 */
export function batchedInvalidator(queryClient: QueryClient, waitMs = 300): Invalidate & { cancel: () => void } {
  let pending: (readonly unknown[])[] | "all" = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    timer = undefined;
    const keys = pending;
    pending = [];
    if (keys === "all") void queryClient.invalidateQueries();
    else for (const queryKey of keys) void queryClient.invalidateQueries({ queryKey });
  };
  const invalidate = ((queryKey?: readonly unknown[]) => {
    if (!queryKey) pending = "all";
    else if (pending !== "all" && !pending.some((k) => JSON.stringify(k) === JSON.stringify(queryKey)))
      pending.push(queryKey);
    timer ??= setTimeout(flush, waitMs);
  }) as Invalidate & { cancel: () => void };
  invalidate.cancel = () => clearTimeout(timer);
  return invalidate;
}

/** Backoff before reconnect attempt `n` (0-based): 0.5 s doubling to 15 s, ±25 % jitter. */
export function backoffMs(attempt: number): number {
  const base = Math.min(15_000, 500 * 2 ** attempt);
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

export function LiveProvider({ enabled, children }: { enabled: boolean; children: ReactNode }) {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>("connecting");

  useEffect(() => {
    if (!enabled) return;
    let socket: WebSocket | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    let cursor: number | null = null;
    let stopped = false;
    let pinger: ReturnType<typeof setInterval> | undefined;
    const invalidate = batchedInvalidator(queryClient);

    const connect = () => {
      const url = new URL("/api/live", window.location.href);
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      if (cursor !== null) url.searchParams.set("since", String(cursor));
      const ws = new WebSocket(url);
      socket = ws;
      setStatus("connecting");
      ws.onopen = () => {
        attempt = 0;
        setStatus("open");
        // Keeps proxies from closing an idle socket; the hub answers without waking up.
        pinger = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send("ping"), 30_000);
      };
      ws.onmessage = (msg) => {
        if (msg.data === "pong") return;
        let frame: LiveFrame;
        try {
          frame = JSON.parse(String(msg.data)) as LiveFrame;
        } catch {
          return;
        }
        const reconnect = cursor !== null;
        if (frame.type === "hello") {
          // First connect: nothing to catch up. A reconnect whose hub restarted (cursor went back): refetch.
          // Also on the first connect: what changed between the page's first fetches and now.
          if (!reconnect) {
            cursor = frame.cursor;
            for (const queryKey of [
              inboxKeys.all,
              whatsappKeys.all,
              callKeys.all,
              campaignKeys.all,
              broadcastKeys.all,
            ]) {
              void queryClient.invalidateQueries({ queryKey });
            }
          } else if (frame.cursor < (cursor ?? 0)) {
            cursor = frame.cursor;
            void queryClient.invalidateQueries();
          }
          return;
        }
        cursor = Math.max(cursor ?? 0, frame.cursor);
        applyLiveFrame(invalidate, frame);
      };
      ws.onclose = () => {
        clearInterval(pinger);
        if (stopped) return;
        setStatus("offline");
        timer = setTimeout(connect, backoffMs(attempt++));
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      invalidate.cancel();
      clearInterval(pinger);
      socket?.close(1000, "signed out");
    };
  }, [enabled, queryClient]);

  return <LiveContext.Provider value={status}>{children}</LiveContext.Provider>;
}

export function useLiveStatus(): LiveStatus {
  return useContext(LiveContext);
}
