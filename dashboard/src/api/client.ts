/**
 * The dashboard's one way to the API: the client generated from /openapi.json
 * (contracts/api/client.ts, openapi-fetch), so paths, params, bodies and answers are type-checked
 * against the route definitions. Pages call `contract` through `fromContract`, directly or via the
 * named calls in `api` below; there is no hand-written fetch and no hand-typed answer.
 * Same origin as the Worker: the session cookie rides along; errors become ApiError.
 */
import { createApiClient } from "../../../contracts/api/client";
import type { components } from "../../../contracts/api/schema";
import { errorFromBody } from "./errors";
import type { BodyOf } from "./models";
import type {
  ConversationListQuery,
  ConversationStatus,
  LeadInput,
  LeadListQuery,
  SettingsInput,
  SetupInput,
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

/**
 * A file as the request body, bytes untouched. The contract types a binary body as `string`
 * (openapi-typescript's `format: binary`) and openapi-fetch would JSON-encode it; the Blob goes
 * as it is through `bodySerializer` instead. Re-encoding a CSV here (Blob.text()) would also turn
 * a non-UTF-8 file into valid mojibake that the API could no longer refuse.
 */
function fileBody(file: Blob, contentType: string) {
  return {
    body: file as unknown as string,
    bodySerializer: () => file,
    headers: { "Content-Type": contentType },
  };
}

/** The leads filters as the API takes them: blanks left out, statuses comma-separated. */
function leadQuery({ status, ...rest }: LeadListQuery) {
  const query = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined && v !== ""));
  return { ...(query as Omit<LeadListQuery, "status">), status: status?.length ? status.join(",") : undefined };
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
    state: () => fromContract(contract.GET("/api/setup")),
    create: (body: SetupInput) => fromContract(contract.POST("/api/setup", { body })),
  },
  auth: {
    me: () => fromContract(contract.GET("/api/me")),
    login: (email: string, password: string) =>
      fromContract(contract.POST("/api/auth/login", { body: { email, password } })),
    logout: () => fromContract(contract.POST("/api/auth/logout")),
    changePassword: (currentPassword: string, newPassword: string) =>
      fromContract(contract.POST("/api/auth/password", { body: { currentPassword, newPassword } })),
  },
  leads: {
    list: (query: LeadListQuery, signal?: AbortSignal) =>
      fromContract(contract.GET("/api/leads", { params: { query: leadQuery(query) }, signal })),
    get: (id: number) => fromContract(contract.GET("/api/leads/{id}", { params: { path: { id } } })),
    create: (body: LeadInput) => fromContract(contract.POST("/api/leads", { body })),
    update: (id: number, body: LeadInput) =>
      fromContract(contract.PATCH("/api/leads/{id}", { params: { path: { id } }, body })),
    bulkStatus: (leadIds: number[], status: string) =>
      fromContract(contract.POST("/api/leads/bulk-status", { body: { leadIds, status } })),
    statuses: () => fromContract(contract.GET("/api/lead-statuses")),
    importPreview: (csv: Blob) => fromContract(contract.POST("/api/leads/import/preview", fileBody(csv, "text/csv"))),
    importCommit: (csv: Blob, onDuplicate: "merge" | "skip") =>
      fromContract(
        contract.POST("/api/leads/import/commit", { params: { query: { onDuplicate } }, ...fileBody(csv, "text/csv") }),
      ),
    /** The export as a file (streamed CSV), named as the API's Content-Disposition says. */
    exportCsv: async (status: string[]) => {
      const { data, error, response } = await contract.GET("/api/leads/export", {
        params: { query: { status: status.length ? status.join(",") : undefined } },
        parseAs: "blob",
      });
      if (!response.ok || !data) throw errorFromBody(response, error);
      const name = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") ?? "")?.[1] ?? "leads.csv";
      return { name, blob: data };
    },
  },
  calls: {
    forLead: (leadId: number) => fromContract(contract.GET("/api/calls", { params: { query: { leadId, limit: 50 } } })),
  },
  appointments: {
    forLead: (leadId: number) =>
      fromContract(contract.GET("/api/appointments", { params: { query: { leadId, limit: 50 } } })),
  },
  scheduled: {
    /** A WhatsApp message to a lead, sent as soon as the throttle allows. */
    sendNow: (leadId: number, template: string) =>
      fromContract(contract.POST("/api/scheduled-messages", { body: { leadId, template } })),
  },
  whatsapp: {
    status: () => fromContract(contract.GET("/api/whatsapp/status")),
    connect: () => fromContract(contract.POST("/api/whatsapp/connect")),
    logout: () => fromContract(contract.POST("/api/whatsapp/logout")),
    resumeSends: () => fromContract(contract.POST("/api/whatsapp/sends/resume")),
    /** The inbox list: a view (mine / unassigned / all, or one agent's), a status, a search. */
    conversations: (query: ConversationListQuery, signal?: AbortSignal) =>
      fromContract(contract.GET("/api/whatsapp/conversations", { params: { query }, signal })),
    conversation: (id: number) =>
      fromContract(contract.GET("/api/whatsapp/conversations/{id}", { params: { path: { id } } })),
    setAssignee: (id: number, userId: number | null) =>
      fromContract(
        contract.PUT("/api/whatsapp/conversations/{id}/assignee", { params: { path: { id } }, body: { userId } }),
      ),
    setStatus: (id: number, status: ConversationStatus, snoozedUntil?: string) =>
      fromContract(
        contract.PUT("/api/whatsapp/conversations/{id}/status", {
          params: { path: { id } },
          body: status === "snoozed" ? { status, snoozedUntil } : { status },
        }),
      ),
    notes: (id: number) =>
      fromContract(contract.GET("/api/whatsapp/conversations/{id}/notes", { params: { path: { id } } })),
    addNote: (id: number, body: string) =>
      fromContract(
        contract.POST("/api/whatsapp/conversations/{id}/notes", { params: { path: { id } }, body: { body } }),
      ),
    deleteNote: (id: number, noteId: number) =>
      fromContract(
        contract.DELETE("/api/whatsapp/conversations/{id}/notes/{noteId}", { params: { path: { id, noteId } } }),
      ),
    cannedReplies: () => fromContract(contract.GET("/api/whatsapp/canned-replies")),
    createCannedReply: (body: { shortcut: string; body: string }) =>
      fromContract(contract.POST("/api/whatsapp/canned-replies", { body })),
    updateCannedReply: (id: number, body: { shortcut?: string; body?: string }) =>
      fromContract(contract.PATCH("/api/whatsapp/canned-replies/{id}", { params: { path: { id } }, body })),
    deleteCannedReply: (id: number) =>
      fromContract(contract.DELETE("/api/whatsapp/canned-replies/{id}", { params: { path: { id } } })),
    /** A canned reply's body with this conversation's lead and business filled in. */
    renderCannedReply: (conversationId: number, cannedId: number) =>
      fromContract(
        contract.POST("/api/whatsapp/conversations/{id}/canned-replies/{cannedId}/render", {
          params: { path: { id: conversationId, cannedId } },
        }),
      ),
    messages: (id: number) =>
      fromContract(
        contract.GET("/api/whatsapp/conversations/{id}/messages", { params: { path: { id }, query: { limit: 100 } } }),
      ),
    markRead: (id: number) =>
      fromContract(contract.POST("/api/whatsapp/conversations/{id}/read", { params: { path: { id } } })),
    reply: (id: number, text: string, clientMessageId: string) =>
      fromContract(
        contract.POST("/api/whatsapp/conversations/{id}/reply", {
          params: { path: { id } },
          body: { text, clientMessageId },
        }),
      ),
    /** Sends a file (the body is the file itself; caption and name in the query). */
    attach: (
      id: number,
      file: Blob,
      opts: { contentType: string; fileName: string; caption: string; clientMessageId: string; voiceNote?: boolean },
    ) =>
      fromContract(
        contract.POST("/api/whatsapp/conversations/{id}/media", {
          params: {
            path: { id },
            query: {
              fileName: opts.fileName,
              caption: opts.caption || undefined,
              clientMessageId: opts.clientMessageId,
              voiceNote: opts.voiceNote ? "true" : undefined,
            },
          },
          ...fileBody(file, opts.contentType),
        }),
      ),
    outbound: (id: number) => fromContract(contract.GET("/api/whatsapp/outbound/{id}", { params: { path: { id } } })),
  },
  users: {
    list: () => fromContract(contract.GET("/api/users")),
    create: (body: BodyOf<"/api/users", "post">) => fromContract(contract.POST("/api/users", { body })),
    update: (id: number, body: BodyOf<"/api/users/{id}", "patch">) =>
      fromContract(contract.PATCH("/api/users/{id}", { params: { path: { id } }, body })),
  },
  settings: {
    get: () => fromContract(contract.GET("/api/settings")),
    update: (body: SettingsInput) => fromContract(contract.PATCH("/api/settings", { body })),
    reminderTemplate: () => fromContract(contract.GET("/api/settings/reminder-template")),
    setReminderTemplate: (template: string | null) =>
      fromContract(contract.PUT("/api/settings/reminder-template", { body: { template } })),
  },
};
