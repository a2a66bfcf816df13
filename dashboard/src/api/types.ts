/**
 * The shapes the first dashboard pages use, as aliases of the generated contract
 * (contracts/api/schema.ts from /openapi.json): when a route changes, `npm run api:generate`
 * changes these. Only `LeadListQuery` is the UI's own (see there).
 */
import type { components } from "../../../contracts/api/schema";
import type { BodyOf, JsonOf, QueryOf } from "./models";

type Schemas = components["schemas"];

export type Role = Schemas["UserRole"];
/** The roles a business's users may be given (system_admin is the platform's). */
export type AssignableRole = BodyOf<"/api/users", "post">["role"];
export type Me = JsonOf<"/api/me", "get">;
export type SetupInput = BodyOf<"/api/setup", "post">;

export type Lead = Schemas["Lead"];
export type LeadInput = BodyOf<"/api/leads", "post">;
export type LeadStatus = Schemas["LeadStatus"];
/**
 * The leads list's filters as the UI holds them: several statuses may be picked; the API takes
 * them comma-separated in one `status` parameter (client.ts joins them).
 */
export type LeadListQuery = Omit<QueryOf<"/api/leads", "get">, "status"> & { status?: string[] };
export type ImportPreview = Schemas["LeadImportPreview"];
export type ImportResult = Schemas["LeadImportResult"];

export type WhatsAppStatus = JsonOf<"/api/whatsapp/status", "get">;
/**
 * The shard's session. The status answers it without `qr`, `qrDataUrl` and `pairingCode` to those
 * who may not connect WhatsApp (those fields are optional here), or `{ error }` when unreachable.
 */
export type SessionInfo = Schemas["WhatsAppSession"];
export type Conversation = Schemas["Conversation"];
export type ConversationStatus = Conversation["status"];
export type ConversationListQuery = QueryOf<"/api/whatsapp/conversations", "get">;
export type ConversationNote = JsonOf<"/api/whatsapp/conversations/{id}/notes", "get">["notes"][number];
export type CannedReply = JsonOf<"/api/whatsapp/canned-replies", "get">["cannedReplies"][number];
export type Message = Schemas["Message"];
export type MessageStatus = Message["status"];

export type WorkingHours = NonNullable<Schemas["WorkingHours"]>;
export type Settings = Schemas["BusinessSettings"];
export type SettingsInput = BodyOf<"/api/settings", "patch">;
export type ReminderTemplate = JsonOf<"/api/settings/reminder-template", "get">;
