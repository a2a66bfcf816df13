/**
 * The one home of what each route accepts at the door, before any handler, session lookup or
 * body parsing runs:
 *  - a body limit sized to what the route needs (413, enforced while reading, so a 30 MB body is
 *    refused after its first chunk over the limit, or at once when Content-Length says so);
 *  - for state-changing methods, the declared content type (415 otherwise). A body-less POST needs
 *    it too: `<form enctype="text/plain">` and `fetch(…, { mode: "no-cors" })` can send a
 *    same-site POST with the session cookie, but neither can send `application/json` without a
 *    CORS preflight, which only the dashboard origin passes;
 *  - for state-changing browser routes, the request's origin (403 otherwise), see `originAllowed`.
 * Routes are found by their registered pattern (`POST /api/campaigns/:id/pause`), so the
 * table below is read by the route a request will reach, not by a raw path.
 */
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { matchedRoutes } from "hono/route";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { ATTACHMENT_CONTENT_TYPES, ATTACHMENT_MAX_BYTES } from "../whatsapp/media-limits";

export interface RoutePolicy {
  /** Largest body accepted, in bytes. */
  maxBodyBytes: number;
  /** Media types a state-changing request may declare (no parameters, lower case). */
  contentTypes: readonly string[];
  /**
   * `browser`: reached by the dashboard with its session cookie, so the origin is checked.
   * `signed`: machine-to-machine, authenticated by a signature over the request (Twilio, shards);
   * no browser holds a credential for it, so there is nothing for a forged origin to borrow.
   */
  caller: "browser" | "signed";
}

const KB = 1024;
const MB = 1024 * KB;
const JSON_ONLY = ["application/json"] as const;

/**
 * Body-less routes still get a little room: some client libraries send `{}` with every POST.
 * GET and DELETE bodies are never read.
 */
const NO_BODY: RoutePolicy = { maxBodyBytes: 1 * KB, contentTypes: JSON_ONLY, caller: "browser" };
/**
 * Every other JSON route: the largest single text we store is a lead's notes (10,000 characters;
 * worst case 6 bytes each when JSON-escaped, about 60 KB) plus the other fields.
 */
const JSON_DEFAULT: RoutePolicy = { maxBodyBytes: 64 * KB, contentTypes: JSON_ONLY, caller: "browser" };

/** Exceptions to the defaults, by `METHOD /registered/pattern`. */
export const routePolicies: Record<string, RoutePolicy> = {
  // Unauthenticated: an email (254) and a password (200) are all it needs.
  "POST /api/auth/login": { maxBodyBytes: 4 * KB, contentTypes: JSON_ONLY, caller: "browser" },
  "POST /api/auth/logout": NO_BODY,
  // Up to 20,000 explicit lead ids (10 digits and a comma each) plus the audience filters.
  "POST /api/campaigns": { maxBodyBytes: 256 * KB, contentTypes: JSON_ONLY, caller: "browser" },
  "POST /api/broadcasts": { maxBodyBytes: 256 * KB, contentTypes: JSON_ONLY, caller: "browser" },
  // The same audiences, counted before creating.
  "POST /api/campaigns/preview": { maxBodyBytes: 256 * KB, contentTypes: JSON_ONLY, caller: "browser" },
  "POST /api/broadcasts/preview": { maxBodyBytes: 256 * KB, contentTypes: JSON_ONLY, caller: "browser" },
  // The CSV itself (services/leads-csv.ts MAX_IMPORT_BYTES is 5 MB).
  "POST /api/leads/import/preview": { maxBodyBytes: 5 * MB, contentTypes: ["text/csv"], caller: "browser" },
  "POST /api/leads/import/commit": { maxBodyBytes: 5 * MB, contentTypes: ["text/csv"], caller: "browser" },
  "POST /api/campaigns/:id/pause": NO_BODY,
  "POST /api/campaigns/:id/resume": NO_BODY,
  "POST /api/campaigns/:id/cancel": NO_BODY,
  "POST /api/broadcasts/:id/pause": NO_BODY,
  "POST /api/broadcasts/:id/resume": NO_BODY,
  "POST /api/broadcasts/:id/cancel": NO_BODY,
  "POST /api/whatsapp/connect": NO_BODY,
  "POST /api/whatsapp/logout": NO_BODY,
  "POST /api/whatsapp/sends/resume": NO_BODY,
  "POST /api/whatsapp/conversations/:id/read": NO_BODY,
  // A WhatsApp attachment: the file itself, up to WhatsApp's largest per-kind limit (documents,
  // 100 MB; the route checks each kind's own). Streamed to R2, never buffered whole, when the
  // request says its length, as every browser upload does.
  "POST /api/whatsapp/conversations/:id/media": {
    maxBodyBytes: ATTACHMENT_MAX_BYTES,
    contentTypes: ATTACHMENT_CONTENT_TYPES,
    caller: "browser",
  },
  "POST /api/admin/whatsapp/move/abort": NO_BODY,
  "POST /api/webhooks/:id/test": NO_BODY,
  "POST /api/webhooks/:id/deliveries/:deliveryId/redeliver": NO_BODY,
  // Twilio posts forms (or JSON signed with bodySHA256); its status and voice callbacks are small.
  "POST /twilio/voice/incoming": TWILIO(),
  "POST /twilio/voice/status": TWILIO(),
  "POST /twilio/voice/recording": TWILIO(),
  // A shard's outbox batch (contracts/shard-events.ts): up to its batch size of events.
  "POST /internal/shards/events": { maxBodyBytes: 5 * MB, contentTypes: JSON_ONLY, caller: "signed" },
};

