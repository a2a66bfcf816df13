/**
 * A router for one resource's routes. Its routes are declared with `apiRoute()` and registered
 * with `router.openapi(route, handler)`; request validation failures become the one 400 naming
 * every field (worker/errors.ts `validationError`).
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { ZodType } from "zod";
import type { AppEnv } from "../app-env";
import { validationError } from "../errors";
import type { RouteRequest } from "./route";

const whereOf = { json: "body", form: "form", query: "query", param: "params", header: "headers" } as const;

export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const where = whereOf[result.target as keyof typeof whereOf] ?? "body";
        const schema = requestSchemaOf(c.get("routeRequest"), result.target);
        throw validationError(result.error, where === "headers" ? "params" : where, schema);
      }
    },
  });
}

/** The schema a validation target was checked with, for naming the fields a route knows. */
function requestSchemaOf(request: RouteRequest | undefined, target: string): ZodType | undefined {
  if (!request) return undefined;
  if (target === "query") return request.query as ZodType | undefined;
  if (target === "param") return request.params as ZodType | undefined;
  if (target === "json")
    return (request.body?.content?.["application/json"] as { schema?: unknown } | undefined)?.schema as
      | ZodType
      | undefined;
  if (target === "form") {
    const content = request.body?.content ?? {};
    const media = content["application/x-www-form-urlencoded"] ?? content["multipart/form-data"];
    return (media as { schema?: unknown } | undefined)?.schema as ZodType | undefined;
  }
  return undefined;
}
