import { defineConfig } from "drizzle-kit";

// `npm run db:generate` writes SQL migrations from the one schema module. Generation is offline;
// applying them is `npm run db:migrate` (scripts/db-migrate.ts), which uses the production driver.
export default defineConfig({
  dialect: "postgresql",
  schema: "./worker/db/schema.ts",
  out: "./migrations",
});