function TWILIO(): RoutePolicy {
  return {
    maxBodyBytes: 64 * KB,
    contentTypes: ["application/x-www-form-urlencoded", "application/json"],
    caller: "signed",
  };
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The pattern of the route that will answer this request (first registered handler, not `use`). */
export function answeringRoute(c: Context): string | null {
  const route = matchedRoutes(c).find((r) => r.method !== "ALL");
  return route ? `${route.method} ${route.path}` : null;
}

export function policyFor(method: string, route: string | null): RoutePolicy {
  const explicit = route ? routePolicies[route] : undefined;
  if (explicit) return explicit;
  if (SAFE_METHODS.has(method) || method === "DELETE") return NO_BODY;
  return JSON_DEFAULT;
}

function mediaType(header: string | undefined): string | null {
  const type = header?.split(";")[0]?.trim().toLowerCase();
  return type ? type : null;
}

/**
 * Origins allowed to change state with the session cookie: the dashboard's and the Worker's own.
 * - `Origin` present: it must be one of them (`null`, sent by sandboxed frames and privacy
 *   redirects, is refused).
 * - no `Origin`, but `Sec-Fetch-Site`: only `same-origin` (or `none`, a user's own navigation).
 * - neither: not a browser. Every browser that can attach our cookie sends `Origin` on a POST,
 *   PUT, PATCH and DELETE, and `Sec-Fetch-Site` too, so a request with neither comes from a
 *   program (curl, a server, the coming API keys), which has no ambient cookie to borrow.
 */
export function originAllowed(c: Context<AppEnv>): boolean {
  const allowed = new Set([c.get("config").DASHBOARD_ORIGIN, new URL(c.req.url).origin]);
  const origin = c.req.header("origin");
  if (origin !== undefined) return allowed.has(origin);
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined) return site === "same-origin" || site === "none";
  return true;
}

export const requestPolicy = createMiddleware<AppEnv>(async (c, next) => {
  const method = c.req.method;
  const policy = policyFor(method, answeringRoute(c));

  if (!SAFE_METHODS.has(method)) {
    if (policy.caller === "browser" && !originAllowed(c)) {
      throw new ApiError("forbidden", "Cross-site request refused: this origin may not change data here", {
        origin: c.req.header("origin") ?? null,
        secFetchSite: c.req.header("sec-fetch-site") ?? null,
      });
    }
    const type = mediaType(c.req.header("content-type"));
    // A DELETE without a body names no type; browsers cannot send one cross-site without a preflight.
    const bodyless = type === null && method === "DELETE" && !c.req.raw.body;
    if (!bodyless && (type === null || !policy.contentTypes.includes(type))) {
      throw new ApiError(
        "unsupported_media_type",
        `Send this request as ${policy.contentTypes.join(" or ")}${type ? ` (not ${type})` : ""}`,
        { accepted: policy.contentTypes, received: type },
      );
    }
  }

  return bodyLimit({
    maxSize: policy.maxBodyBytes,
    onError: () => {
      throw new ApiError(
        "payload_too_large",
        `The body is larger than this route takes (${policy.maxBodyBytes} bytes)`,
        {
          maxBytes: policy.maxBodyBytes,
        },
      );
    },
  })(c, next);
});
