CREATE INDEX `jobs_waiting` ON `jobs` (`status`,`type`,`submitted_at`);--> statement-breakpoint
CREATE INDEX `shoots_account_status_created` ON `shoots` (`account_id`,`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `shoots_status_updated` ON `shoots` (`status`,`updated_at`);--> statement-breakpoint
CREATE INDEX `shoots_status_ended` ON `shoots` (`status`,coalesce("completed_at", "updated_at"));