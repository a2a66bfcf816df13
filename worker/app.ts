import { OpenAPIHono } from "@hono/zod-openapi";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "./app-env";
import { getConfig } from "./config";
import { DOCS_PATH, mountDocumentation } from "./contract/document";
import { ApiError, handleError } from "./errors";
import { requestMetrics } from "./middleware/metrics";
import { requestContext } from "./middleware/request-context";
import { requestPolicy } from "./middleware/request-policy";
import { storableText } from "./middleware/storable-text";
import { adminRoutes } from "./routes/admin";
import { apiKeyRoutes } from "./routes/api-keys";
import { appointmentRoutes } from "./routes/appointments";
import { auditLogRoutes } from "./routes/audit-log";
import { authRoutes } from "./routes/auth";
import { broadcastRoutes } from "./routes/broadcasts";
import { businessRoutes } from "./routes/business";
import { callRoutes } from "./routes/calls";
import { campaignRoutes } from "./routes/campaigns";
import { cannedReplyRoutes } from "./routes/canned-replies";
import { healthRoutes } from "./routes/health";
import { leadStatusRoutes } from "./routes/lead-statuses";
import { leadRoutes } from "./routes/leads";
import { leadCsvRoutes } from "./routes/leads-csv";
import { liveRoutes } from "./routes/live";
import { metricsRoutes } from "./routes/metrics";
import { reportRoutes } from "./routes/reports";
import { scheduledMessageRoutes } from "./routes/scheduled-messages";
import { setupRoutes } from "./routes/setup";
import { shardEventRoutes } from "./routes/shard-events";
import { twilioVoiceRoutes } from "./routes/twilio-voice";
import { userRoutes } from "./routes/users";
import { webhookRoutes } from "./routes/webhooks";
import { whatsappRoutes } from "./routes/whatsapp";
import { whatsappAdminRoutes } from "./routes/whatsapp-admin";
import { whatsappConversationRoutes } from "./routes/whatsapp-conversations";
import { whatsappMediaRoutes } from "./routes/whatsapp-media";
import { whatsappNoteRoutes } from "./routes/whatsapp-notes";

export function createApp(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  app.use("*", requestContext);
  app.use("*", requestMetrics);
  app.use("*", async (c, next) => {
    // The reference page sets its own, looser CSP (contract/document.ts); everything else is strict.
    if (c.req.path === DOCS_PATH) return next();
    return strictHeaders(c, next);
  });
  // The reference page: the same protections but its own CSP, set with the page.
  app.use(DOCS_PATH, secureHeaders({ contentSecurityPolicy: undefined }));
  app.use(
    "/api/*",
    cors({
      // Only the configured dashboard origin, with its session cookie.
      origin: (origin, c) => (origin === getConfig(c.env).DASHBOARD_ORIGIN ? origin : null),
      credentials: true,
      allowMethods: ["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"],
      allowHeaders: ["Content-Type", "X-Request-Id", "Range"],
      exposeHeaders: [
        "X-Request-Id",
        "Content-Disposition",
        "Retry-After",
        "Content-Range",
        "Accept-Ranges",
        "Content-Length",
      ],
      maxAge: 600,
    }),
  );

  // After CORS (a preflight is answered there): content type, origin and body limit per route,
  // then text Postgres cannot store; both before any session lookup or handler.
  app.use("*", requestPolicy);
  app.use("*", storableText);

  app.route("/", healthRoutes);
  app.route("/", metricsRoutes);
  app.route("/", twilioVoiceRoutes);
  app.route("/", authRoutes);
  app.route("/", setupRoutes);
  app.route("/", adminRoutes);
  app.route("/", businessRoutes);
  app.route("/", userRoutes);
  app.route("/", leadStatusRoutes);
  // Before leadRoutes, so /api/leads/export is not read as /api/leads/:id.
  app.route("/", leadCsvRoutes);
  app.route("/", leadRoutes);
  app.route("/", callRoutes);
  app.route("/", shardEventRoutes);
  app.route("/", whatsappConversationRoutes);
  app.route("/", whatsappRoutes);
  app.route("/", whatsappNoteRoutes);
  app.route("/", cannedReplyRoutes);
  app.route("/", whatsappMediaRoutes);
  app.route("/", whatsappAdminRoutes);
  app.route("/", campaignRoutes);
  app.route("/", broadcastRoutes);
  app.route("/", scheduledMessageRoutes);
  app.route("/", appointmentRoutes);
  app.route("/", reportRoutes);
  app.route("/", liveRoutes);
  app.route("/", apiKeyRoutes);
  app.route("/", webhookRoutes);
  app.route("/", auditLogRoutes);
  mountDocumentation(app);

  app.notFound((c) => {
    throw new ApiError("not_found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}`);
  });
  app.onError(handleError);
  return app;
}

/** A JSON API: nothing here should ever be framed or run scripts. */
const strictHeaders = secureHeaders({
  contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  crossOriginResourcePolicy: "same-site",
});

export const app = createApp();
