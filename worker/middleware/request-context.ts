import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { getConfig } from "../config";
import { type DbHandle, openDb } from "../db/client";

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * Sets the request id (echoing a sane incoming X-Request-Id, else a new uuid), the parsed config
 * and a lazy per-request database whose pool is closed after the response with waitUntil.
 */
export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  const incoming = c.req.header("x-request-id");
  const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
  c.set("requestId", requestId);
  c.header("X-Request-Id", requestId);

  let handle: DbHandle | undefined;
  c.set("db", () => {
    handle ??= openDb(c.get("config"));
    return handle.db;
  });
  try {
    // Parsed inside the try so a bad setting becomes the one-shape 500 naming the variable.
    c.set("config", getConfig(c.env));
    await next();
  } finally {
    if (handle) c.executionCtx.waitUntil(handle.close());
  }
});
