/**
 * Shapes of the API's answers, as the dashboard reads them. Temporary home: once the generated
 * contract (contracts/api/schema.ts from /openapi.json) is on main, these become aliases of its
 * `components["schemas"]`, and client.ts calls through openapi-fetch.
 */
import type { components } from "../../../contracts/api/schema";
import type { Permission } from "../../../worker/auth/permissions";

export type Role = "system_admin" | "owner" | "admin" | "agent";

export interface User {
  id: number;
  email: string;
  name: string;
  role: Role;
  businessId: number | null;
  isActive: boolean;
  createdAt?: string;
}

export interface BusinessSummary {
  id: number;
  name: string;
  timezone: string;
  locale: string;
  phoneRegion: string;
  whatsappShard: number | null;
}

export interface Me {
  user: User;
  business: BusinessSummary | null;
  permissions: Permission[];
}

export interface SetupState {
  setupRequired: boolean;
  tokenRequired: boolean;
}

export interface SetupInput {
  token?: string;
  email: string;
  password: string;
  name?: string;
  businessName: string;
  timezone?: string;
  locale?: string;
}

export interface Lead {
  id: number;
  firstName: string | null;
  lastName: string | null;
  phoneE164: string | null;
  email: string | null;
  source: string | null;
  status: string;
  notes: string | null;
  ownerUserId: number | null;
  tags: string[];
  createdAt: string;
  updatedAt: string;
}

export interface LeadInput {
  firstName?: string | null;
  lastName?: string | null;
  phone?: string | null;
  email?: string | null;
  source?: string | null;
  status?: string;
  notes?: string | null;
  ownerUserId?: number | null;
  tags?: string[];
}

export interface LeadListQuery {
  q?: string;
  status?: string[];
  source?: string;
  ownerUserId?: number;
  tag?: string;
  sort?: "created_at" | "updated_at";
  order?: "asc" | "desc";
  limit?: number;
  cursor?: string;
}

/** From the contract (routes converted to @hono/zod-openapi). */
export type LeadStatus = components["schemas"]["LeadStatus"];

export interface ImportRowError {
  line: number;
  fields: { field: string; message: string }[];
}

export interface ImportPreview {
  totalRows: number;
  validRows: number;
  newLeads: number;
  matchingExisting: { line: number; phone: string; existingLeadId: number }[];
  duplicatesInFile: { line: number; firstLine: number; phone: string }[];
  errors: ImportRowError[];
  errorCount: number;
  ignoredColumns: string[];
  sample: { line: number; values: Record<string, unknown> }[];
}

export interface ImportResult {
  totalRows: number;
  created: number;
  merged: number;
  skippedExisting: number;
  failed: number;
  errors: ImportRowError[];
}

export type ConnectionState = "connecting" | "qr" | "open" | "closed" | "logged_out";

export interface SessionInfo {
  state: ConnectionState;
  reason?: string;
  statusCode?: number;
  qr?: string;
  qrDataUrl?: string;
  pairingCode?: string;
  phoneNumber?: string;
  /** The shard's session watchdog: a silent open session is pinged and, if dead, reconnected. */
  watchdog?: {
    state: "ok" | "probing" | "reconnecting";
    lastTrafficAt?: string;
    lastProbeAt?: string;
    reason?: string;
    reconnects: number;
  };
  updatedAt: string;
}

export interface WhatsAppStatus {
  shard: number;
  move: unknown;
  session: SessionInfo | { error: string };
  lastReported: { state: string; updatedAt: string } | null;
  sends: { paused: boolean; pausedReason: string | null; pausedAt: string | null };
}

export interface Conversation {
  id: number;
  chatJid: string;
  leadId: number | null;
  displayName: string | null;
  lastMessageAt: string | null;
  lastMessagePreview: string | null;
  unreadCount: number;
}

export type MessageStatus = "pending" | "sent" | "delivered" | "read" | "played" | "failed";

export type MediaStatus = "pending" | "stored" | "expired" | "too_large" | "failed";

export interface Message {
  id: number;
  conversationId: number;
  chatJid: string;
  waMessageId: string;
  fromMe: boolean;
  kind: string;
  text: string | null;
  /** What the sender declared about an attached file. */
  media: { mimetype?: string; fileName?: string; sizeBytes?: number; voiceNote?: boolean; seconds?: number } | null;
  mediaStatus: MediaStatus | null;
  /** The file, with Range (players seek), once stored. */
  mediaUrl: string | null;
  mediaMimeType: string | null;
  mediaSizeBytes: number | null;
  status: MessageStatus;
  sentAt: string;
  idempotencyKey: string | null;
}

export interface Outbound {
  id: number;
  status: "queued" | "sending" | "sent" | "failed" | "held" | "cancelled";
  lastError: string | null;
}

export interface Call {
  id: number;
  leadId: number | null;
  direction: "inbound" | "outbound";
  status: string;
  durationSeconds?: number | null;
  createdAt: string;
}

export interface Appointment {
  id: number;
  leadId: number;
  title: string;
  startsAt: string;
  endsAt?: string | null;
  status: string;
}

export type WorkingHours = Partial<Record<"sun" | "mon" | "tue" | "wed" | "thu" | "fri" | "sat", string[][]>>;

export interface Settings {
  workingHours: WorkingHours | null;
  reminderLeadMinutes: number;
  waMessagesPerMinute: number;
  waDailyCap: number;
  waQuietHoursStart: string | null;
  waQuietHoursEnd: string | null;
  outboundCallCap: number;
}

export interface ReminderTemplate {
  template: string | null;
  default: string;
  preview: string;
}
