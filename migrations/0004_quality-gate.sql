ALTER TABLE `shoots` ADD `flagged` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `shoots` ADD `auto_fixed` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `shoots_account_flagged` ON `shoots` (`account_id`,`flagged`);