ALTER TABLE "tracks" ADD COLUMN "year" integer;--> statement-breakpoint
ALTER TABLE "tracks" ADD COLUMN "track_number" integer;--> statement-breakpoint
ALTER TABLE "tracks" ADD COLUMN "status" text DEFAULT 'pending' NOT NULL;--> statement-breakpoint
ALTER TABLE "tracks" ADD COLUMN "status_reason" text;--> statement-breakpoint
CREATE INDEX "tracks_status_idx" ON "tracks" USING btree ("status");--> statement-breakpoint
CREATE INDEX "tracks_content_hash_idx" ON "tracks" USING btree ("content_hash");