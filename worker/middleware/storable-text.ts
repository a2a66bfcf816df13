/**
 * Refuses, before any route sees it, text Postgres cannot store (see lib/storable-text.ts) in the
 * query string and in JSON bodies of dashboard routes: a 400 naming each field, nothing changed.
 * One boundary for every route, whatever schema the route declares. A body that is not JSON is
 * left to the route's own validator, so its error stays the one it always was.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { findUnstorableText, type UnstorableField } from "../lib/storable-text";
import { answeringRoute, policyFor } from "./request-policy";

function refuse(where: "query" | "body", fields: UnstorableField[]): never {
  const names = [...new Set(fields.map((f) => f.field))];
  throw new ApiError("validation_failed", `Invalid ${where}: ${names.join(", ")}`, { fields });
}

export const storableText = createMiddleware<AppEnv>(async (c, next) => {
  // Named by the key (a repeated key's values checked apart: joined, two halves could pair up).
  const query = Object.fromEntries(Object.entries(c.req.queries()).map(([key, values]) => [key, values.join("\n")]));
  const queryFields = findUnstorableText(query, "query");
  if (queryFields.length) refuse("query", queryFields);

  const policy = policyFor(c.req.method, answeringRoute(c));
  const type = c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (policy.caller === "browser" && type === "application/json" && c.req.raw.body) {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return next();
    }
    const bodyFields = findUnstorableText(body, "body");
    if (bodyFields.length) refuse("body", bodyFields);
  }
  return next();
});
