CREATE TABLE "wa_lid_mappings" (
	"business_id" integer NOT NULL,
	"lid_jid" text NOT NULL,
	"pn_jid" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "wa_lid_mappings_business_id_lid_jid_pk" PRIMARY KEY("business_id","lid_jid")
);
--> statement-breakpoint
ALTER TABLE "wa_conversations" ADD COLUMN "reply_jid" text;--> statement-breakpoint
ALTER TABLE "wa_messages" ADD COLUMN "media_ref" text;--> statement-breakpoint
ALTER TABLE "wa_messages" ADD COLUMN "media_status" text;--> statement-breakpoint
ALTER TABLE "wa_messages" ADD COLUMN "media_key" text;--> statement-breakpoint
ALTER TABLE "wa_messages" ADD COLUMN "media_mime_type" text;--> statement-breakpoint
ALTER TABLE "wa_messages" ADD COLUMN "media_size_bytes" bigint;--> statement-breakpoint
ALTER TABLE "wa_messages" ADD COLUMN "media_sha256" text;--> statement-breakpoint
ALTER TABLE "wa_messages" ADD COLUMN "media_error" text;--> statement-breakpoint
ALTER TABLE "wa_outbound" ADD COLUMN "media_key" text;--> statement-breakpoint
ALTER TABLE "wa_outbound" ADD COLUMN "media_kind" text;--> statement-breakpoint
ALTER TABLE "wa_outbound" ADD COLUMN "media_mime_type" text;--> statement-breakpoint
ALTER TABLE "wa_outbound" ADD COLUMN "media_size_bytes" bigint;--> statement-breakpoint
ALTER TABLE "wa_outbound" ADD COLUMN "media_sha256" text;--> statement-breakpoint
ALTER TABLE "wa_outbound" ADD COLUMN "media_file_name" text;--> statement-breakpoint
ALTER TABLE "wa_outbound" ADD COLUMN "voice_note" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "wa_lid_mappings" ADD CONSTRAINT "wa_lid_mappings_business_id_businesses_id_fk" FOREIGN KEY ("business_id") REFERENCES "public"."businesses"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "wa_lid_mappings_pn_idx" ON "wa_lid_mappings" USING btree ("business_id","pn_jid");--> statement-breakpoint
CREATE INDEX "wa_messages_media_pending_idx" ON "wa_messages" USING btree ("created_at") WHERE "wa_messages"."media_status" = 'pending';