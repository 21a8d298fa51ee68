ALTER TABLE `shoots` ADD `compacted_at` text;--> statement-breakpoint
CREATE INDEX `shoots_compact_due` ON `shoots` (coalesce("completed_at", "updated_at")) WHERE "compacted_at" IS NULL AND "status" IN ('completed', 'failed', 'cancelled', 'expired');
