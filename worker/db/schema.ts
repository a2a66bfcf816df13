/**
 * The database schema: the one module drizzle-kit generates migrations/ from.
 * Every tenant-owned table carries business_id; queries scope by the business of the session.
 */
import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { mediaKinds } from "../../contracts/shard-api";
import { messageStatuses } from "../../contracts/shard-events";
import type { Audience } from "../services/audience";

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp("updated_at", { withTimezone: true }).notNull().defaultNow();
const tsz = (name: string) => timestamp(name, { withTimezone: true });
const id = () => integer("id").primaryKey().generatedAlwaysAsIdentity();
const businessRef = () =>
  integer("business_id")
    .notNull()
    .references(() => businesses.id, { onDelete: "cascade" });

export const businesses = pgTable(
  "businesses",
  {
    id: id(),
    name: text("name").notNull(),
    timezone: text("timezone").notNull().default("Asia/Jerusalem"),
    locale: text("locale").notNull().default("he-IL"),
    /** ISO 3166 region used to read phone numbers typed without a country code. */
    phoneRegion: text("phone_region").notNull().default("IL"),
    /** The business's Twilio number (E.164): inbound calls are matched on it. */
    twilioNumber: text("twilio_number"),
    /** The WhatsApp shard that holds this business's session (> 0 wins over the hash). */
    whatsappShard: integer("whatsapp_shard").notNull().default(1),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("businesses_twilio_number_key").on(t.twilioNumber)],
);

export const userRoles = ["system_admin", "owner", "admin", "agent"] as const;
export type UserRole = (typeof userRoles)[number];

