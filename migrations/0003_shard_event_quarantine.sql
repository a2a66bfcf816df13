CREATE TABLE "shard_event_quarantine" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "shard_event_quarantine_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"shard_id" integer NOT NULL,
	"business_id" bigint,
	"event_id" text,
	"event_type" text,
	"reason" text NOT NULL,
	"detail" text NOT NULL,
	"payload" text NOT NULL,
	"payload_sha256" text NOT NULL,
	"occurrences" integer DEFAULT 1 NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "shard_event_quarantine_payload_reason_key" ON "shard_event_quarantine" USING btree ("payload_sha256","reason");--> statement-breakpoint
CREATE INDEX "shard_event_quarantine_business_idx" ON "shard_event_quarantine" USING btree ("business_id","last_seen_at");