/**
 * The edge's client for a shard node's HTTP API (contracts/shard-api.ts): bearer = that shard's
 * own key (shard-router.ts shardSecret), a timeout, and errors turned into a typed ShardError
 * carrying the shard's machine code.
 */
import {
  encodeHeaderJson,
  SEND_MEDIA_HEADER,
  type SendMediaRequest,
  type SendMessageRequest,
  type SendMessageResponse,
  type SessionInfo,
  type ShardHealth,
  type StartSessionRequest,
  sendMessageResponse,
  sessionInfo,
  shardErrorBody,
  shardHealth,
} from "../../contracts/shard-api";
import type { Config } from "../config";
import { ConfigError } from "../config";
import { shardSecret, shardUrl } from "./shard-router";

export class ShardError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ShardError";
  }

  /** Network failure, timeout or 5xx: the same request may succeed later. */
  get retryable(): boolean {
    return this.status === 0 || this.status >= 500;
  }
}

const TIMEOUT_MS = 15_000;
/** Media moves up to 100 MB each way between the edge and WhatsApp's CDN through the shard. */
const MEDIA_TIMEOUT_MS = 120_000;

export class ShardClient {
  constructor(
    readonly baseUrl: string,
    private readonly secret: string | Promise<string | undefined>,
    private readonly shard = 0,
  ) {}

  /** The client for shard N: its URL and its own key, both from shard-router.ts. */
  static forConfig(config: Config, shard: number): ShardClient {
    if (!config.SHARD_SECRET && !config.shardSecretOverrides.has(shard)) {
      throw new ConfigError([
        {
          variable: `SHARD_${shard}_SECRET`,
          message: "is not set (nor SHARD_SECRET to derive it from); the edge cannot call this WhatsApp shard",
        },
      ]);
    }
    return new ShardClient(shardUrl(config, shard), shardSecret(config, shard), shard);
  }

  /** One request; a non-2xx answer becomes a ShardError with the shard's code. */
  private async request(
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: BodyInit; timeoutMs?: number } = {},
  ): Promise<Response> {
    const secret = await this.secret;
    if (!secret) {
      throw new ConfigError([{ variable: `SHARD_${this.shard}_SECRET`, message: "unknown shard: no key for it" }]);
    }
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { Authorization: `Bearer ${secret}`, ...init.headers },
        body: init.body,
        signal: AbortSignal.timeout(init.timeoutMs ?? TIMEOUT_MS),
      });
    } catch (err) {
      throw new ShardError(0, "shard_unreachable", `shard at ${this.baseUrl} did not answer: ${String(err)}`);
    }
    if (!res.ok) {
      const json = (await res.json().catch(() => null)) as unknown;
      const parsed = shardErrorBody.safeParse(json);
      const error = parsed.success
        ? parsed.data.error
        : { code: "shard_error", message: `shard answered ${res.status}` };
      throw new ShardError(
        res.status,
        error.code,
        error.message,
        parsed.success ? parsed.data.error.details : undefined,
      );
    }
    return res;
  }

  private async call<T>(method: string, path: string, body: unknown, parse: (v: unknown) => T): Promise<T> {
    const res = await this.request(method, path, {
      ...(body === undefined ? {} : { headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }),
    });
    return parse((await res.json().catch(() => null)) as unknown);
  }

  /** Sends a file: the body streams from R2 to the shard; its description rides in a header. */
  async sendMedia(
    businessId: number,
    meta: SendMediaRequest,
    body: ReadableStream | ArrayBuffer,
  ): Promise<SendMessageResponse> {
    const res = await this.request("POST", `/sessions/${businessId}/media-messages`, {
      headers: {
        "Content-Type": meta.mimetype,
        "Content-Length": String(meta.sizeBytes),
        [SEND_MEDIA_HEADER]: encodeHeaderJson(meta),
      },
      body,
      timeoutMs: MEDIA_TIMEOUT_MS,
    });
    return sendMessageResponse.parse(await res.json());
  }

  /** Downloads a message's media through the shard: the answer's body is the file (X-Media-Sha256). */
  downloadMedia(businessId: number, ref: string): Promise<Response> {
    return this.request("POST", `/sessions/${businessId}/media/download`, {
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ref }),
      timeoutMs: MEDIA_TIMEOUT_MS,
    });
  }

  /** The shard's own health (sessions by state, outbox), for the platform admin page. */
  health(): Promise<ShardHealth> {
    return this.call("GET", "/health", undefined, (v) => shardHealth.parse(v));
  }

  startSession(businessId: number, body: StartSessionRequest = {}): Promise<SessionInfo> {
    return this.call("POST", `/sessions/${businessId}/start`, body, (v) => sessionInfo.parse(v));
  }

  getSession(businessId: number): Promise<SessionInfo> {
    return this.call("GET", `/sessions/${businessId}`, undefined, (v) => sessionInfo.parse(v));
  }

  stopSession(businessId: number, fencingToken?: number): Promise<SessionInfo> {
    return this.call("POST", `/sessions/${businessId}/stop`, fencingToken === undefined ? {} : { fencingToken }, (v) =>
      sessionInfo.parse(v),
    );
  }

  logout(businessId: number, fencingToken?: number): Promise<SessionInfo> {
    return this.call(
      "POST",
      `/sessions/${businessId}/logout`,
      fencingToken === undefined ? {} : { fencingToken },
      (v) => sessionInfo.parse(v),
    );
  }

  sendText(businessId: number, body: SendMessageRequest): Promise<SendMessageResponse> {
    return this.call("POST", `/sessions/${businessId}/messages`, body, (v) => sendMessageResponse.parse(v));
  }
}
