import { defineConfig } from "drizzle-kit";

// Migrations are generated into migrations/ and applied by wrangler (local, tests and production).
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
