/**
 * Role × endpoint matrix. Each route is tried by every role of business A (and a system admin
 * acting on A): allowed roles get 2xx, others 403. A user of business B reaching for A's records
 * by id gets 404 — never 200, never 500 — and A's data never shows in B's lists.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UserRole } from "../../worker/db/schema";
import { type Client, createSystemAdmin, createTenant, type Tenant } from "./fixtures";
import { testDb } from "./helpers";
import { uniquePhone } from "./phones";

const { db, close } = testDb();
let a: Tenant;
let b: Tenant;
let sysAdmin: Client;
afterAll(close);

async function newLead(client: Client): Promise<number> {
  const res = await client.request("POST", "/api/leads", { firstName: "Matrix", phone: uniquePhone() });
  expect(res.status).toBe(201);
  return ((await res.json()) as { lead: { id: number } }).lead.id;
}

type Role = UserRole;
const EVERYONE: Role[] = ["owner", "admin", "agent", "system_admin"];
const ADMINS: Role[] = ["owner", "admin", "system_admin"];
const OWNERS: Role[] = ["owner", "system_admin"];
const SYSTEM: Role[] = ["system_admin"];

interface Case {
  name: string;
  allowed: Role[];
  /** Builds the request for `actor`; `leadOfA` is a fresh lead of business A when the case needs one. */
  send(actor: Client, leadOfA: number): Promise<Response>;
  needsLead?: boolean;
}

const csv = "first_name,phone\nImported,+972547654321\n";
const cases: Case[] = [
  { name: "GET /api/me", allowed: EVERYONE, send: (c) => c.request("GET", "/api/me") },
  { name: "GET /api/leads", allowed: EVERYONE, send: (c) => c.request("GET", "/api/leads") },
  {
    name: "GET /api/leads/:id",
    allowed: EVERYONE,
    needsLead: true,
    send: (c, id) => c.request("GET", `/api/leads/${id}`),
  },
  {
    name: "POST /api/leads",
    allowed: EVERYONE,
    send: (c) => c.request("POST", "/api/leads", { firstName: "New", phone: uniquePhone() }),
  },
  {
    name: "PATCH /api/leads/:id",
    allowed: EVERYONE,
    needsLead: true,
    send: (c, id) => c.request("PATCH", `/api/leads/${id}`, { notes: "hi" }),
  },
  {
    name: "DELETE /api/leads/:id",
    allowed: ADMINS,
    needsLead: true,
    send: (c, id) => c.request("DELETE", `/api/leads/${id}`),
  },
  {
    name: "POST /api/leads/bulk-status",
    allowed: ADMINS,
    needsLead: true,
    send: (c, id) => c.request("POST", "/api/leads/bulk-status", { leadIds: [id], status: "contacted" }),
  },
  { name: "GET /api/leads/export", allowed: ADMINS, send: (c) => c.request("GET", "/api/leads/export") },
  {
    name: "POST /api/leads/import/preview",
    allowed: ADMINS,
    send: (c) => c.request("POST", "/api/leads/import/preview", csv, { "Content-Type": "text/csv" }),
  },
  { name: "GET /api/lead-statuses", allowed: EVERYONE, send: (c) => c.request("GET", "/api/lead-statuses") },
  {
    name: "POST /api/lead-statuses",
    allowed: ADMINS,
    send: (c) => c.request("POST", "/api/lead-statuses", { key: `s_${crypto.randomUUID().slice(0, 6)}`, label: "S" }),
  },
  { name: "GET /api/users", allowed: ADMINS, send: (c) => c.request("GET", "/api/users") },
  {
    name: "POST /api/users (agent)",
    allowed: ADMINS,
    send: (c) =>
      c.request("POST", "/api/users", {
        email: `n-${crypto.randomUUID().slice(0, 8)}@example.test`,
        name: "N",
        role: "agent",
        password: "long enough pw",
      }),
  },
  { name: "GET /api/settings", allowed: ADMINS, send: (c) => c.request("GET", "/api/settings") },
  {
    name: "PATCH /api/settings",
    allowed: OWNERS,
    send: (c) => c.request("PATCH", "/api/settings", { reminderLeadMinutes: 90 }),
  },
  { name: "GET /api/business", allowed: EVERYONE, send: (c) => c.request("GET", "/api/business") },
  {
    name: "PATCH /api/business",
    allowed: OWNERS,
    send: (c) => c.request("PATCH", "/api/business", { name: "Renamed" }),
  },
  { name: "GET /api/feature-flags", allowed: EVERYONE, send: (c) => c.request("GET", "/api/feature-flags") },
  {
    name: "PUT /api/feature-flags/:key",
    allowed: SYSTEM,
    send: (c) => c.request("PUT", "/api/feature-flags/bulk_calls", { enabled: false }),
  },
  { name: "GET /api/admin/businesses", allowed: SYSTEM, send: (c) => c.request("GET", "/api/admin/businesses") },
];

