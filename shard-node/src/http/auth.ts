import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { ShardError } from "../errors.js";

/**
 * Compares secrets in constant time: both sides are hashed first so the comparison does not
 * depend on (or leak) their lengths.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a).digest();
  const hb = createHash("sha256").update(b).digest();
  return timingSafeEqual(ha, hb);
}

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
  return match?.[1]?.trim();
}

/** Requires `Authorization: Bearer <secret>`. */
export function requireBearer(secret: string, what = "shard secret"): MiddlewareHandler {
  return async (c, next) => {
    const token = bearerToken(c.req.header("authorization"));
    if (!token || !constantTimeEqual(token, secret)) {
      c.header("www-authenticate", 'Bearer realm="shard"');
      throw new ShardError("unauthorized", `missing or wrong bearer token (${what})`);
    }
    await next();
  };
}
