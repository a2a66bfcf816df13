/**
 * The typed API client: openapi-fetch over the types generated from the contract
 * (./schema.ts). Paths, params, bodies and responses are checked by TypeScript; an error answer
 * is the one error shape.
 */
import createClient, { type ClientOptions } from "openapi-fetch";
import type { paths } from "./schema";

export type ApiPaths = paths;

/** `{ error: { code, message, details? } }`: what every failure answers. */
export interface ApiErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/**
 * A client for the API at `baseUrl` ("" = same origin, as the dashboard uses it, where the session
 * cookie rides along by default). Other systems pass their own `fetch` or headers.
 */
export function createApiClient(options: ClientOptions = {}) {
  // Every state-changing route takes only its declared type, body-less ones included (a cross-site
  // form cannot send JSON), so requests without a body say application/json too.
  return createClient<paths>({
    baseUrl: "",
    ...options,
    headers: { "Content-Type": "application/json", ...options.headers },
  });
}

export type ApiClient = ReturnType<typeof createApiClient>;
