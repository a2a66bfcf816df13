import type { AuthContext } from "./auth/middleware";
import type { Config } from "./config";
import type { Database } from "./db/client";
import type { Env } from "./env";

/** Hono's typing for this app: bindings plus per-request variables set by middleware. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    config: Config;
    /** Lazily opened per-request database; closed after the response by the db middleware. */
    db: () => Database;
    /** Set by requireAuth on dashboard API routes. */
    auth: AuthContext;
    /** The matched route's request schemas (set by contract/route.ts for the validation hook). */
    routeRequest: import("./contract/route").RouteRequest;
  };
}
