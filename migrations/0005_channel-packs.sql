CREATE TABLE `packs` (
	`id` text PRIMARY KEY NOT NULL,
	`shoot_id` text NOT NULL,
	`account_id` text NOT NULL,
	`version` integer NOT NULL,
	`status` text NOT NULL,
	`channels` text NOT NULL,
	`error` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`shoot_id`) REFERENCES `shoots`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `packs_shoot_version` ON `packs` (`shoot_id`,`version`);--> statement-breakpoint
ALTER TABLE `assets` ADD `channel` text;