/**
 * Request validation at the edge of the system: every route validates its body, query and params
 * with zod through this one helper, so every refusal is the same 400 naming the fields.
 */
import type { ValidationTargets } from "hono";
import { validator } from "hono/validator";
import type { z } from "zod";
import { validationError } from "../errors";

const whereOf = { json: "body", form: "form", query: "query", param: "params" } as const;

export function validate<Target extends keyof typeof whereOf & keyof ValidationTargets, Schema extends z.ZodType>(
  target: Target,
  schema: Schema,
) {
  return validator(target, (value): z.output<Schema> => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw validationError(parsed.error, whereOf[target]);
    return parsed.data;
  });
}
