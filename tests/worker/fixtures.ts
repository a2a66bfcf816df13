/**
 * Tenants and signed-in users for API tests. Businesses are created with the same service the
 * admin API uses; users sign in through the real login route and keep their session cookie.
 */
import { eq } from "drizzle-orm";
import { hashPassword } from "../../worker/auth/password";
import type { Database } from "../../worker/db/client";
import { type UserRole, users } from "../../worker/db/schema";
import { createBusiness } from "../../worker/services/businesses";
import { call } from "./helpers";

export const PASSWORD = "correct horse battery staple";
let passwordHash: Promise<string> | null = null;
/** One hash for every fixture user (hashing is deliberately slow). */
function fixtureHash(): Promise<string> {
  passwordHash ??= hashPassword(PASSWORD, 100_000);
  return passwordHash;
}

let ipCounter = 0;
/** A distinct client IP per sign-in, so the per-IP login limit does not throttle the suite. */
function nextIp(): string {
  ipCounter++;
  return `198.51.${Math.floor(ipCounter / 250) % 250}.${(ipCounter % 250) + 1}`;
}

export interface Client {
  userId: number;
  email: string;
  role: UserRole;
  cookie: string;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
}

export function clientFor(cookie: string, meta: { userId: number; email: string; role: UserRole }): Client {
  return {
    ...meta,
    cookie,
    request(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers: { Cookie: cookie, ...headers } };
      // Every state-changing route takes only its declared content type, body or not (a
      // cross-site form cannot send JSON): a body-less POST says JSON like the dashboard does.
      if (body === undefined && ["POST", "PUT", "PATCH"].includes(method))
        (init.headers as Record<string, string>)["Content-Type"] ??= "application/json";
      if (body !== undefined) {
        if (typeof body === "string" || body instanceof Uint8Array) init.body = body;
        else {
          init.body = JSON.stringify(body);
          (init.headers as Record<string, string>)["Content-Type"] = "application/json";
        }
      }
      return call(path, init);
    },
  };
}

export async function signIn(email: string, password = PASSWORD): Promise<Client> {
  const res = await call("/api/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json", "CF-Connecting-IP": nextIp() },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`sign-in of ${email} failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { user: { id: number; role: UserRole } };
  const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
  return clientFor(cookie, { userId: body.user.id, email, role: body.user.role });
}

export interface Tenant {
  businessId: number;
  owner: Client;
  admin: Client;
  agent: Client;
}

function uniqueEmail(label: string): string {
  return `${label}-${crypto.randomUUID().slice(0, 8)}@example.test`;
}

export async function createUser(
  db: Database,
  businessId: number | null,
  role: UserRole,
  label: string = role,
): Promise<string> {
  const email = uniqueEmail(label);
  await db.insert(users).values({ businessId, email, name: `${label} user`, role, passwordHash: await fixtureHash() });
  return email;
}

/** A business with an owner, an admin and an agent, each signed in. */
export async function createTenant(
  db: Database,
  name = "Test business",
  opts: { phoneRegion?: string } = {},
): Promise<Tenant> {
  const ownerEmail = uniqueEmail("owner");
  const { business } = await createBusiness(db, {
    name,
    phoneRegion: opts.phoneRegion,
    owner: { email: ownerEmail, name: "Owner", passwordHash: await fixtureHash() },
  });
  const adminEmail = await createUser(db, business.id, "admin");
  const agentEmail = await createUser(db, business.id, "agent");
  const [owner, admin, agent] = await Promise.all([signIn(ownerEmail), signIn(adminEmail), signIn(agentEmail)]);
  return { businessId: business.id, owner: owner!, admin: admin!, agent: agent! };
}

/** A signed-in system admin acting on `businessId` (or on none). */
export async function createSystemAdmin(db: Database, actOn?: number): Promise<Client> {
  const email = await createUser(db, null, "system_admin", "sysadmin");
  const client = await signIn(email);
  if (actOn) {
    const res = await client.request("POST", "/api/admin/act-as", { businessId: actOn });
    if (res.status !== 200) throw new Error(`act-as failed: ${res.status}`);
  }
  return client;
}

export async function userIdByEmail(db: Database, email: string): Promise<number> {
  const [row] = await db.select({ id: users.id }).from(users).where(eq(users.email, email));
  return row!.id;
}
