CREATE TABLE `recipes` (
	`account_id` text NOT NULL,
	`name` text NOT NULL,
	`version` integer NOT NULL,
	`settings` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `recipes_pk` ON `recipes` (`account_id`,`name`,`version`);--> statement-breakpoint
ALTER TABLE `batch_rows` ADD `sku` text;--> statement-breakpoint
ALTER TABLE `batch_rows` ADD `quote_usd` real DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `batch_rows` ADD `admitted` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `batches` ADD `budget_usd` real;--> statement-breakpoint
ALTER TABLE `batches` ADD `recipe` text;