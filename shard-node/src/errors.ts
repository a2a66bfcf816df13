/**
 * One error shape for every failure: `{ "error": { "code", "message", "details"? } }`, with the
 * code → status map from contracts/shard-api.ts. Routes throw ShardError; zod failures become a 400
 * naming the fields; anything else is a 500 that says nothing about internals.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";
import { type ShardErrorBody, type ShardErrorCode, shardErrorStatus } from "../../contracts/shard-api.js";
import type { Logger } from "./logger.js";

export class ShardError extends Error {
  readonly status: ContentfulStatusCode;
  constructor(
    readonly code: ShardErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ShardError";
    this.status = shardErrorStatus[code];
  }
}

export function errorBody(code: string, message: string, details?: unknown): ShardErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** A 400 naming every field zod refused. */
export function validationError(error: ZodError, where: "body" | "params"): ShardError {
  const fields = error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.join(".") : where,
    message: issue.message,
  }));
  const names = [...new Set(fields.map((f) => f.field))];
  return new ShardError("validation_failed", `Invalid ${where}: ${names.join(", ")}`, { fields });
}

export function handleError(err: Error, c: Context, logger: Logger): Response {
  if (err instanceof ShardError) {
    return c.json(errorBody(err.code, err.message, err.details), err.status);
  }
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    const code = status === 413 ? "payload_too_large" : status === 401 ? "unauthorized" : "bad_request";
    return c.json(errorBody(code, err.message || "bad request"), status);
  }
  logger.error({ err, method: c.req.method, path: c.req.path }, "unhandled error");
  return c.json(errorBody("internal_error", "internal error"), 500);
}
