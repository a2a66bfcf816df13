/**
 * `npm run bootstrap -- --admin-email … --admin-password … [--business "Name" --owner-email …
 * --owner-password …]`: creates the first system admin (and optionally a first business with its
 * owner) on a fresh install. Uses DATABASE_URL, or the embedded development database.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { Pool } from "@neondatabase/serverless";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/neon-serverless";
import { hashPassword } from "../worker/auth/password";
import { parseConfig } from "../worker/config";
import * as schema from "../worker/db/schema";
import { createBusiness } from "../worker/services/businesses";
import { startEmbeddedPostgres } from "./lib/embedded-postgres";
import { needsLocalProxy, readLocalEnv } from "./lib/local-env";
import { configureNeonForNode } from "./lib/migrate";
import { startNeonWsProxy } from "./lib/neon-ws-proxy";

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

function fail(message: string): never {
  console.error(`bootstrap: ${message}`);
  process.exit(2);
}

const adminEmail = args["admin-email"]?.trim().toLowerCase();
if (!adminEmail?.includes("@")) fail("--admin-email is required (an email address)");
if ((args["admin-password"] ?? "").length < 10) fail("--admin-password is required (at least 10 characters)");
if (args.business && (!args["owner-email"]?.includes("@") || (args["owner-password"] ?? "").length < 10)) {
  fail("--business needs --owner-email and --owner-password (at least 10 characters)");
}

const local = readLocalEnv();
const iterations = parseConfig({}).PASSWORD_PBKDF2_ITERATIONS;
const embedded = local.DATABASE_URL
  ? null
  : await startEmbeddedPostgres({
      dataDir: path.join(local.LOCAL_DATA_DIR, "postgres"),
      port: local.LOCAL_PG_PORT,
      database: "prosaas",
    });
const databaseUrl = local.DATABASE_URL ?? embedded!.url;
const proxy = needsLocalProxy(databaseUrl, local.NEON_WS_PROXY) ? await startNeonWsProxy() : null;
configureNeonForNode(local.NEON_WS_PROXY ?? proxy?.address);
const pool = new Pool({ connectionString: databaseUrl, max: 2 });
const db = drizzle(pool, { schema });

try {
  const existing = await db
    .select({ id: schema.users.id })
    .from(schema.users)
    .where(sql`lower(${schema.users.email}) = ${adminEmail}`);
  if (existing.length > 0) throw new Error(`a user with email ${adminEmail} already exists; nothing changed`);
  const [admin] = await db
    .insert(schema.users)
    .values({
      businessId: null,
      email: adminEmail,
      name: args["admin-name"]!,
      role: "system_admin",
      passwordHash: await hashPassword(args["admin-password"]!, iterations),
    })
    .returning({ id: schema.users.id });
  console.log(`system admin ${adminEmail} created (user ${admin!.id})`);
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
} catch (err) {
  console.error(`bootstrap: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 2;
} finally {
  await pool.end();
  await proxy?.close();
  await embedded?.stop();
}
