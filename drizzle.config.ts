/**
 * drizzle-kit configuration: `core/db/schema.ts` is the source of truth and `migrations/` holds the
 * generated SQL, applied at start by `core/db/client.ts`.
 * @module
 */
import { defineConfig } from "drizzle-kit";

/** Generate with `deno task db:generate`, verify with `deno task db:check`. */
export default defineConfig({
  dialect: "postgresql",
  schema: "./core/db/schema.ts",
  out: "./migrations",
  strict: true,
});
