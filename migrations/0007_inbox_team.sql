-- Inbox search uses trigram indexes (pg_trgm) that lead with the business id (btree_gin); both
-- ship with Postgres and are available on Neon.
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE EXTENSION IF NOT EXISTS btree_gin;--> statement-breakpoint
CREATE TABLE "wa_canned_replies" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "wa_canned_replies_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"business_id" integer NOT NULL,
	"shortcut" text NOT NULL,
	"body" text NOT NULL,
	"created_by_user_id" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "wa_conversation_notes" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "wa_conversation_notes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"business_id" integer NOT NULL,
	"conversation_id" integer NOT NULL,
	"author_user_id" integer,
	"body" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "wa_conversations" ADD COLUMN "status" text DEFAULT 'open' NOT NULL;--> statement-breakpoint
ALTER TABLE "wa_conversations" ADD COLUMN "snoozed_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "wa_conversations" ADD COLUMN "assignee_user_id" integer;--> statement-breakpoint
ALTER TABLE "wa_conversations" ADD COLUMN "status_changed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "wa_conversations" ADD COLUMN "opened_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "wa_conversations" ADD COLUMN "customer_waiting_since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "wa_conversations" ADD COLUMN "first_response_seconds" integer;--> statement-breakpoint
ALTER TABLE "wa_conversations" ADD COLUMN "resolved_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "wa_conversations" ADD COLUMN "resolution_seconds" integer;--> statement-breakpoint
-- Conversations that existed before this migration opened when they were created.
UPDATE "wa_conversations" SET "opened_at" = "created_at";--> statement-breakpoint
ALTER TABLE "wa_canned_replies" ADD CONSTRAINT "wa_canned_replies_business_id_businesses_id_fk" FOREIGN KEY ("business_id") REFERENCES "public"."businesses"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "wa_canned_replies" ADD CONSTRAINT "wa_canned_replies_created_by_user_id_users_id_fk" FOREIGN KEY ("created_by_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "wa_conversation_notes" ADD CONSTRAINT "wa_conversation_notes_business_id_businesses_id_fk" FOREIGN KEY ("business_id") REFERENCES "public"."businesses"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "wa_conversation_notes" ADD CONSTRAINT "wa_conversation_notes_conversation_id_wa_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."wa_conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "wa_conversation_notes" ADD CONSTRAINT "wa_conversation_notes_author_user_id_users_id_fk" FOREIGN KEY ("author_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "wa_canned_replies_business_shortcut_key" ON "wa_canned_replies" USING btree ("business_id","shortcut");--> statement-breakpoint
CREATE INDEX "wa_conversation_notes_conversation_idx" ON "wa_conversation_notes" USING btree ("conversation_id","created_at","id");--> statement-breakpoint
ALTER TABLE "wa_conversations" ADD CONSTRAINT "wa_conversations_assignee_user_id_users_id_fk" FOREIGN KEY ("assignee_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "leads_full_name_trgm_idx" ON "leads" USING gin ("business_id",(coalesce("first_name", '') || ' ' || coalesce("last_name", '')) gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "leads_phone_trgm_idx" ON "leads" USING gin ("business_id","phone_e164" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "wa_conversations_business_assignee_idx" ON "wa_conversations" USING btree ("business_id","assignee_user_id");--> statement-breakpoint
CREATE INDEX "wa_conversations_snoozed_idx" ON "wa_conversations" USING btree ("snoozed_until") WHERE "wa_conversations"."status" = 'snoozed';--> statement-breakpoint
CREATE INDEX "wa_conversations_display_name_trgm_idx" ON "wa_conversations" USING gin ("business_id","display_name" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "wa_conversations_chat_jid_trgm_idx" ON "wa_conversations" USING gin ("business_id","chat_jid" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "wa_messages_text_trgm_idx" ON "wa_messages" USING gin ("business_id","text" gin_trgm_ops);--> statement-breakpoint
ALTER TABLE "wa_conversations" ADD CONSTRAINT "wa_conversations_status_check" CHECK ("wa_conversations"."status" in ('open','pending','resolved','snoozed'));--> statement-breakpoint
ALTER TABLE "wa_conversations" ADD CONSTRAINT "wa_conversations_snooze_check" CHECK (("wa_conversations"."status" = 'snoozed') = ("wa_conversations"."snoozed_until" is not null));