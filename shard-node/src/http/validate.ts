import type { Context } from "hono";
import type { z } from "zod";
import { businessIdParam } from "../../../contracts/shard-api.js";
import { ShardError, validationError } from "../errors.js";

/** Reads and validates a JSON body; an empty body counts as `{}`. */
export async function readJson<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  const raw = await c.req.text();
  let value: unknown = {};
  if (raw.trim() !== "") {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ShardError("invalid_json", "body is not valid JSON");
    }
  }
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error, "body");
  return result.data;
}

export function businessIdOf(c: Context): number {
  const result = businessIdParam.safeParse(c.req.param("businessId"));
  if (!result.success) {
    throw new ShardError("validation_failed", "Invalid params: businessId", {
      fields: [{ field: "businessId", message: "must be a positive integer" }],
    });
  }
  return result.data;
}
