/** Shorthands for request bodies and responses in route declarations. */
import type { Context, TypedResponse } from "hono";
import type { ZodType } from "zod";

export function jsonContent<S extends ZodType>(schema: S, description: string) {
  return { description, content: { "application/json": { schema } } } as const;
}

export function jsonBody<S extends ZodType>(schema: S, description?: string) {
  return { required: true, description, content: { "application/json": { schema } } } as const;
}

/**
 * A 204. Hono types `c.body(null, 204)` as a null body, which the route typing cannot match to a
 * declared response without content; the cast says exactly that and nothing more.
 */
export function noContent(c: Context): TypedResponse<Record<string, never>, 204, string> {
  return c.body(null, 204) as unknown as TypedResponse<Record<string, never>, 204, string>;
}
