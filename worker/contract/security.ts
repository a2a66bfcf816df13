/** Security schemes of the API, named once: the document declares them and routes refer to them. */
import { SESSION_COOKIE } from "../auth/session";

export const SECURITY = {
  session: "session",
  twilio: "twilioSignature",
  shard: "shardSignature",
  metrics: "metricsToken",
  apiKey: "apiKey",
} as const;

export const securitySchemes = {
  [SECURITY.session]: {
    type: "apiKey",
    in: "cookie",
    name: SESSION_COOKIE,
    description: "The dashboard session: an opaque token set by POST /api/auth/login (HttpOnly, Secure, SameSite=Lax).",
  },
  [SECURITY.twilio]: {
    type: "apiKey",
    in: "header",
    name: "X-Twilio-Signature",
    description:
      "HMAC-SHA1 of https://PUBLIC_HOST + path + query and the sorted form parameters, with the Twilio auth token.",
  },
  [SECURITY.shard]: {
    type: "apiKey",
    in: "header",
    name: "X-Shard-Signature",
    description: "HMAC-SHA256 over the timestamp header and the raw body, with the shard's secret.",
  },
  [SECURITY.metrics]: { type: "http", scheme: "bearer", description: "METRICS_TOKEN" },
  [SECURITY.apiKey]: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "psk_<prefix>_<secret>",
    description:
      "A business's API key: `Authorization: Bearer psk_…`. It reaches the routes its scopes allow (each route lists them), on its own business only; never system-admin routes. Each key has its own rate limit (429 with Retry-After).",
  },
} as const;
