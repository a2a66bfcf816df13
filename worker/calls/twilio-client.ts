/**
 * Twilio's REST API over plain fetch (the `twilio` package is CommonJS and Node-only): create a call
 * and fetch a call's status. Basic auth with TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN; the base URL is
 * TWILIO_API_BASE_URL (tests point it at a local fake speaking the same wire format).
 *
 * Failures are TwilioApiError, classified for the caller: 4xx (except 429) is permanent — retrying
 * the same request cannot succeed; 5xx, 429, timeouts and network errors are retryable.
 */
import { type Config, ConfigError } from "../config";

export interface TwilioCall {
  sid: string;
  status: string;
  to: string | null;
  from: string | null;
  direction: string | null;
  /** Seconds, once the call ended. */
  duration: number | null;
  /** Twilio's date_created (whole seconds), epoch ms. */
  createdAt: number | null;
}

export type TwilioErrorKind = "permanent" | "retryable";

export class TwilioApiError extends Error {
  override readonly name = "TwilioApiError";
  constructor(
    readonly kind: TwilioErrorKind,
    message: string,
    /** HTTP status, or null when no response arrived (network error, timeout). */
    readonly httpStatus: number | null,
    /** Twilio's error code (e.g. 21211 invalid 'To' number), when it sent one. */
    readonly twilioCode: number | null = null,
    readonly moreInfo: string | null = null,
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.kind === "retryable";
  }
}

export interface CreateCallInput {
  to: string;
  from: string;
  /** Where Twilio posts call progress (initiated, ringing, answered, completed). */
  statusCallback: string;
  /** What the call does once answered: inline TwiML, or a URL Twilio fetches it from. */
  answer: { twiml: string } | { url: string };
  /** Seconds to let the phone ring (Twilio's `Timeout`). */
  ringTimeoutSeconds: number;
  /** Longest the call may last (Twilio's `TimeLimit`). */
  timeLimitSeconds: number;
}

export interface TwilioClient {
  createCall(input: CreateCallInput): Promise<TwilioCall>;
  fetchCall(callSid: string): Promise<TwilioCall>;
  /** The account's most recent calls To/From these numbers (newest first, one page). */
  listCalls(filter: { to: string; from: string }): Promise<TwilioCall[]>;
}

/** Longest we wait for Twilio; well under the ring timeout, so an unconfirmed lease is never freed early. */
const REQUEST_TIMEOUT_MS = 15_000;
const CALL_SID = /^CA[0-9a-f]{32}$/i;

export function twilioClient(config: Config, opts: { timeoutMs?: number } = {}): TwilioClient {
  const { TWILIO_ACCOUNT_SID: sid, TWILIO_AUTH_TOKEN: token } = config;
  if (!sid || !token) {
    const missing = [!sid && "TWILIO_ACCOUNT_SID", !token && "TWILIO_AUTH_TOKEN"].filter((v): v is string => !!v);
    throw new ConfigError(missing.map((variable) => ({ variable, message: "is not set; Twilio calls need it" })));
  }
  const base = `${config.TWILIO_API_BASE_URL.replace(/\/+$/, "")}/2010-04-01/Accounts/${encodeURIComponent(sid)}`;
  const authorization = `Basic ${btoa(`${sid}:${token}`)}`;
  const timeoutMs = opts.timeoutMs ?? REQUEST_TIMEOUT_MS;

  async function request(method: "GET" | "POST", path: string, form?: URLSearchParams): Promise<TwilioCall> {
    return callOf(await requestJson(method, path, form), `${method} ${path}`);
  }

  async function requestJson(
    method: "GET" | "POST",
    path: string,
    form?: URLSearchParams,
  ): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: {
          Authorization: authorization,
          Accept: "application/json",
          ...(form ? { "Content-Type": "application/x-www-form-urlencoded" } : {}),
        },
        body: form?.toString(),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
      const what = timedOut ? `no answer within ${timeoutMs} ms` : `network error: ${String(err)}`;
      throw new TwilioApiError("retryable", `Twilio ${method} ${path}: ${what}`, null);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      // The answer was cut off. After a 2xx, Twilio may have acted (created the call): report it
      // like a timeout — no HTTP status — so a caller never repeats a create whose outcome is unknown.
      throw new TwilioApiError(
        "retryable",
        `Twilio ${method} ${path}: answer cut off: ${String(err)}`,
        res.ok ? null : res.status,
      );
    }
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      // A proxy's HTML error page, say: keep the status, report the start of the text.
      body = { message: text.slice(0, 200) };
    }
    if (!res.ok) {
      const kind: TwilioErrorKind = res.status >= 500 || res.status === 429 ? "retryable" : "permanent";
      const code = typeof body.code === "number" ? body.code : null;
      const message = typeof body.message === "string" && body.message ? body.message : res.statusText;
      const moreInfo = typeof body.more_info === "string" ? body.more_info : null;
      throw new TwilioApiError(
        kind,
        `Twilio ${res.status}${code ? ` (error ${code})` : ""}: ${message}`,
        res.status,
        code,
        moreInfo,
      );
    }
    return body;
  }

  return {
    createCall(input) {
      const form = new URLSearchParams({
        To: input.to,
        From: input.from,
        StatusCallback: input.statusCallback,
        StatusCallbackMethod: "POST",
        Timeout: String(input.ringTimeoutSeconds),
        TimeLimit: String(input.timeLimitSeconds),
      });
      // Repeated parameter, one per event (Twilio's documented form).
      for (const event of ["initiated", "ringing", "answered", "completed"]) form.append("StatusCallbackEvent", event);
      if ("twiml" in input.answer) form.set("Twiml", input.answer.twiml);
      else form.set("Url", input.answer.url);
      return request("POST", "/Calls.json", form);
    },
    fetchCall(callSid) {
      if (!CALL_SID.test(callSid)) {
        return Promise.reject(new TwilioApiError("permanent", `not a Twilio call sid: ${callSid.slice(0, 40)}`, null));
      }
      return request("GET", `/Calls/${callSid}.json`);
    },
    async listCalls(filter) {
      const q = new URLSearchParams({ To: filter.to, From: filter.from, PageSize: "50" });
      const path = `/Calls.json?${q}`;
      const body = await requestJson("GET", path);
      if (!Array.isArray(body.calls)) {
        throw new TwilioApiError("retryable", `Twilio GET /Calls.json: unexpected response without calls`, null);
      }
      return body.calls.map((c) => callOf(c as Record<string, unknown>, `GET /Calls.json`));
    },
  };
}

function callOf(body: Record<string, unknown>, what: string): TwilioCall {
  if (typeof body.sid !== "string" || typeof body.status !== "string") {
    throw new TwilioApiError(
      "retryable",
      `Twilio ${what}: unexpected response without sid/status`,
      // Unknown outcome (see above): no status, so it is never taken for a safe-to-repeat error.
      null,
    );
  }
  const str = (v: unknown) => (typeof v === "string" ? v : null);
  const duration = body.duration === null || body.duration === undefined ? null : Number(body.duration);
  const created = typeof body.date_created === "string" ? Date.parse(body.date_created) : Number.NaN;
  return {
    sid: body.sid,
    status: body.status,
    to: str(body.to),
    from: str(body.from),
    direction: str(body.direction),
    duration: Number.isFinite(duration) ? duration : null,
    createdAt: Number.isFinite(created) ? created : null,
  };
}
