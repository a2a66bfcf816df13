/**
 * A request body the contract documents but the router must not read: Twilio webhooks and shard
 * deliveries are signed over their raw bytes, and the handler checks the signature before anything
 * parses the body (an unsigned request is refused as such, not as bad input). A plain JSON Schema
 * (not a zod schema) in a declaration is documented by @hono/zod-openapi without adding a
 * validator, so it is derived here from the zod schema the handler validates with after the check.
 */
import type { ZodRequestBody } from "@asteasolutions/zod-to-openapi";
import { z } from "@hono/zod-openapi";
import type { ZodType } from "zod";

type SchemaObject =
  NonNullable<ZodRequestBody["content"][string]> extends infer M
    ? M extends { schema?: infer S }
      ? Exclude<S, ZodType<unknown> | { $ref: string } | undefined>
      : never
    : never;

type SignedMedia = "application/json" | "application/x-www-form-urlencoded";

export function signedBody(schema: ZodType, mediaType: SignedMedia, description: string): ZodRequestBody {
  const { $schema: _, ...jsonSchema } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
  // JSON Schema 2020-12 is OpenAPI 3.1's schema dialect: the object is used as it is.
  return { required: true, description, content: { [mediaType]: { schema: jsonSchema as SchemaObject } } };
}
