/**
 * Arrays as ONE query parameter. drizzle's sql`` expands a JS array into a tuple `($1, $2, …)`,
 * which `unnest(...)` and `= any(...)` cannot take; these pass a single Postgres array literal.
 */
import { type SQL, sql } from "drizzle-orm";

/** `int[]` from integers (validated, so the literal needs no escaping). */
export function intArray(values: number[]): SQL {
  for (const v of values) if (!Number.isSafeInteger(v)) throw new TypeError(`not an integer: ${v}`);
  return sql`${`{${values.join(",")}}`}::int[]`;
}

/** `text[]` from strings: a JSON array unpacked by Postgres, so no quoting rules of our own. */
export function textArray(values: string[]): SQL {
  return sql`array(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;
}
