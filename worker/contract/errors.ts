/**
 * The error half of the contract: the one error shape (`worker/errors.ts`) as an OpenAPI schema,
 * and the error responses each route declares, grouped by HTTP status with the machine-readable
 * codes that status can carry on that route.
 */
import { z } from "@hono/zod-openapi";
import { type ErrorCode, errorStatus } from "../errors";

/** `details.fields` of a 400 `validation_failed`: one entry per refused field. */
export const fieldErrorSchema = z.strictObject({ field: z.string(), message: z.string() });

function errorBodySchema(codes: readonly string[]) {
  return z
    .strictObject({
      error: z.strictObject({
        code: codes.length > 0 ? z.enum(codes as [string, ...string[]]) : z.string(),
        message: z.string(),
        // Shape varies by code (fields for validation_failed, counts for call_capacity_reached …).
        details: z.unknown().optional(),
      }),
    })
    .openapi({ description: "The one error shape: a machine-readable code, a message, optional details." });
}

const statusText: Record<number, string> = {
  400: "Refused input (each refused field is named in details.fields)",
  401: "Not signed in, or the credentials are wrong",
  403: "Signed in, but not allowed (role, signature, origin)",
  404: "No such resource in this business",
  405: "Method not allowed",
  409: "Conflicts with the current state",
  413: "Body larger than this route accepts",
  415: "Content type this route does not accept",
  429: "Rate limited (see Retry-After)",
  500: "A bug: the X-Request-Id header finds it in the logs",
  502: "An upstream (Twilio, a shard) failed",
  503: "Not available now (configuration missing, dependency down)",
};

export type ErrorResponses = Record<
  number,
  { description: string; content: { "application/json": { schema: ReturnType<typeof errorBodySchema> } } }
>;

/** Error responses for these codes, one entry per status they map to. */
export function errorResponses(codes: readonly ErrorCode[]): ErrorResponses {
  const byStatus = new Map<number, Set<string>>();
  for (const code of codes) {
    const status = errorStatus[code];
    if (!byStatus.has(status)) byStatus.set(status, new Set());
    byStatus.get(status)!.add(code);
  }
  const responses: ErrorResponses = {};
  for (const [status, set] of [...byStatus].sort(([a], [b]) => a - b)) {
    const list = [...set].sort();
    responses[status] = {
      description: `${statusText[status] ?? "Error"}: ${list.join(", ")}`,
      content: { "application/json": { schema: errorBodySchema(list) } },
    };
  }
  return responses;
}
