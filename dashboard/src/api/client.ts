/**
 * The dashboard's one way to the API. Routes already declared in the contract go through the
 * client generated from /openapi.json (contracts/api/client.ts, openapi-fetch: paths, params and
 * answers typed from the route definitions). Routes not converted yet go through `request()` with
 * the shapes in ./types.ts; each moves to `contract` here, and nowhere else, as it is converted.
 * Same origin as the Worker: the session cookie rides along; errors become ApiError.
 */
import { createApiClient } from "../../../contracts/api/client";
import type { components } from "../../../contracts/api/schema";
import { errorFromBody, errorFromResponse } from "./errors";
import type {
  Appointment,
  Call,
  Conversation,
  ImportPreview,
  ImportResult,
  Lead,
  LeadInput,
  LeadListQuery,
  Me,
  Message,
  Outbound,
  ReminderTemplate,
  Role,
  SessionInfo,
  Settings,
  SetupInput,
  SetupState,
  User,
  WhatsAppStatus,
} from "./types";

/** The generated typed client: new pages call it directly (paths, params and answers from the contract). */
export const contract = createApiClient();

export type ApiKeyScope = components["schemas"]["ApiKeyScope"];
export type WebhookEventType = components["schemas"]["WebhookEventType"];

/** An openapi-fetch answer as data, or the API's error as a thrown ApiError. */
export async function fromContract<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw errorFromBody(response, error);
  return data as T;
}

type Query = Record<string, string | number | boolean | string[] | undefined>;

interface RequestOptions {
  query?: Query;
  json?: unknown;
  body?: BodyInit;
  contentType?: string;
  signal?: AbortSignal;
}

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === "") continue;
    if (Array.isArray(value)) {
      if (value.length > 0) params.set(key, value.join(","));
    } else params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

async function send(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json" };
  let body: BodyInit | undefined = opts.body;
  if (opts.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.json);
  } else if (opts.contentType) headers["Content-Type"] = opts.contentType;
  // State-changing routes take only their declared type, body-less ones included (a cross-site form
  // cannot send JSON): a body-less write says application/json too.
  else if (method !== "GET" && method !== "HEAD") headers["Content-Type"] = "application/json";
  const res = await fetch(withQuery(path, opts.query), {
    method,
    headers,
    body,
    credentials: "same-origin",
    signal: opts.signal,
  });
  if (!res.ok) throw await errorFromResponse(res);
  return res;
}

