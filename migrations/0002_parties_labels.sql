CREATE TABLE "parties" (
	"id" serial PRIMARY KEY NOT NULL,
	"platform" text NOT NULL,
	"channel_id" text NOT NULL,
	"name" text NOT NULL,
	"started_by" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_activity_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "party_items" (
	"id" serial PRIMARY KEY NOT NULL,
	"party_id" integer NOT NULL,
	"kind" text NOT NULL,
	"track_id" integer,
	"title" text NOT NULL,
	"artist" text,
	"url" text,
	"duration_seconds" real,
	"shared_by" text,
	"vector" "bytea",
	"labels" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"similarity" real,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "embeddings" ADD COLUMN "labels" jsonb;--> statement-breakpoint
ALTER TABLE "party_items" ADD CONSTRAINT "party_items_party_id_parties_id_fk" FOREIGN KEY ("party_id") REFERENCES "public"."parties"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "parties_active_channel_uq" ON "parties" USING btree ("platform","channel_id") WHERE "parties"."ended_at" is null;--> statement-breakpoint
CREATE INDEX "parties_active_idx" ON "parties" USING btree ("last_activity_at") WHERE "parties"."ended_at" is null;--> statement-breakpoint
CREATE INDEX "party_items_party_idx" ON "party_items" USING btree ("party_id","id");