/**
 * What to do when a WhatsApp socket closes, by disconnect code. One pure function so both session
 * implementations (and their tests) agree.
 *
 * - 401 logged out: the phone unlinked us; the credentials are dead. Wipe them and stop.
 * - 515 restart required: WhatsApp asks for a fresh socket (always right after pairing). Now.
 * - 440 connection replaced / 403 forbidden / 411 multi-device mismatch: reconnecting would fight
 *   another socket on the same credentials or hammer a refusal. Stop and say why.
 * - 408 while showing a QR: nobody scanned it. Stop instead of cycling QR codes forever; the edge
 *   starts the session again when a person asks for a new code.
 * - anything else (408, 428, 500, 503, network errors): reconnect after an exponential backoff
 *   with jitter, capped.
 */
export interface ReconnectPolicyConfig {
  baseMs: number;
  maxMs: number;
}

export type DisconnectDecision =
  | { action: "logged_out"; reason: string }
  | { action: "stop"; reason: string }
  | { action: "reconnect_now"; reason: string }
  | { action: "backoff"; reason: string; delayMs: number };

const REASONS: Record<number, string> = {
  401: "logged out",
  403: "forbidden",
  408: "timed out",
  411: "multi-device mismatch",
  428: "connection closed",
  440: "connection replaced by another session",
  500: "bad session",
  503: "service unavailable",
  515: "restart required",
};

export function describeDisconnect(statusCode: number | undefined): string {
  if (statusCode === undefined) return "connection lost";
  return `${REASONS[statusCode] ?? "disconnected"} (${statusCode})`;
}

/** Exponential backoff with "equal jitter": half fixed, half random, so retries spread but never collapse to 0. */
export function backoffDelay(attempt: number, cfg: ReconnectPolicyConfig, random: () => number = Math.random): number {
  const exp = Math.min(cfg.maxMs, cfg.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}

export function decideOnDisconnect(
  statusCode: number | undefined,
  ctx: { attempt: number; wasShowingQr: boolean; config: ReconnectPolicyConfig; random?: () => number },
): DisconnectDecision {
  const reason = describeDisconnect(statusCode);
  switch (statusCode) {
    case 401:
      return { action: "logged_out", reason };
    case 515:
      return { action: "reconnect_now", reason };
    case 403:
    case 411:
    case 440:
      return { action: "stop", reason };
    case 408:
      if (ctx.wasShowingQr) return { action: "stop", reason: "QR code expired without a scan (408)" };
      break;
  }
  return { action: "backoff", reason, delayMs: backoffDelay(ctx.attempt, ctx.config, ctx.random) };
}