async function request<T>(method: string, path: string, opts?: RequestOptions): Promise<T> {
  const res = await send(method, path, opts);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export const api = {
  /** API keys, webhooks and the audit log: all through the contract client. */
  integrations: {
    apiKeys: () => fromContract(contract.GET("/api/api-keys")),
    createApiKey: (body: { name: string; scopes: ApiKeyScope[]; expiresAt?: string | null }) =>
      fromContract(contract.POST("/api/api-keys", { body })),
    revokeApiKey: (id: number) => fromContract(contract.DELETE("/api/api-keys/{id}", { params: { path: { id } } })),
    webhooks: () => fromContract(contract.GET("/api/webhooks")),
    createWebhook: (body: { url: string; eventTypes: WebhookEventType[]; description?: string | null }) =>
      fromContract(contract.POST("/api/webhooks", { body: { ...body, enabled: true } })),
    updateWebhook: (id: number, body: { enabled?: boolean; url?: string; eventTypes?: WebhookEventType[] }) =>
      fromContract(contract.PATCH("/api/webhooks/{id}", { params: { path: { id } }, body })),
    deleteWebhook: (id: number) => fromContract(contract.DELETE("/api/webhooks/{id}", { params: { path: { id } } })),
    rotateSecret: (id: number) =>
      fromContract(
        contract.POST("/api/webhooks/{id}/rotate-secret", { params: { path: { id } }, body: { overlapHours: 24 } }),
      ),
    sendTest: (id: number) => fromContract(contract.POST("/api/webhooks/{id}/test", { params: { path: { id } } })),
    deliveries: (id: number, status?: "pending" | "succeeded" | "failed") =>
      fromContract(
        contract.GET("/api/webhooks/{id}/deliveries", { params: { path: { id }, query: { status, limit: 100 } } }),
      ),
    delivery: (id: number, deliveryId: number) =>
      fromContract(
        contract.GET("/api/webhooks/{id}/deliveries/{deliveryId}", { params: { path: { id, deliveryId } } }),
      ),
    redeliver: (id: number, deliveryId: number) =>
      fromContract(
        contract.POST("/api/webhooks/{id}/deliveries/{deliveryId}/redeliver", { params: { path: { id, deliveryId } } }),
      ),
    redeliverSince: (id: number, since: string) =>
      fromContract(
        contract.POST("/api/webhooks/{id}/redeliver", { params: { path: { id } }, body: { since, onlyFailed: true } }),
      ),
    auditLog: (before?: number) =>
      fromContract(contract.GET("/api/audit-log", { params: { query: { before, limit: 100 } } })),
  },
  setup: {
    state: () => request<SetupState>("GET", "/api/setup"),
    create: (input: SetupInput) => request<{ user: User }>("POST", "/api/setup", { json: input }),
  },
  auth: {
    me: () => request<Me>("GET", "/api/me"),
    login: (email: string, password: string) =>
      request<{ user: User; expiresAt: string }>("POST", "/api/auth/login", { json: { email, password } }),
    logout: () => request<void>("POST", "/api/auth/logout"),
    changePassword: (currentPassword: string, newPassword: string) =>
      request<{ ok: true; revokedSessions: number }>("POST", "/api/auth/password", {
        json: { currentPassword, newPassword },
      }),
  },
  leads: {
    list: (query: LeadListQuery, signal?: AbortSignal) =>
      request<{ leads: Lead[]; nextCursor: string | null }>("GET", "/api/leads", { query: { ...query }, signal }),
    get: (id: number) => request<{ lead: Lead }>("GET", `/api/leads/${id}`),
    create: (input: LeadInput) => request<{ lead: Lead }>("POST", "/api/leads", { json: input }),
    update: (id: number, input: LeadInput) => request<{ lead: Lead }>("PATCH", `/api/leads/${id}`, { json: input }),
    bulkStatus: (leadIds: number[], status: string) =>
      request<{ updated: number; notFound: number[] }>("POST", "/api/leads/bulk-status", { json: { leadIds, status } }),
    statuses: () => fromContract(contract.GET("/api/lead-statuses")),
    importPreview: (csv: Blob) =>
      request<ImportPreview>("POST", "/api/leads/import/preview", { body: csv, contentType: "text/csv" }),
    importCommit: (csv: Blob, onDuplicate: "merge" | "skip") =>
      request<ImportResult>("POST", "/api/leads/import/commit", {
        body: csv,
        contentType: "text/csv",
        query: { onDuplicate },
      }),
    /** The export as a file (streamed CSV). */
    exportCsv: async (status: string[]) => {
      const res = await send("GET", "/api/leads/export", { query: { status } });
      const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? "leads.csv";
      return { name, blob: await res.blob() };
    },
  },
  calls: {
    forLead: (leadId: number) => request<{ calls: Call[] }>("GET", "/api/calls", { query: { leadId, limit: 50 } }),
    place: (leadId: number) => request<{ call: Call }>("POST", "/api/calls", { json: { leadId } }),
  },
  appointments: {
    forLead: (leadId: number) =>
      request<{ appointments: Appointment[] }>("GET", "/api/appointments", { query: { leadId, limit: 50 } }),
  },
  scheduled: {
    /** A WhatsApp message to a lead, sent as soon as the throttle allows. */
    sendNow: (leadId: number, template: string) =>
      request<unknown>("POST", "/api/scheduled-messages", { json: { leadId, template } }),
  },
  whatsapp: {
    status: () => request<WhatsAppStatus>("GET", "/api/whatsapp/status"),
    connect: () => request<{ shard: number; session: SessionInfo }>("POST", "/api/whatsapp/connect"),
    logout: () => request<{ session: SessionInfo }>("POST", "/api/whatsapp/logout"),
    resumeSends: () => request<{ requeued: number }>("POST", "/api/whatsapp/sends/resume"),
    conversations: (cursor?: string) =>
      request<{ conversations: Conversation[]; unreadTotal: number; nextCursor: string | null }>(
        "GET",
        "/api/whatsapp/conversations",
        { query: { limit: 50, cursor } },
      ),
    messages: (conversationId: number) =>
      request<{ messages: Message[]; nextCursor: string | null }>(
        "GET",
        `/api/whatsapp/conversations/${conversationId}/messages`,
        { query: { limit: 100 } },
      ),
    markRead: (conversationId: number) => request<void>("POST", `/api/whatsapp/conversations/${conversationId}/read`),
    reply: (conversationId: number, text: string, clientMessageId: string) =>
      request<{ outboundId: number; duplicate: boolean }>(
        "POST",
        `/api/whatsapp/conversations/${conversationId}/reply`,
        { json: { text, clientMessageId } },
      ),
    /** Sends a file (the body is the file itself; caption and name in the query). */
    attach: (
      conversationId: number,
      file: Blob,
      opts: { contentType: string; fileName: string; caption: string; clientMessageId: string; voiceNote?: boolean },
    ) =>
      request<{ outboundId: number; duplicate: boolean }>(
        "POST",
        `/api/whatsapp/conversations/${conversationId}/media`,
        {
          body: file,
          contentType: opts.contentType,
          query: {
            fileName: opts.fileName,
            caption: opts.caption,
            clientMessageId: opts.clientMessageId,
            voiceNote: opts.voiceNote ? "true" : undefined,
          },
        },
      ),
    outbound: (id: number) => request<{ message: Outbound }>("GET", `/api/whatsapp/outbound/${id}`),
  },
  users: {
    list: () => request<{ users: User[] }>("GET", "/api/users"),
    create: (input: { email: string; name: string; role: Exclude<Role, "system_admin">; password: string }) =>
      request<{ user: User }>("POST", "/api/users", { json: input }),
    update: (id: number, input: { name?: string; role?: Role; isActive?: boolean }) =>
      request<{ user: User }>("PATCH", `/api/users/${id}`, { json: input }),
  },
  settings: {
    get: () => request<{ settings: Settings }>("GET", "/api/settings"),
    update: (input: Partial<Settings>) => request<{ settings: Settings }>("PATCH", "/api/settings", { json: input }),
    reminderTemplate: () => request<ReminderTemplate>("GET", "/api/settings/reminder-template"),
    setReminderTemplate: (template: string | null) =>
      request<ReminderTemplate>("PUT", "/api/settings/reminder-template", { json: { template } }),
  },
};
