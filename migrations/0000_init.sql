CREATE TABLE `accounts` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`webhook_url` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`name` text NOT NULL,
	`key_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`revoked_at` text,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE TABLE `assets` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`shoot_id` text,
	`kind` text NOT NULL,
	`stage` text,
	`index` integer DEFAULT 0 NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`r2_key` text NOT NULL,
	`bytes` integer NOT NULL,
	`mime` text NOT NULL,
	`sha256` text NOT NULL,
	`width` integer,
	`height` integer,
	`duration` real,
	`provenance` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `assets_r2_key` ON `assets` (`r2_key`);--> statement-breakpoint
CREATE INDEX `assets_shoot` ON `assets` (`shoot_id`,`kind`,`index`,`version`);--> statement-breakpoint
CREATE TABLE `checkpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`shoot_id` text NOT NULL,
	`stage` text NOT NULL,
	`attempt` integer NOT NULL,
	`status` text NOT NULL,
	`decision` text,
	`feedback` text,
	`decided_by` text,
	`decided_at` text,
	`artifacts` text NOT NULL,
	`timeout_policy` text NOT NULL,
	`expires_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`shoot_id`) REFERENCES `shoots`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `checkpoints_stage_attempt` ON `checkpoints` (`shoot_id`,`stage`,`attempt`);--> statement-breakpoint
CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`shoot_id` text NOT NULL,
	`account_id` text NOT NULL,
	`type` text NOT NULL,
	`data` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `events_shoot` ON `events` (`shoot_id`,`id`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`shoot_id` text NOT NULL,
	`account_id` text NOT NULL,
	`type` text NOT NULL,
	`provider` text NOT NULL,
	`model` text,
	`stage` text NOT NULL,
	`attempt` integer DEFAULT 1 NOT NULL,
	`external_id` text,
	`status` text NOT NULL,
	`dispatches` integer DEFAULT 0 NOT NULL,
	`cost_usd` real,
	`request` text,
	`result` text,
	`error` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`submitted_at` text,
	`completed_at` text
);
--> statement-breakpoint
CREATE INDEX `jobs_external` ON `jobs` (`provider`,`external_id`);--> statement-breakpoint
CREATE INDEX `jobs_shoot` ON `jobs` (`shoot_id`);--> statement-breakpoint
CREATE TABLE `shoots` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`status` text NOT NULL,
	`stage` text NOT NULL,
	`brief` text NOT NULL,
	`params` text NOT NULL,
	`plan` text,
	`idempotency_key` text,
	`batch_id` text,
	`error` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`completed_at` text,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `shoots_account_created` ON `shoots` (`account_id`,`created_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `shoots_idempotency` ON `shoots` (`account_id`,`idempotency_key`);