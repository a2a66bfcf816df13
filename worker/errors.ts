/**
 * One error shape for every failure: `{ "error": { "code", "message", "details"? } }`.
 * Routes throw ApiError; zod failures go through `validationError`; anything else becomes a 500
 * whose body says nothing about internals (the details go to the log with the request id).
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError, ZodType } from "zod";
import { ConfigError } from "./config";
import { log, safeErrorMessage, safeStack } from "./lib/log";

export const errorStatus = {
  validation_failed: 400,
  bad_request: 400,
  invalid_csv: 400,
  invalid_encoding: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  invalid_signature: 403,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  duplicate_phone: 409,
  status_in_use: 409,
  business_not_selected: 409,
  call_capacity_reached: 409,
  payload_too_large: 413,
  too_many_rows: 413,
  unsupported_media_type: 415,
  /** A WebSocket route opened without `Upgrade: websocket`. */
  upgrade_required: 426,
  rate_limited: 429,
  /** First-run setup after a user exists. */
  already_set_up: 409,
  /** First-run setup in production without the setup token from the logs. */
  invalid_setup_token: 403,
  /** The business's WhatsApp shard did not answer, or is shutting down or full. */
  whatsapp_unavailable: 503,
  /** The WhatsApp session is not open (not connected, waiting for a QR scan, logged out). */
  whatsapp_session_not_open: 409,
  /** The shard refused on a fencing token or idempotency key (a move or a retried send). */
  whatsapp_conflict: 409,
  /** The shard refused or failed the request (its code is in details.shardCode). */
  whatsapp_failed: 502,
  internal_error: 500,
  config_invalid: 500,
  upstream_failed: 502,
  service_unavailable: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof errorStatus;

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export class ApiError extends HTTPException {
  constructor(
    readonly code: ErrorCode | (string & {}),
    message: string,
    readonly details?: unknown,
    status?: ContentfulStatusCode,
    readonly headers?: Record<string, string>,
  ) {
    super(status ?? errorStatus[code as ErrorCode] ?? 500, { message });
    this.name = "ApiError";
  }
}

export function notFound(what: string): ApiError {
  return new ApiError("not_found", `${what} not found`);
}

// biome-ignore lint/suspicious/noExplicitAny: zod's internal definition tree is untyped
type SchemaNode = any;

/**
 * The keys an object schema knows at `path` (through optional, nullable, default, pipe/transform,
 * array and readonly wrappers), so a refused unknown field can list what the route accepts.
 */
export function knownKeysAt(schema: ZodType | undefined, path: readonly PropertyKey[]): string[] {
  let node: SchemaNode = schema;
  const step = (n: SchemaNode): SchemaNode => {
    const def = n?._zod?.def;
    if (!def) return undefined;
    if (["optional", "nullable", "default", "readonly", "catch", "nonoptional", "prefault"].includes(def.type))
      return def.innerType;
    if (def.type === "pipe") return def.in;
    return undefined;
  };
  const unwrap = (n: SchemaNode): SchemaNode => {
    let current = n;
    for (let i = 0; i < 10; i++) {
      const next = step(current);
      if (!next) break;
      current = next;
    }
    return current;
  };
  for (const key of path) {
    node = unwrap(node);
    const def = node?._zod?.def;
    if (def?.type === "object") node = def.shape[key as string];
    else if (def?.type === "array") node = def.element;
    else return [];
  }
  node = unwrap(node);
  const def = node?._zod?.def;
  return def?.type === "object" ? Object.keys(def.shape) : [];
}

/** A 400 naming every field zod refused (an unknown field also learns the fields that are known). */
export function validationError(
  error: ZodError,
  where: "body" | "query" | "params" | "form" = "body",
  schema?: ZodType,
): ApiError {
  const fields = error.issues.flatMap((issue) => {
    const prefix = issue.path.join(".");
    // zod reports extra keys as one issue at the parent: name each key instead.
    if (issue.code === "unrecognized_keys") {
      const known = knownKeysAt(schema, issue.path);
      const hint = known.length > 0 ? ` (known fields: ${known.join(", ")})` : "";
      return issue.keys.map((key) => ({
        field: prefix ? `${prefix}.${key}` : key,
        message: `is not a known field${hint}`,
      }));
    }
    return [{ field: prefix || where, message: issue.message }];
  });
  const names = [...new Set(fields.map((f) => f.field))];
  return new ApiError("validation_failed", `Invalid ${where}: ${names.join(", ")}`, { fields });
}

export function errorBody(code: string, message: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

export function handleError(err: Error, c: Context): Response {
  if (err instanceof ApiError) {
    const res = c.json(errorBody(err.code, err.message, err.details), err.status);
    for (const [k, v] of Object.entries(err.headers ?? {})) res.headers.set(k, v);
    return res;
  }
  if (err instanceof ConfigError) {
    // Operators need to know which variable is wrong; values are never echoed.
    log.error(err.message, { requestId: c.get("requestId") });
    return c.json(errorBody("config_invalid", err.message, { variables: err.issues.map((i) => i.variable) }), 500);
  }
  if (err instanceof HTTPException) {
    // Hono's own (e.g. body limit, malformed JSON from a validator): keep its status, our shape.
    const status = err.status as ContentfulStatusCode;
    const code = status === 413 ? "payload_too_large" : status >= 500 ? "internal_error" : "bad_request";
    return c.json(errorBody(code, err.message || "Request refused"), status);
  }
  // Never the raw message: a database error's carries the SQL and its parameters.
  log.error("unhandled error", { requestId: c.get("requestId"), error: safeErrorMessage(err), stack: safeStack(err) });
  return c.json(errorBody("internal_error", "Something went wrong; the request id identifies it in our logs."), 500);
}
