/**
 * What happens to a simulated call after Twilio accepted it: its status moves queued → initiated →
 * ringing → in-progress → completed (or ends no-answer, busy, failed, canceled), and each step the
 * call asked for (`StatusCallbackEvent`) is posted to its `StatusCallback` URL, form-encoded and
 * signed with X-Twilio-Signature by the official `twilio` package, as Twilio does.
 *
 * Two ways to drive a call:
 *   - automatic (`settings.auto`): each call draws an outcome from the configured rates and runs
 *     through it with the configured delays (`npm run dev`, benchmarks);
 *   - by hand (`act`): answer, answer as a machine, end, fail, busy, no-answer (the console page,
 *     tests). With `auto` off (the default for tests) nothing moves unless told, so tests stay
 *     deterministic.
 */
import twilio from "twilio";

export type CallOutcome = "human" | "machine" | "no-answer" | "busy" | "failed";
export type CallAction = "answer" | "machine" | "end" | "fail" | "busy" | "no-answer";
export const CALL_ACTIONS: readonly CallAction[] = ["answer", "machine", "end", "fail", "busy", "no-answer"];

const TERMINAL = new Set(["completed", "busy", "failed", "no-answer", "canceled"]);
export const isTerminal = (status: string) => TERMINAL.has(status);

export interface CallFlowSettings {
  /** Calls run through their lifecycle by themselves. Off: they stay queued until an action. */
  auto: boolean;
  /** queued → initiated. */
  initiateMs: number;
  /** ringing → answered (a person or a machine). */
  ringMs: number;
  /** answered by a person → completed. */
  talkMs: number;
  /** answered by a machine → completed (a voicemail greeting is short). */
  machineTalkMs: number;
  /** ringing → no-answer; never longer than the call's own `Timeout`. */
  noAnswerMs: number;
  /** Shares of calls (0-1) that end no-answer, busy or failed, or reach a machine; the rest reach a person. */
  noAnswerRate: number;
  busyRate: number;
  failedRate: number;
  machineRate: number;
  /** Post only the terminal callback (benchmarks that measure the dial path, not progress events). */
  terminalCallbacksOnly: boolean;
}

export const defaultCallFlowSettings: CallFlowSettings = {
  auto: false,
  initiateMs: 300,
  ringMs: 3_000,
  talkMs: 10_000,
  machineTalkMs: 4_000,
  noAnswerMs: 15_000,
  noAnswerRate: 0.1,
  busyRate: 0.05,
  failedRate: 0.02,
  machineRate: 0.1,
  terminalCallbacksOnly: false,
};

/** The part of a call the flow reads and moves. */
export interface FlowCall {
  sid: string;
  to: string;
  from: string;
  status: string;
  params: Record<string, string | string[]>;
  answeredBy?: "human" | "machine_start";
  startedAt?: Date;
  endedAt?: Date;
  /** Seconds between answer and hang-up (Twilio's CallDuration); 0 for unanswered calls. */
  duration?: number;
  callbacks: { status: string; httpStatus: number | null; error?: string; at: string }[];
}

export function drawOutcome(s: CallFlowSettings, random = Math.random): CallOutcome {
  const shares: [CallOutcome, number][] = [
    ["no-answer", s.noAnswerRate],
    ["busy", s.busyRate],
    ["failed", s.failedRate],
    ["machine", s.machineRate],
  ];
  let r = random();
  for (const [outcome, share] of shares) {
    if (r < share) return outcome;
    r -= share;
  }
  return "human";
}

/** Twilio's SIP response code for each final status (sent with status callbacks). */
const SIP_CODES: Record<string, string> = {
  completed: "200",
  busy: "486",
  "no-answer": "487",
  canceled: "487",
  failed: "500",
};

