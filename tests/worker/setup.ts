import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Applies only migrations not applied yet, so it is safe to run per test file.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
