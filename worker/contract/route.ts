/**
 * `apiRoute()`: how every route of the Worker is declared. One declaration is the contract and
 * the gate at once:
 *   - who may call it (`auth`): the security scheme in the document, and the middleware that
 *     enforces it (session + role permission from `auth/permissions.ts`; Twilio, shard and
 *     metrics routes check their own signatures or tokens in the handler);
 *   - its params, query and body (zod; a refusal is the one 400 naming each field);
 *   - every response: the success bodies, and the error codes the route can answer, grouped by
 *     status. The codes every route of its kind can answer are added here, so a route lists
 *     only its own (`errors`).
 * In test runs each JSON response is checked against this declaration (./response-check.ts).
 */
import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import { authenticate, requireAuth, requirePermission } from "../auth/middleware";
import { type Permission, scopesGranting } from "../auth/permissions";
import type { ErrorCode } from "../errors";
import { type ErrorResponses, errorResponses } from "./errors";
import { checkResponseAgainstContract } from "./response-check";
import { SECURITY } from "./security";
import type { Tag } from "./tags";

/** Who may call a route. */
export type RouteAuth =
  /** Anyone (sign-in, health). */
  | "public"
  /** Any signed-in user, whatever the role. */
  | "signed_in"
  /**
   * A signed-in user whose role has this permission (the role table: auth/permissions.ts), or an
   * API key with a scope that grants it (`Authorization: Bearer psk_…`; the same table's scopes).
   */
  | { permission: Permission }
  /** Twilio webhooks: X-Twilio-Signature, checked by the handler. */
  | "twilio"
  /** Shard nodes: HMAC-signed deliveries, checked by the handler. */
  | "shard"
  /** Prometheus scrapers: bearer token, checked by the handler. */
  | "metrics_token";

type BaseConfig = Omit<RouteConfig, "responses" | "middleware" | "tags" | "security">;
export type RouteRequest = RouteConfig["request"];

export interface ApiRouteConfig extends BaseConfig {
  tag: Tag;
  summary: string;
  auth: RouteAuth;
  /** Success (and any non-error) responses. */
  responses: RouteConfig["responses"];
  /** Error codes specific to this route, beyond those its `auth` kind and input imply. */
  errors?: readonly ErrorCode[];
  /** Extra middleware that runs after authentication (rate limits, body limits). */
  middleware?: MiddlewareHandler<AppEnv>[];
}

function impliedErrors(config: ApiRouteConfig): ErrorCode[] {
  const codes: ErrorCode[] = ["internal_error"];
  const { request } = config;
  if (request?.params || request?.query || request?.body || request?.headers) codes.push("validation_failed");
  if (request?.body) codes.push("payload_too_large", "unsupported_media_type", "bad_request");
  if (config.auth === "signed_in" || typeof config.auth === "object") codes.push("unauthorized");
  if (typeof config.auth === "object") {
    codes.push("forbidden");
    // Tenant-scoped permissions need a chosen business (system admins choose with act-as).
    if (!config.auth.permission.startsWith("platform.")) codes.push("business_not_selected");
    // An API key over its own budget.
    if (scopesGranting(config.auth.permission).length > 0) codes.push("rate_limited");
  }
  if (config.auth === "twilio") codes.push("invalid_signature", "service_unavailable");
  if (config.auth === "shard") codes.push("unauthorized", "service_unavailable");
  if (config.auth === "metrics_token") codes.push("unauthorized", "not_found");
  return codes;
}

/** The route's request schemas, for the validation hook (router.ts) to name the known fields. */
function rememberRequestSchemas(request: RouteRequest): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("routeRequest", request);
    await next();
  };
}

function authMiddleware(auth: RouteAuth): MiddlewareHandler<AppEnv>[] {
  if (auth === "signed_in") return [requireAuth];
  if (typeof auth === "object")
    return [authenticate({ apiKeys: scopesGranting(auth.permission).length > 0 }), requirePermission(auth.permission)];
  return [];
}

function securityOf(auth: RouteAuth): RouteConfig["security"] {
  if (auth === "public") return [];
  if (auth === "signed_in") return [{ [SECURITY.session]: [] }];
  if (typeof auth === "object") {
    // Either the session or an API key holding one of these scopes (OpenAPI: alternatives).
    const scopes = scopesGranting(auth.permission);
    return scopes.length > 0
      ? [{ [SECURITY.session]: [] }, { [SECURITY.apiKey]: scopes }]
      : [{ [SECURITY.session]: [] }];
  }
  if (auth === "twilio") return [{ [SECURITY.twilio]: [] }];
  if (auth === "shard") return [{ [SECURITY.shard]: [] }];
  return [{ [SECURITY.metrics]: [] }];
}

export function apiRoute<const C extends ApiRouteConfig>(config: C) {
  const { tag, auth, errors = [], middleware = [], responses, ...rest } = config;
  const codes = [...new Set([...impliedErrors(config), ...errors])];
  const allResponses = { ...errorResponses(codes), ...responses } as C["responses"] & ErrorResponses;
  const permission = typeof auth === "object" ? auth.permission : undefined;
  const route = createRoute({
    ...rest,
    tags: [tag],
    security: securityOf(auth),
    description: [
      config.description,
      permission ? `Permission: \`${permission}\`.` : undefined,
      permission && scopesGranting(permission).length > 0
        ? `API key scopes: ${scopesGranting(permission)
            .map((s) => `\`${s}\``)
            .join(", ")}.`
        : undefined,
    ]
      .filter(Boolean)
      .join("\n\n"),
    ...(permission ? { "x-permission": permission } : {}),
    responses: allResponses,
    middleware: [
      checkResponseAgainstContract(allResponses),
      rememberRequestSchemas(config.request),
      ...authMiddleware(auth),
      ...middleware,
    ],
  } as Omit<C, "tag" | "auth" | "errors" | "middleware" | "responses"> & {
    responses: C["responses"] & ErrorResponses;
    middleware: MiddlewareHandler<AppEnv>[];
  });
  return route;
}