export class CallFlow {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly sequence = new Map<string, number>();
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly deps: {
      settings: CallFlowSettings;
      accountSid: string;
      authToken: string;
      /** Deliver callbacks to this origin instead of the URL's own (signatures still cover the URL as given). */
      callbackOrigin?: string;
      onStatus?: (call: FlowCall, status: string) => void;
      log: (line: string) => void;
    },
  ) {}

  get settings(): CallFlowSettings {
    return this.deps.settings;
  }

  /** A call was just created (status queued). */
  start(call: FlowCall): void {
    const s = this.deps.settings;
    if (!s.auto) return;
    const outcome = drawOutcome(s);
    this.later(call, s.initiateMs, () => {
      this.move(call, "initiated");
      if (outcome === "failed") return this.later(call, s.initiateMs, () => this.finish(call, "failed"));
      if (outcome === "busy") return this.later(call, 1_000, () => this.finish(call, "busy"));
      this.later(call, s.initiateMs, () => {
        this.move(call, "ringing");
        if (outcome === "no-answer") {
          const timeout = Number(call.params.Timeout) * 1000;
          const wait = Number.isFinite(timeout) && timeout > 0 ? Math.min(timeout, s.noAnswerMs) : s.noAnswerMs;
          return this.later(call, wait, () => this.finish(call, "no-answer"));
        }
        this.later(call, outcome === "machine" ? s.ringMs / 2 : s.ringMs, () =>
          this.answer(call, outcome === "machine" ? "machine_start" : "human"),
        );
      });
    });
  }

  /** A hand-driven step. Returns an error message when the call cannot take it. */
  act(call: FlowCall, action: CallAction): string | null {
    if (isTerminal(call.status)) return `the call is already ${call.status}`;
    this.cancelTimer(call.sid);
    switch (action) {
      case "answer":
      case "machine":
        if (call.status === "in-progress") return "the call is already answered";
        this.answer(call, action === "machine" ? "machine_start" : "human");
        return null;
      case "end":
        this.finish(call, call.status === "in-progress" ? "completed" : "canceled");
        return null;
      case "fail":
        this.finish(call, "failed");
        return null;
      case "busy":
      case "no-answer":
        if (call.status === "in-progress") return "the call is already answered";
        if (action === "no-answer" && call.status !== "ringing") this.move(call, "ringing");
        this.finish(call, action);
        return null;
    }
  }

  /** Waits for the callbacks already on their way (tests, shutdown). */
  async settle(): Promise<void> {
    await Promise.all(this.chains.values());
  }

  stop(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private answer(call: FlowCall, by: "human" | "machine_start"): void {
    if (call.status === "queued") this.move(call, "initiated");
    if (call.status === "initiated") this.move(call, "ringing");
    call.answeredBy = by;
    call.startedAt = new Date();
    this.move(call, "in-progress");
    const s = this.deps.settings;
    if (s.auto)
      this.later(call, by === "machine_start" ? s.machineTalkMs : s.talkMs, () => this.finish(call, "completed"));
  }

  private finish(call: FlowCall, status: "completed" | "busy" | "failed" | "no-answer" | "canceled"): void {
    call.endedAt = new Date();
    call.duration =
      status === "completed" && call.startedAt
        ? Math.max(1, Math.round((call.endedAt.getTime() - call.startedAt.getTime()) / 1000))
        : 0;
    this.move(call, status);
    this.cancelTimer(call.sid);
  }

  private move(call: FlowCall, status: string): void {
    call.status = status;
    this.deps.onStatus?.(call, status);
    const event = status === "in-progress" ? "answered" : isTerminal(status) ? "completed" : status;
    const requested = call.params.StatusCallbackEvent;
    const events = Array.isArray(requested) ? requested : requested ? [requested] : [];
    // Twilio always reports the final status; progress events only when the call asked for them.
    const wanted = event === "completed" || (!this.deps.settings.terminalCallbacksOnly && events.includes(event));
    if (!wanted || typeof call.params.StatusCallback !== "string") return;
    const params = this.callbackParams(call, status);
    const previous = this.chains.get(call.sid) ?? Promise.resolve();
    // One call's callbacks go out in order, each after the previous one was answered.
    const next = previous.then(() => this.deliver(call, String(call.params.StatusCallback), params, status));
    this.chains.set(call.sid, next);
    void next.finally(() => {
      if (this.chains.get(call.sid) === next) this.chains.delete(call.sid);
    });
  }

  private callbackParams(call: FlowCall, status: string): Record<string, string> {
    const seq = this.sequence.get(call.sid) ?? 0;
    this.sequence.set(call.sid, seq + 1);
    const params: Record<string, string> = {
      AccountSid: this.deps.accountSid,
      ApiVersion: "2010-04-01",
      CallSid: call.sid,
      CallStatus: status,
      CallbackSource: "call-progress-events",
      Called: call.to,
      Caller: call.from,
      Direction: "outbound-api",
      From: call.from,
      SequenceNumber: String(seq),
      Timestamp: new Date().toUTCString(),
      To: call.to,
    };
    if (isTerminal(status)) {
      params.CallDuration = String(call.duration ?? 0);
      params.Duration = String(Math.ceil((call.duration ?? 0) / 60));
      params.SipResponseCode = SIP_CODES[status] ?? "500";
    }
    // Twilio reports AnsweredBy only to calls placed with machine detection.
    if (call.answeredBy && call.params.MachineDetection) params.AnsweredBy = call.answeredBy;
    return params;
  }

  private async deliver(call: FlowCall, url: string, params: Record<string, string>, status: string): Promise<void> {
    const signature = twilio.getExpectedTwilioSignature(this.deps.authToken, url, params);
    const target = new URL(url);
    const deliverTo = this.deps.callbackOrigin
      ? new URL(`${target.pathname}${target.search}`, this.deps.callbackOrigin)
      : target;
    // Twilio retries a callback once when the connection fails or times out (15 s).
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        const res = await fetch(deliverTo, {
          method: "POST",
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
            "User-Agent": "TwilioProxy/1.1",
          },
          body: new URLSearchParams(params).toString(),
          signal: AbortSignal.timeout(15_000),
        });
        await res.arrayBuffer();
        call.callbacks.push({ status, httpStatus: res.status, at: new Date().toISOString() });
        if (res.status >= 400) this.deps.log(`callback ${status} for ${call.sid} answered ${res.status}`);
        return;
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        if (attempt === 2) {
          call.callbacks.push({ status, httpStatus: null, error, at: new Date().toISOString() });
          this.deps.log(`callback ${status} for ${call.sid} to ${deliverTo.origin} failed: ${error}`);
        }
      }
    }
  }

  private later(call: FlowCall, ms: number, step: () => void): void {
    this.cancelTimer(call.sid);
    const timer = setTimeout(() => {
      this.timers.delete(call.sid);
      if (!isTerminal(call.status)) step();
    }, ms);
    this.timers.set(call.sid, timer);
  }

  private cancelTimer(sid: string): void {
    const timer = this.timers.get(sid);
    if (timer) clearTimeout(timer);
    this.timers.delete(sid);
  }
}