beforeAll(async () => {
  [a, b] = await Promise.all([createTenant(db, "Business A"), createTenant(db, "Business B")]);
  sysAdmin = await createSystemAdmin(db, a.businessId);
});

function actors(): [Role, Client][] {
  return [
    ["owner", a.owner],
    ["admin", a.admin],
    ["agent", a.agent],
    ["system_admin", sysAdmin],
  ];
}

describe("role × endpoint matrix (business A)", () => {
  for (const testCase of cases) {
    it(`${testCase.name}: allowed for ${testCase.allowed.join(", ")}; 403 for the rest`, async () => {
      const outcomes: Record<string, number> = {};
      for (const [role, client] of actors()) {
        const leadId = testCase.needsLead ? await newLead(a.owner) : 0;
        outcomes[role] = (await testCase.send(client, leadId)).status;
      }
      const expected = Object.fromEntries(
        actors().map(([role]) => [role, testCase.allowed.includes(role) ? "2xx" : 403]),
      );
      const actual = Object.fromEntries(
        Object.entries(outcomes).map(([role, status]) => [role, status >= 200 && status < 300 ? "2xx" : status]),
      );
      expect(actual).toEqual(expected);
    });
  }
});

describe("cross-tenant access", () => {
  it("every role of business B gets 404 for business A's lead ids — never 200 or 500", async () => {
    const leadOfA = await newLead(a.owner);
    for (const client of [b.owner, b.admin, b.agent]) {
      expect((await client.request("GET", `/api/leads/${leadOfA}`)).status).toBe(404);
      expect((await client.request("PATCH", `/api/leads/${leadOfA}`, { notes: "pwned" })).status).toBe(404);
    }
    expect((await b.owner.request("DELETE", `/api/leads/${leadOfA}`)).status).toBe(404);
    const bulk = await b.owner.request("POST", "/api/leads/bulk-status", { leadIds: [leadOfA], status: "won" });
    expect(await bulk.json()).toEqual({ updated: 0, notFound: [leadOfA] });
    const still = await a.owner.request("GET", `/api/leads/${leadOfA}`);
    expect(((await still.json()) as { lead: { status: string; notes: string | null } }).lead).toMatchObject({
      status: "new",
      notes: null,
    });
  });

  it("business B's lists and exports never include business A's leads", async () => {
    const leadOfA = await newLead(a.owner);
    const list = (await (await b.owner.request("GET", "/api/leads?limit=200")).json()) as { leads: { id: number }[] };
    expect(list.leads.map((l) => l.id)).not.toContain(leadOfA);
    const exported = await (await b.owner.request("GET", "/api/leads/export")).text();
    expect(exported).not.toContain(`\r\n${leadOfA},`);
  });

  it("B cannot manage A's users or statuses by id", async () => {
    const users = (await (await a.owner.request("GET", "/api/users")).json()) as { users: { id: number }[] };
    const statuses = (await (await a.owner.request("GET", "/api/lead-statuses")).json()) as {
      statuses: { id: number }[];
    };
    expect((await b.owner.request("PATCH", `/api/users/${users.users[0]!.id}`, { name: "x" })).status).toBe(404);
    expect((await b.owner.request("DELETE", `/api/users/${users.users[0]!.id}`)).status).toBe(404);
    expect(
      (await b.owner.request("PATCH", `/api/lead-statuses/${statuses.statuses[0]!.id}`, { label: "x" })).status,
    ).toBe(404);
  });

  it("a body naming another business is refused, not obeyed", async () => {
    const res = await b.owner.request("POST", "/api/leads", {
      firstName: "Sneaky",
      phone: uniquePhone(),
      businessId: a.businessId,
    });
    expect(res.status).toBe(400);
  });

  it("an admin cannot create or manage owners; an owner can", async () => {
    const body = {
      email: `o-${crypto.randomUUID().slice(0, 8)}@example.test`,
      name: "O2",
      role: "owner",
      password: "long enough pw",
    };
    expect((await a.admin.request("POST", "/api/users", body)).status).toBe(403);
    expect((await a.owner.request("POST", "/api/users", body)).status).toBe(201);
    const owners = (await (await a.owner.request("GET", "/api/users")).json()) as {
      users: { id: number; role: string }[];
    };
    const owner = owners.users.find((u) => u.role === "owner")!;
    expect((await a.admin.request("PATCH", `/api/users/${owner.id}`, { isActive: false })).status).toBe(403);
  });

  it("a system admin sees tenant data only after choosing the business", async () => {
    const fresh = await createSystemAdmin(db);
    const res = await fresh.request("GET", "/api/leads");
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("business_not_selected");
    expect((await fresh.request("POST", "/api/admin/act-as", { businessId: b.businessId })).status).toBe(200);
    expect((await fresh.request("GET", "/api/leads")).status).toBe(200);
  });
});