export const users = pgTable(
  "users",
  {
    id: id(),
    /** Null only for system admins, who belong to no business. */
    businessId: integer("business_id").references(() => businesses.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    name: text("name").notNull(),
    role: text("role", { enum: userRoles }).notNull(),
    /** `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`: the iteration count travels with the hash. */
    passwordHash: text("password_hash").notNull(),
    isActive: boolean("is_active").notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("users_email_key").on(sql`lower(${t.email})`),
    index("users_business_idx").on(t.businessId),
    check("users_role_check", sql`${t.role} in ('system_admin','owner','admin','agent')`),
    check("users_business_required", sql`${t.role} = 'system_admin' or ${t.businessId} is not null`),
  ],
);

export const sessions = pgTable(
  "sessions",
  {
    id: id(),
    /** SHA-256 of the opaque cookie token; the token itself is never stored. */
    tokenHash: text("token_hash").notNull(),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** The business a system admin chose to act on; for other roles, their own business. */
    actingBusinessId: integer("acting_business_id").references(() => businesses.id, { onDelete: "set null" }),
    expiresAt: tsz("expires_at").notNull(),
    revokedAt: tsz("revoked_at"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    createdAt: createdAt(),
    lastSeenAt: tsz("last_seen_at").notNull().defaultNow(),
  },
  (t) => [uniqueIndex("sessions_token_hash_key").on(t.tokenHash), index("sessions_user_idx").on(t.userId)],
);

export const leadStatuses = pgTable(
  "lead_statuses",
  {
    id: id(),
    businessId: businessRef(),
    key: text("key").notNull(),
    label: text("label").notNull(),
    color: text("color").notNull().default("#64748b"),
    sortOrder: integer("sort_order").notNull().default(0),
    isDefault: boolean("is_default").notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("lead_statuses_business_key").on(t.businessId, t.key)],
);

export const leads = pgTable(
  "leads",
  {
    id: id(),
    businessId: businessRef(),
    firstName: text("first_name"),
    lastName: text("last_name"),
    phoneE164: text("phone_e164"),
    email: text("email"),
    source: text("source"),
    status: text("status").notNull().default("new"),
    notes: text("notes"),
    ownerUserId: integer("owner_user_id").references(() => users.id, { onDelete: "set null" }),
    tags: text("tags").array().notNull().default(sql`'{}'::text[]`),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    deletedAt: tsz("deleted_at"),
  },
  (t) => [
    uniqueIndex("leads_business_phone_key").on(t.businessId, t.phoneE164).where(sql`${t.deletedAt} is null`),
    index("leads_business_created_idx").on(t.businessId, t.createdAt, t.id),
    index("leads_business_status_idx").on(t.businessId, t.status),
    // Inbox search by the lead's name and phone (worker/inbox/search.ts); the name expression is
    // repeated there verbatim so the planner matches it to this index.
    index("leads_full_name_trgm_idx").using(
      "gin",
      t.businessId,
      sql`(coalesce(${t.firstName}, '') || ' ' || coalesce(${t.lastName}, '')) gin_trgm_ops`,
    ),
    index("leads_phone_trgm_idx").using("gin", t.businessId, sql`${t.phoneE164} gin_trgm_ops`),
  ],
);

export const callDirections = ["inbound", "outbound"] as const;
export const callSources = ["direct", "bulk", "inbound"] as const;

export const callLogs = pgTable(
  "call_logs",
  {
    id: id(),
    businessId: businessRef(),
    leadId: integer("lead_id").references(() => leads.id, { onDelete: "set null" }),
    direction: text("direction", { enum: callDirections }).notNull(),
    source: text("source", { enum: callSources }).notNull(),
    callSid: text("call_sid"),
    leaseId: text("lease_id"),
    fromNumber: text("from_number"),
    toNumber: text("to_number"),
    /** Twilio's call status; terminal states never regress. */
    status: text("status").notNull(),
    /** Highest status-callback SequenceNumber applied, so late callbacks are ignored. */
    sequenceNumber: integer("sequence_number").notNull().default(-1),
    durationSeconds: integer("duration_seconds"),
    recordingSid: text("recording_sid"),
    recordingUrl: text("recording_url"),
    recordingDurationSeconds: integer("recording_duration_seconds"),
    /** Why the call was refused or failed (e.g. "platform cap 50 reached"). */
    reason: text("reason"),
    createdByUserId: integer("created_by_user_id").references(() => users.id, { onDelete: "set null" }),
    outboundJobId: integer("outbound_job_id"),
    startedAt: tsz("started_at"),
    answeredAt: tsz("answered_at"),
    endedAt: tsz("ended_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("call_logs_call_sid_key").on(t.callSid),
    index("call_logs_business_created_idx").on(t.businessId, t.createdAt),
    // Campaign recovery finds a job's calls by it.
    index("call_logs_outbound_job_idx").on(t.outboundJobId).where(sql`${t.outboundJobId} is not null`),
  ],
);

/*
 * Bulk call campaigns. The API and the code call them campaigns; the tables keep their first names
 * (outbound_call_runs: a campaign; outbound_call_jobs: its jobs, one per lead): drizzle-kit asks
 * interactively whether a table was renamed, so a rename cannot be generated unattended, and a
 * hand-written rename migration is not worth the risk for a name.
 */
export const campaignStatuses = ["queued", "running", "paused", "cancelled", "completed", "failed"] as const;

export const outboundCallRuns = pgTable(
  "outbound_call_runs",
  {
    id: id(),
    businessId: businessRef(),
    name: text("name").notNull(),
    status: text("status", { enum: campaignStatuses }).notNull().default("queued"),
    createdByUserId: integer("created_by_user_id").references(() => users.id, { onDelete: "set null" }),
    /**
     * The filter or explicit lead ids the campaign was created from, for the record, and whether it
     * dials only in working hours.
     */
    audience: jsonb("audience").$type<Audience & { businessHoursOnly?: boolean }>().notNull(),
    maxAttempts: smallint("max_attempts").notNull().default(1),
    retryDelaySeconds: integer("retry_delay_seconds").notNull().default(600),
    windowStart: tsz("window_start"),
    windowEnd: tsz("window_end"),
    totalJobs: integer("total_jobs").notNull().default(0),
    skippedLeads: integer("skipped_leads").notNull().default(0),
    lastError: text("last_error"),
    startedAt: tsz("started_at"),
    finishedAt: tsz("finished_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("outbound_call_runs_business_idx").on(t.businessId, t.createdAt)],
);

export const outboundJobStatuses = [
  "queued",
  "dialing",
  "in_call",
  "completed",
  "no_answer",
  "busy",
  "failed",
  "cancelled",
] as const;

export const outboundCallJobs = pgTable(
  "outbound_call_jobs",
  {
    id: id(),
    runId: integer("run_id")
      .notNull()
      .references(() => outboundCallRuns.id, { onDelete: "cascade" }),
    businessId: businessRef(),
    leadId: integer("lead_id")
      .notNull()
      .references(() => leads.id, { onDelete: "cascade" }),
    phoneE164: text("phone_e164").notNull(),
    status: text("status", { enum: outboundJobStatuses }).notNull().default("queued"),
    attempts: smallint("attempts").notNull().default(0),
    /** Set by the one consumer that claimed the job (atomic UPDATE ... WHERE lock_token IS NULL). */
    lockToken: uuid("lock_token"),
    callSid: text("call_sid"),
    outcome: text("outcome"),
    lastError: text("last_error"),
    nextAttemptAt: tsz("next_attempt_at"),
    dialStartedAt: tsz("dial_started_at"),
    completedAt: tsz("completed_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("outbound_call_jobs_run_lead_key").on(t.runId, t.leadId),
    uniqueIndex("outbound_call_jobs_call_sid_key").on(t.callSid),
    index("outbound_call_jobs_run_status_idx").on(t.runId, t.status),
  ],
);

/** Where a conversation stands in the team's inbox. */
export const conversationStatuses = ["open", "pending", "resolved", "snoozed"] as const;
export type ConversationStatus = (typeof conversationStatuses)[number];

export const waConversations = pgTable(
  "wa_conversations",
  {
    id: id(),
    businessId: businessRef(),
    chatJid: text("chat_jid").notNull(),
    leadId: integer("lead_id").references(() => leads.id, { onDelete: "set null" }),
    displayName: text("display_name"),
    lastMessageAt: tsz("last_message_at"),
    lastMessagePreview: text("last_message_preview"),
    unreadCount: integer("unread_count").notNull().default(0),
    /**
     * The address the customer last wrote from (`…@lid` or the phone JID): replies go there, since
     * a contact WhatsApp moved to LID addressing may refuse a send to its phone JID. The
     * conversation itself is keyed by the phone JID when one is known (see wa_lid_mappings).
     */
    replyJid: text("reply_jid"),
    createdAt: createdAt(),
    /**
     * Working the inbox as a team (worker/inbox/): who handles it, and where it stands. A snoozed
     * conversation whose snoozed_until has passed reads as open (worker/inbox/conversation-view.ts);
     * the minute sweep then stores it so. A new customer message reopens pending, resolved and snoozed.
     */
    status: text("status", { enum: conversationStatuses }).notNull().default("open"),
    snoozedUntil: tsz("snoozed_until"),
    assigneeUserId: integer("assignee_user_id").references(() => users.id, { onDelete: "set null" }),
    statusChangedAt: tsz("status_changed_at"),
    /**
     * Response times of the current cycle (a cycle starts when the conversation is created or a
     * resolved one reopens): when it (re)opened, since when the customer has been waiting for the
     * business's first reply, that first response's delay, and the latest resolution.
     */
    openedAt: tsz("opened_at").notNull().defaultNow(),
    customerWaitingSince: tsz("customer_waiting_since"),
    firstResponseSeconds: integer("first_response_seconds"),
    resolvedAt: tsz("resolved_at"),
    resolutionSeconds: integer("resolution_seconds"),
  },
  (t) => [
    uniqueIndex("wa_conversations_business_chat_key").on(t.businessId, t.chatJid),
    index("wa_conversations_business_activity_idx").on(t.businessId, t.lastMessageAt),
    index("wa_conversations_business_assignee_idx").on(t.businessId, t.assigneeUserId),
    // The minute sweep's work list: only snoozed conversations.
    index("wa_conversations_snoozed_idx").on(t.snoozedUntil).where(sql`${t.status} = 'snoozed'`),
    // Inbox search (worker/inbox/search.ts): trigram indexes serve ILIKE '%…%' in any script.
    index("wa_conversations_display_name_trgm_idx").using("gin", t.businessId, sql`${t.displayName} gin_trgm_ops`),
    index("wa_conversations_chat_jid_trgm_idx").using("gin", t.businessId, sql`${t.chatJid} gin_trgm_ops`),
    check("wa_conversations_status_check", sql`${t.status} in ('open','pending','resolved','snoozed')`),
    check("wa_conversations_snooze_check", sql`(${t.status} = 'snoozed') = (${t.snoozedUntil} is not null)`),
  ],
);

/** Private notes agents leave in a conversation: never sent to the customer, never in its messages. */
export const waConversationNotes = pgTable(
  "wa_conversation_notes",
  {
    id: id(),
    businessId: businessRef(),
    conversationId: integer("conversation_id")
      .notNull()
      .references(() => waConversations.id, { onDelete: "cascade" }),
    authorUserId: integer("author_user_id").references(() => users.id, { onDelete: "set null" }),
    body: text("body").notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("wa_conversation_notes_conversation_idx").on(t.conversationId, t.createdAt, t.id)],
);

/** A business's canned replies: typed `/shortcut` in the composer, the body rendered with template variables. */
export const waCannedReplies = pgTable(
  "wa_canned_replies",
  {
    id: id(),
    businessId: businessRef(),
    shortcut: text("shortcut").notNull(),
    body: text("body").notNull(),
    createdByUserId: integer("created_by_user_id").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("wa_canned_replies_business_shortcut_key").on(t.businessId, t.shortcut)],
);

/** The statuses of a WhatsApp message: the contract's list (contracts/shard-events.ts) is their one home. */
export const waMessageStatuses = messageStatuses;

/**
 * Where a message's media is: `pending` (the media queue will download it into R2), `stored` (in
 * R2 under media_key), `expired` (WhatsApp no longer has it), `too_large`, or `failed` (retries
 * spent; media_error says why).
 */
export const waMediaStatuses = ["pending", "stored", "expired", "too_large", "failed"] as const;

export const waMessages = pgTable(
  "wa_messages",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    businessId: businessRef(),
    conversationId: integer("conversation_id")
      .notNull()
      .references(() => waConversations.id, { onDelete: "cascade" }),
    chatJid: text("chat_jid").notNull(),
    /** WhatsApp's message id; with chat and fromMe it identifies a message (the dedupe key). */
    waMessageId: text("wa_message_id").notNull(),
    fromMe: boolean("from_me").notNull(),
    kind: text("kind").notNull().default("text"),
    text: text("text"),
    media: jsonb("media"),
    status: text("status", { enum: waMessageStatuses }).notNull().default("pending"),
    statusUpdatedAt: tsz("status_updated_at"),
    sentAt: tsz("sent_at").notNull(),
    /** For our own sends: the key the shard dedupes retried sends on. */
    idempotencyKey: text("idempotency_key"),
    createdByUserId: integer("created_by_user_id").references(() => users.id, { onDelete: "set null" }),
    /** The shard's opaque reference to download the media from WhatsApp (never shown to users). */
    mediaRef: text("media_ref"),
    mediaStatus: text("media_status", { enum: waMediaStatuses }),
    /** The R2 object key of the media, once stored. */
    mediaKey: text("media_key"),
    mediaMimeType: text("media_mime_type"),
    mediaSizeBytes: bigint("media_size_bytes", { mode: "number" }),
    /** Hex SHA-256 of the stored bytes. */
    mediaSha256: text("media_sha256"),
    mediaError: text("media_error"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("wa_messages_identity_key").on(t.businessId, t.chatJid, t.waMessageId, t.fromMe),
    index("wa_messages_conversation_idx").on(t.conversationId, t.sentAt, t.id),
    // The media sweep's work list: only the few rows still waiting for their download.
    index("wa_messages_media_pending_idx").on(t.createdAt).where(sql`${t.mediaStatus} = 'pending'`),
    // Inbox search by message text (worker/inbox/search.ts). The business id leads (btree_gin):
    // a common word must not gather every tenant's messages before they are filtered out.
    index("wa_messages_text_trgm_idx").using("gin", t.businessId, sql`${t.text} gin_trgm_ops`),
  ],
);

/**
 * LID ↔ phone pairs a business's WhatsApp told us about (Baileys' lid-mapping events, or a
 * message carrying both ids): how a chat addressed by `…@lid` finds the customer's conversation
 * and lead, which are keyed by the phone JID.
 */
export const waLidMappings = pgTable(
  "wa_lid_mappings",
  {
    businessId: businessRef(),
    lidJid: text("lid_jid").notNull(),
    pnJid: text("pn_jid").notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.businessId, t.lidJid] }), index("wa_lid_mappings_pn_idx").on(t.businessId, t.pnJid)],
);

export const scheduledMessageStatuses = ["pending", "queued", "sent", "failed", "cancelled"] as const;

export const scheduledMessages = pgTable(
  "scheduled_messages",
  {
    id: id(),
    businessId: businessRef(),
    leadId: integer("lead_id")
      .notNull()
      .references(() => leads.id, { onDelete: "cascade" }),
    template: text("template").notNull(),
    renderedText: text("rendered_text"),
    sendAt: tsz("send_at").notNull(),
    status: text("status", { enum: scheduledMessageStatuses }).notNull().default("pending"),
    claimedAt: tsz("claimed_at"),
    sentAt: tsz("sent_at"),
    waMessageId: text("wa_message_id"),
    lastError: text("last_error"),
    createdByUserId: integer("created_by_user_id").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
  },
  (t) => [index("scheduled_messages_due_idx").on(t.status, t.sendAt)],
);

export const appointmentStatuses = ["scheduled", "cancelled", "completed"] as const;
export const reminderStatuses = ["pending", "queued", "sent", "skipped", "failed"] as const;

export const appointments = pgTable(
  "appointments",
  {
    id: id(),
    businessId: businessRef(),
    leadId: integer("lead_id")
      .notNull()
      .references(() => leads.id, { onDelete: "cascade" }),
    title: text("title").notNull(),
    location: text("location"),
    notes: text("notes"),
    startsAt: tsz("starts_at").notNull(),
    endsAt: tsz("ends_at"),
    status: text("status", { enum: appointmentStatuses }).notNull().default("scheduled"),
    reminderMinutesBefore: integer("reminder_minutes_before"),
    reminderDueAt: tsz("reminder_due_at"),
    reminderStatus: text("reminder_status", { enum: reminderStatuses }).notNull().default("pending"),
    reminderSentAt: tsz("reminder_sent_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("appointments_business_starts_idx").on(t.businessId, t.startsAt),
    index("appointments_reminder_due_idx").on(t.reminderStatus, t.reminderDueAt),
  ],
);

export const businessSettings = pgTable("business_settings", {
  businessId: integer("business_id")
    .primaryKey()
    .references(() => businesses.id, { onDelete: "cascade" }),
  /** { "sun": [["09:00","17:00"]], ... } in the business's timezone. */
  workingHours: jsonb("working_hours"),
  reminderLeadMinutes: integer("reminder_lead_minutes")
    .notNull()
    .default(24 * 60),
  waMessagesPerMinute: integer("wa_messages_per_minute").notNull().default(20),
  waDailyCap: integer("wa_daily_cap").notNull().default(1000),
  waQuietHoursStart: text("wa_quiet_hours_start"),
  waQuietHoursEnd: text("wa_quiet_hours_end"),
  outboundCallCap: integer("outbound_call_cap").notNull().default(3),
  /** What an inbound call does: { "type": "forward", "to": "+972..." } or { "type": "voicemail" }. */
  inboundCallAction: jsonb("inbound_call_action"),
  greetingText: text("greeting_text"),
  /** The appointment reminder's text; null uses the built-in Hebrew/English template. */
  reminderTemplate: text("reminder_template"),
  updatedAt: updatedAt(),
});

export const featureFlags = pgTable(
  "feature_flags",
  {
    id: id(),
    key: text("key").notNull(),
    /** Null: the platform default for every business without its own row. */
    businessId: integer("business_id").references(() => businesses.id, { onDelete: "cascade" }),
    enabled: boolean("enabled").notNull(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("feature_flags_key_business_key").on(t.key, sql`coalesce(${t.businessId}, 0)`)],
);

/** Jobs that could not be processed: malformed, or out of retries. Kept for operators to inspect. */
export const deadLetters = pgTable(
  "dead_letters",
  {
    id: id(),
    queue: text("queue").notNull(),
    jobType: text("job_type"),
    messageId: text("message_id"),
    body: jsonb("body"),
    reason: text("reason").notNull(),
    attempts: integer("attempts").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    index("dead_letters_created_idx").on(t.createdAt),
    uniqueIndex("dead_letters_message_key").on(t.queue, t.messageId),
  ],
);

/** The WhatsApp session of a business as its shard last reported it (for the dashboard). */
export const waSessions = pgTable("wa_sessions", {
  businessId: integer("business_id")
    .primaryKey()
    .references(() => businesses.id, { onDelete: "cascade" }),
  shardId: integer("shard_id").notNull(),
  state: text("state").notNull(),
  reason: text("reason"),
  phoneNumber: text("phone_number"),
  updatedAt: tsz("updated_at").notNull(),
});

/** Shard events already stored, by their stable id: a redelivered event is acknowledged, not stored twice. */
export const shardEvents = pgTable(
  "shard_events",
  {
    eventId: text("event_id").primaryKey(),
    businessId: integer("business_id").notNull(),
    type: text("type").notNull(),
    receivedAt: tsz("received_at").notNull().defaultNow(),
  },
  (t) => [index("shard_events_received_idx").on(t.receivedAt)],
);

/**
 * Shard events the edge could not apply, kept for operators: the raw event as received (JSON text,
 * not jsonb, which refuses U+0000), why, and how often it came. The delivery around it is still
 * acknowledged, so one bad event never blocks the events behind it. Nothing replays these
 * automatically; see README "WhatsApp event quarantine".
 */
export const shardEventQuarantine = pgTable(
  "shard_event_quarantine",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    /** The shard that sent it (authenticated by its key). */
    shardId: integer("shard_id").notNull(),
    /** The business the event names, when it is a safe integer (no foreign key: it may not exist). */
    businessId: bigint("business_id", { mode: "number" }),
    eventId: text("event_id"),
    eventType: text("event_type"),
    /** invalid | foreign_shard | not_assigned_shard | stale_fencing_token | apply_failed */
    reason: text("reason").notNull(),
    detail: text("detail").notNull(),
    payload: text("payload").notNull(),
    /** SHA-256 of the payload: the same event quarantined again bumps `occurrences`. */
    payloadSha256: text("payload_sha256").notNull(),
    occurrences: integer("occurrences").notNull().default(1),
    firstSeenAt: tsz("first_seen_at").notNull().defaultNow(),
    lastSeenAt: tsz("last_seen_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("shard_event_quarantine_payload_reason_key").on(t.payloadSha256, t.reason),
    index("shard_event_quarantine_business_idx").on(t.businessId, t.lastSeenAt),
  ],
);

export const waOutboundStatuses = ["queued", "sending", "sent", "held", "failed", "cancelled"] as const;
export const waOutboundOrigins = ["reply", "broadcast", "scheduled", "reminder"] as const;

/**
 * Every outgoing WhatsApp message, persisted before it is queued. The (business, idempotency key)
 * pair makes creating it idempotent, and the same key makes the shard send it at most once.
 */
export const waOutbound = pgTable(
  "wa_outbound",
  {
    id: id(),
    businessId: businessRef(),
    leadId: integer("lead_id").references(() => leads.id, { onDelete: "set null" }),
    /** Phone digits (E.164 without +) or a JID. */
    to: text("to").notNull(),
    text: text("text").notNull(),
    idempotencyKey: text("idempotency_key").notNull(),
    origin: text("origin", { enum: waOutboundOrigins }).notNull(),
    originId: integer("origin_id"),
    status: text("status", { enum: waOutboundStatuses }).notNull().default("queued"),
    attempts: integer("attempts").notNull().default(0),
    waMessageId: text("wa_message_id"),
    chatJid: text("chat_jid"),
    lastError: text("last_error"),
    createdByUserId: integer("created_by_user_id").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    sentAt: tsz("sent_at"),
    /** An attached file (then `text` is its caption): the R2 object key and what was uploaded. */
    mediaKey: text("media_key"),
    mediaKind: text("media_kind", { enum: mediaKinds }),
    mediaMimeType: text("media_mime_type"),
    mediaSizeBytes: bigint("media_size_bytes", { mode: "number" }),
    mediaSha256: text("media_sha256"),
    mediaFileName: text("media_file_name"),
    voiceNote: boolean("voice_note").notNull().default(false),
  },
  (t) => [
    uniqueIndex("wa_outbound_business_key").on(t.businessId, t.idempotencyKey),
    index("wa_outbound_business_status_idx").on(t.businessId, t.status),
  ],
);

export const broadcastStatuses = ["queued", "running", "paused", "cancelled", "completed"] as const;

export const broadcasts = pgTable(
  "broadcasts",
  {
    id: id(),
    businessId: businessRef(),
    name: text("name").notNull(),
    template: text("template").notNull(),
    /** The lead filter the audience was drawn from, for the record. */
    audience: jsonb("audience").$type<Audience>().notNull(),
    status: text("status", { enum: broadcastStatuses }).notNull().default("queued"),
    totalRecipients: integer("total_recipients").notNull().default(0),
    skippedLeads: integer("skipped_leads").notNull().default(0),
    createdByUserId: integer("created_by_user_id").references(() => users.id, { onDelete: "set null" }),
    startedAt: tsz("started_at"),
    finishedAt: tsz("finished_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("broadcasts_business_idx").on(t.businessId, t.createdAt)],
);

export const broadcastRecipientStatuses = ["queued", "sent", "failed", "cancelled"] as const;

export const broadcastRecipients = pgTable(
  "broadcast_recipients",
  {
    broadcastId: integer("broadcast_id")
      .notNull()
      .references(() => broadcasts.id, { onDelete: "cascade" }),
    leadId: integer("lead_id")
      .notNull()
      .references(() => leads.id, { onDelete: "cascade" }),
    businessId: businessRef(),
    outboundId: integer("outbound_id").references(() => waOutbound.id, { onDelete: "set null" }),
    status: text("status", { enum: broadcastRecipientStatuses }).notNull().default("queued"),
    updatedAt: updatedAt(),
  },
  // One row per lead per broadcast: each lead is messaged at most once by construction.
  (t) => [
    primaryKey({ columns: [t.broadcastId, t.leadId] }),
    index("broadcast_recipients_status_idx").on(t.broadcastId, t.status),
  ],
);

/**
 * The first-run setup token, production only (worker/services/setup.ts): at most one row; only the
 * token's SHA-256 is kept. The Worker prints the token in its logs when it makes one; it expires,
 * and is deleted with the setup that used it.
 */
export const setupTokens = pgTable(
  "setup_tokens",
  {
    id: smallint("id").primaryKey().default(1),
    tokenHash: text("token_hash").notNull(),
    createdAt: createdAt(),
    expiresAt: tsz("expires_at").notNull(),
  },
  (t) => [check("setup_tokens_single_row", sql`${t.id} = 1`)],
);

// ---- integrations: API keys, audit log, outbound webhooks -------------------------------------

/**
 * A business's API keys. The secret is shown once at creation; only its SHA-256 is stored, with
 * a visible prefix (`psk_` + 8 characters) to tell keys apart. Scopes map onto permissions in
 * worker/auth/permissions.ts. A revoked or expired key is refused; the row stays for the log.
 */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: id(),
    businessId: businessRef(),
    name: text("name").notNull(),
    /** The key's visible start (`psk_ab12cd34`), shown in lists and logs. */
    prefix: text("prefix").notNull(),
    secretHash: text("secret_hash").notNull(),
    scopes: text("scopes").array().notNull(),
    createdByUserId: integer("created_by_user_id").references(() => users.id, { onDelete: "set null" }),
    expiresAt: tsz("expires_at"),
    lastUsedAt: tsz("last_used_at"),
    lastUsedIp: text("last_used_ip"),
    revokedAt: tsz("revoked_at"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("api_keys_secret_hash_key").on(t.secretHash),
    uniqueIndex("api_keys_prefix_key").on(t.prefix),
    index("api_keys_business_idx").on(t.businessId, t.id),
  ],
);

/**
 * Security-relevant actions: sign-ins, role changes, API key and webhook changes and use, shard
 * moves. Append-only. `business_id` is null for platform-level entries (a system admin's sign-in).
 */
export const auditLog = pgTable(
  "audit_log",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    businessId: integer("business_id").references(() => businesses.id, { onDelete: "cascade" }),
    actorUserId: integer("actor_user_id").references(() => users.id, { onDelete: "set null" }),
    actorApiKeyId: integer("actor_api_key_id").references(() => apiKeys.id, { onDelete: "set null" }),
    action: text("action").notNull(),
    targetType: text("target_type"),
    targetId: text("target_id"),
    ip: text("ip"),
    details: jsonb("details").$type<Record<string, unknown>>(),
    createdAt: createdAt(),
  },
  (t) => [index("audit_log_business_idx").on(t.businessId, t.id)],
);

/**
 * Where a business wants its events: a URL, the event types, a signing secret (Standard Webhooks
 * `whsec_…`; the previous one keeps signing alongside until `previous_secret_expires_at` after a
 * rotation). One consumer at a time delivers a subscription's events (the lease), in order.
 */
export const webhookSubscriptions = pgTable(
  "webhook_subscriptions",
  {
    id: id(),
    businessId: businessRef(),
    url: text("url").notNull(),
    description: text("description"),
    eventTypes: text("event_types").array().notNull(),
    secret: text("secret").notNull(),
    previousSecret: text("previous_secret"),
    previousSecretExpiresAt: tsz("previous_secret_expires_at"),
    enabled: boolean("enabled").notNull().default(true),
    /** Why the platform disabled it (kept failing); null when enabled or disabled by a user. */
    disabledReason: text("disabled_reason"),
    /** Since when every attempt failed (null after a success). */
    failingSince: tsz("failing_since"),
    /** The delivery lease: one consumer at a time works through this subscription's queue. */
    leaseToken: uuid("lease_token"),
    leaseUntil: tsz("lease_until"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("webhook_subscriptions_business_idx").on(t.businessId)],
);

/** The outbox: one row per event, written in the transaction of the change that caused it. */
export const webhookEvents = pgTable(
  "webhook_events",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    businessId: businessRef(),
    /** The Standard Webhooks `webhook-id` (`msg_…`): stable across retries and replays. */
    eventId: text("event_id").notNull(),
    type: text("type").notNull(),
    /** The body as sent, byte for byte on every attempt and replay: `{ type, timestamp, data }`. */
    body: text("body").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("webhook_events_event_id_key").on(t.eventId),
    index("webhook_events_business_idx").on(t.businessId, t.id),
  ],
);

export const webhookDeliveryStatuses = ["pending", "succeeded", "failed"] as const;

/** One event for one subscription: its state, and when it is next tried. */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    businessId: businessRef(),
    subscriptionId: integer("subscription_id")
      .notNull()
      .references(() => webhookSubscriptions.id, { onDelete: "cascade" }),
    eventRowId: bigint("event_row_id", { mode: "number" })
      .notNull()
      .references(() => webhookEvents.id, { onDelete: "cascade" }),
    status: text("status", { enum: webhookDeliveryStatuses }).notNull().default("pending"),
    /** Attempts since it was (re)queued. */
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: tsz("next_attempt_at").notNull().defaultNow(),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    deliveredAt: tsz("delivered_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_subscription_event_key").on(t.subscriptionId, t.eventRowId),
    // The head of a subscription's line: its oldest pending delivery.
    index("webhook_deliveries_pending_idx").on(t.subscriptionId, t.eventRowId).where(sql`${t.status} = 'pending'`),
    index("webhook_deliveries_due_idx").on(t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    index("webhook_deliveries_business_idx").on(t.businessId, t.id),
  ],
);

/** The delivery log: each HTTP attempt, what was sent and what came back. */
export const webhookAttempts = pgTable(
  "webhook_attempts",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    businessId: businessRef(),
    deliveryId: bigint("delivery_id", { mode: "number" })
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    requestHeaders: jsonb("request_headers").$type<Record<string, string>>().notNull(),
    responseStatus: integer("response_status"),
    /** The first KB of the response body. */
    responseSnippet: text("response_snippet"),
    error: text("error"),
    durationMs: integer("duration_ms").notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("webhook_attempts_delivery_idx").on(t.deliveryId, t.id)],
);
