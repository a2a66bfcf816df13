/**
 * Drift guard, test runs only: every response a route gives is checked against what its
 * declaration says — the status must be declared, the content type must be one it declares, and a
 * JSON body must parse with the declared schema (response schemas are strict objects, so an
 * undeclared field fails too). A mismatch turns the response into a 500 whose message says what
 * drifted, so the test that caused it fails and says why. Production never pays for this.
 */
import type { RouteConfig } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import type { ZodType } from "zod";
import type { AppEnv } from "../app-env";
import { getConfig } from "../config";
import { errorBody } from "../errors";
import { log } from "../lib/log";

type Responses = RouteConfig["responses"];

function violation(responses: Responses, status: number, contentType: string | null, body: unknown): string | null {
  const declared = responses[status] ?? responses[String(status) as unknown as number];
  if (!declared) return `status ${status} is not declared (declared: ${Object.keys(responses).join(", ")})`;
  const content = "content" in declared ? declared.content : undefined;
  if (!content || Object.keys(content).length === 0) {
    return contentType && body !== undefined ? `status ${status} declares no body, but one was sent` : null;
  }
  const essence = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  const media = Object.keys(content).find((m) => m.toLowerCase() === essence);
  if (!media)
    return `content type "${essence}" is not declared for ${status} (declared: ${Object.keys(content).join(", ")})`;
  const schema = (content[media] as { schema?: unknown } | undefined)?.schema as ZodType | undefined;
  if (essence !== "application/json" || !schema || typeof schema.safeParse !== "function") return null;
  const parsed = schema.safeParse(body);
  if (parsed.success) return null;
  const issues = parsed.error.issues
    .slice(0, 5)
    .map(
      (i) =>
        `${i.path.join(".") || "(body)"}: ${i.message}${i.code === "unrecognized_keys" ? ` (${i.keys.join(", ")})` : ""}`,
    );
  return `body of ${status} does not match its schema: ${issues.join("; ")}`;
}

export function checkResponseAgainstContract(responses: Responses) {
  return createMiddleware<AppEnv>(async (c, next) => {
    await next();
    if (getConfig(c.env).ENVIRONMENT !== "test") return;
    const res = c.res;
    // A WebSocket upgrade or a streamed body is not read here (its status and type still are).
    if (res.status === 101) return;
    const contentType = res.headers.get("content-type");
    const isJson = (contentType ?? "").toLowerCase().startsWith("application/json");
    const body = isJson ? await res.clone().json() : res.body ? "(not JSON)" : undefined;
    const problem = violation(responses, res.status, contentType, body);
    if (!problem) return;
    const message = `Response does not match the contract of ${c.req.method} ${c.req.routePath}: ${problem}`;
    log.error(message, { requestId: c.get("requestId") });
    c.res = undefined;
    c.res = c.json(errorBody("internal_error", message), 500);
  });
}
