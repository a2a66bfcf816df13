/**
 * The published contract: `GET /openapi.json` (OpenAPI 3.1, generated from the route
 * declarations) and `GET /docs` (Scalar's reference page). The page's viewer script is served
 * from our own static assets (copied from the npm package at build time), never a CDN.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import type { AppEnv } from "../app-env";
import { registerWebhookEvents } from "../webhooks/document";
import { securitySchemes } from "./security";
import { TAGS } from "./tags";

export const OPENAPI_PATH = "/openapi.json";
export const DOCS_PATH = "/docs";
/** Where the build puts @scalar/api-reference's standalone bundle (scripts/copy-docs-viewer.ts). */
export const DOCS_VIEWER_SCRIPT = "/vendor/scalar/api-reference.js";

export const documentInfo = {
  openapi: "3.1.0",
  info: {
    title: "ProSaaS Edge API",
    version: "1.0.0",
    description:
      "The dashboard API (session cookie, or an API key: `Authorization: Bearer psk_…`), Twilio voice webhooks (X-Twilio-Signature) and the shard event endpoint (HMAC). " +
      "Outbound webhooks to businesses' URLs are described under `webhooks` (Standard Webhooks signatures). " +
      "Every error has one shape: `{ error: { code, message, details? } }`; a 400 names each refused field in `details.fields`.",
  },
  tags: TAGS.map((t) => ({ name: t.name, description: t.description })),
} as const;

export function registerSecuritySchemes(app: OpenAPIHono<AppEnv>): void {
  for (const [name, scheme] of Object.entries(securitySchemes)) {
    app.openAPIRegistry.registerComponent("securitySchemes", name, scheme);
  }
}

/** Mounts /openapi.json and /docs on the app (after every router, so the document is whole). */
export function mountDocumentation(app: OpenAPIHono<AppEnv>): void {
  registerSecuritySchemes(app);
  registerWebhookEvents(app);
  app.doc31(OPENAPI_PATH, documentInfo);
  app.get(
    DOCS_PATH,
    async (c, next) => {
      await next();
      // The reference page runs our copy of Scalar's script and inline styles; the API's strict
      // CSP (default-src 'none') stays on everything else.
      c.res.headers.set(
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
          "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
      );
    },
    Scalar({ url: OPENAPI_PATH, pageTitle: "ProSaaS Edge API", cdn: DOCS_VIEWER_SCRIPT }),
  );
}
