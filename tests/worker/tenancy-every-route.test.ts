/**
 * Every signed-in route of the published contract (/openapi.json), not a hand-picked list: a new
 * route is covered the day it is declared, or this file fails and says what to add.
 *
 * - Roles: each route's permission (`x-permission`, from the one role table) refuses the roles it
 *   does not name with 403 `forbidden` before anything else happens, and lets the roles it names
 *   through (never 401/403, never 5xx). tenancy-matrix.test.ts checks the role table itself with
 *   real requests on the main routes.
 * - Tenants: every route that addresses a record by id answers 404 when business B (its owner, or a
 *   system admin acting on B) names a record of business A, and A's record is unchanged.
 */
import { SELF } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { permissions } from "../../worker/auth/permissions";
import {
  apiKeys,
  appointments,
  broadcasts,
  callLogs,
  leadStatuses,
  leads,
  outboundCallRuns,
  scheduledMessages,
  type UserRole,
  users,
  waCannedReplies,
  waConversationNotes,
  waConversations,
  waMessages,
  waOutbound,
  webhookSubscriptions,
} from "../../worker/db/schema";
import { type Client, createSystemAdmin, createTenant, type Tenant } from "./fixtures";
import { BASE, testDb } from "./helpers";
import { uniquePhone } from "./phones";

const { db } = testDb();

interface Operation {
  method: string;
  path: string;
  permission: string | undefined;
  hasJsonBody: boolean;
  bodyType: string | undefined;
}

/** Signed-in routes that every role may use (no permission): saying so here is the decision. */
const ANY_SIGNED_IN = new Set(["POST /api/auth/password", "GET /api/me", "GET /api/live"]);

/**
 * Routes that act with no input at all (no id, no body): an allowed role's probe would run the
 * action itself (connect a WhatsApp session, leave a business). Their refusals are still checked
 * here; what they do is tested in their own files.
 */
const RUNS_ITS_ACTION = new Set([
  "POST /api/whatsapp/connect",
  "POST /api/whatsapp/logout",
  "POST /api/whatsapp/sends/resume",
  "DELETE /api/admin/act-as",
  "POST /api/admin/whatsapp/move/abort",
  "GET /api/live",
]);

/** Platform records, not a business's: no tenant to cross. */
const NOT_TENANT_DATA = new Set(["PUT /api/feature-flags/{key}", "PUT /api/admin/feature-flags/{key}"]);

/** Bodies valid enough to reach the record lookup (validation answers 400 before it). */
const VALID_BODY: Record<string, unknown> = {
  "PATCH /api/users/{id}": { name: "Renamed by B" },
  "PATCH /api/lead-statuses/{id}": { label: "Renamed by B" },
  "PATCH /api/leads/{id}": { notes: "written by B" },
  "PATCH /api/appointments/{id}": { title: "Moved by B" },
  "POST /api/whatsapp/conversations/{id}/reply": { text: "hello from B", clientMessageId: crypto.randomUUID() },
  "PUT /api/whatsapp/conversations/{id}/assignee": { userId: null },
  "PUT /api/whatsapp/conversations/{id}/status": { status: "resolved" },
  "POST /api/whatsapp/conversations/{id}/notes": { body: "written by B" },
  "PATCH /api/whatsapp/canned-replies/{id}": { body: "changed by B" },
  "PATCH /api/webhooks/{id}": { enabled: true },
  "POST /api/webhooks/{id}/rotate-secret": {},
  "POST /api/webhooks/{id}/redeliver": { since: "2026-01-01T00:00:00Z" },
};

/** An id no record has: an allowed probe finds nothing and changes nothing. */
const MISSING_ID = 2_147_483_000;

let operations: Operation[] = [];
let a: Tenant;
let b: Tenant;
let sysAdminOnA: Client;
let sysAdminOnB: Client;
/** Business A's record per path prefix, e.g. "/api/leads" -> a lead of A. */
const recordOfA = new Map<string, number>();

function key(op: Pick<Operation, "method" | "path">) {
  return `${op.method} ${op.path}`;
}

/** The record kind a path addresses: its path up to `{id}`. */
function resourceOf(path: string): string | null {
  const at = path.indexOf("/{id}");
  return at === -1 ? null : path.slice(0, at);
}

/** Business A's records named by a route's second id (a conversation's note, a canned reply to render). */
const secondIdOfA = new Map<string, number>();

function urlFor(op: Operation, id: number): string {
  // A second id (a webhook's delivery) names nothing: the route's own record is what is looked up
  // first. A's note and canned reply are named as A's, so B reaches neither through A's conversation.
  return op.path
    .replace("{id}", String(id))
    .replace("{key}", "bulk_calls")
    .replace("{deliveryId}", String(MISSING_ID))
    .replace("{noteId}", String(secondIdOfA.get("noteId") ?? MISSING_ID))
    .replace("{cannedId}", String(secondIdOfA.get("cannedId") ?? MISSING_ID));
}

function send(client: Client, op: Operation, id: number, body?: unknown): Promise<Response> {
  // Routes that take a file (CSV import, WhatsApp attachments) get a small one of their first declared type.
  if (op.bodyType && !op.hasJsonBody) {
    return client.request(op.method, urlFor(op, id), new TextEncoder().encode("a,b\n1,2\n"), {
      "Content-Type": op.bodyType,
    });
  }
  return client.request(op.method, urlFor(op, id), op.hasJsonBody ? (body ?? { notAField: true }) : undefined);
}

function actors(): [UserRole, Client][] {
  return [
    ["owner", a.owner],
    ["admin", a.admin],
    ["agent", a.agent],
    ["system_admin", sysAdminOnA],
  ];
}

function allowedRoles(op: Operation): readonly UserRole[] {
  if (op.permission === undefined) return ["owner", "admin", "agent", "system_admin"];
  return permissions[op.permission as keyof typeof permissions];
}

beforeAll(async () => {
  const document = (await (await SELF.fetch(`${BASE}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { security?: Record<string, unknown>[]; [k: string]: unknown }>>;
  };
  operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([, op]) => op.security?.some((s) => "session" in s))
      .map(([method, op]) => {
        const content = (op.requestBody as { content?: Record<string, unknown> } | undefined)?.content ?? {};
        const bodyType = Object.keys(content)[0];
        return {
          method: method.toUpperCase(),
          path,
          permission: op["x-permission"] as string | undefined,
          hasJsonBody: bodyType === "application/json",
          bodyType,
        };
      }),
  );

  [a, b] = await Promise.all([createTenant(db, "Every route A"), createTenant(db, "Every route B")]);
  [sysAdminOnA, sysAdminOnB] = await Promise.all([
    createSystemAdmin(db, a.businessId),
    createSystemAdmin(db, b.businessId),
  ]);

  // One record of A for every kind of record a route addresses by id.
  const [lead] = await db
    .insert(leads)
    .values({ businessId: a.businessId, firstName: "Of A", phoneE164: uniquePhone() })
    .returning({ id: leads.id });
  const [status] = await db
    .insert(leadStatuses)
    .values({ businessId: a.businessId, key: `a_${crypto.randomUUID().slice(0, 6)}`, label: "A's status" })
    .returning({ id: leadStatuses.id });
  const [call] = await db
    .insert(callLogs)
    .values({ businessId: a.businessId, direction: "outbound", source: "direct", status: "completed" })
    .returning({ id: callLogs.id });
  const [conversation] = await db
    .insert(waConversations)
    .values({ businessId: a.businessId, chatJid: `${uniquePhone().slice(1)}@s.whatsapp.net`, leadId: lead!.id })
    .returning({ id: waConversations.id });
  const [outbound] = await db
    .insert(waOutbound)
    .values({
      businessId: a.businessId,
      to: "972500000000@s.whatsapp.net",
      text: "A's",
      idempotencyKey: crypto.randomUUID(),
      origin: "reply",
    })
    .returning({ id: waOutbound.id });
  const [campaign] = await db
    .insert(outboundCallRuns)
    .values({ businessId: a.businessId, name: "A's campaign", audience: {} })
    .returning({ id: outboundCallRuns.id });
  const [broadcast] = await db
    .insert(broadcasts)
    .values({ businessId: a.businessId, name: "A's broadcast", template: "hi", audience: {} })
    .returning({ id: broadcasts.id });
  const [scheduled] = await db
    .insert(scheduledMessages)
    .values({ businessId: a.businessId, leadId: lead!.id, template: "hi", sendAt: new Date(Date.now() + 86_400_000) })
    .returning({ id: scheduledMessages.id });
  const [appointment] = await db
    .insert(appointments)
    .values({
      businessId: a.businessId,
      leadId: lead!.id,
      title: "A's appointment",
      startsAt: new Date(Date.now() + 2 * 86_400_000),
      endsAt: new Date(Date.now() + 2 * 86_400_000 + 1_800_000),
    })
    .returning({ id: appointments.id });
  const [message] = await db
    .insert(waMessages)
    .values({
      businessId: a.businessId,
      conversationId: conversation!.id,
      chatJid: `${uniquePhone().slice(1)}@s.whatsapp.net`,
      waMessageId: crypto.randomUUID(),
      fromMe: false,
      sentAt: new Date(),
    })
    .returning({ id: waMessages.id });
  const [keyOfA] = await db
    .insert(apiKeys)
    .values({
      businessId: a.businessId,
      name: "A's key",
      prefix: "psk_aaaaaaaa",
      secretHash: crypto.randomUUID(),
      scopes: ["leads:read"],
    })
    .returning({ id: apiKeys.id });
  // Disabled: A's own events are not delivered anywhere during the test.
  const [webhookOfA] = await db
    .insert(webhookSubscriptions)
    .values({
      businessId: a.businessId,
      url: "https://a.example/hooks",
      eventTypes: ["lead.created"],
      secret: "a".repeat(32),
      enabled: false,
    })
    .returning({ id: webhookSubscriptions.id });
  const [noteOfA] = await db
    .insert(waConversationNotes)
    .values({ businessId: a.businessId, conversationId: conversation!.id, body: "A's note" })
    .returning({ id: waConversationNotes.id });
  const [cannedOfA] = await db
    .insert(waCannedReplies)
    .values({ businessId: a.businessId, shortcut: "a_reply", body: "A's canned reply" })
    .returning({ id: waCannedReplies.id });
  secondIdOfA.set("noteId", noteOfA!.id);
  secondIdOfA.set("cannedId", cannedOfA!.id);
  const [agentOfA] = await db.select({ id: users.id }).from(users).where(eq(users.email, a.agent.email));
  for (const [prefix, id] of [
    ["/api/leads", lead!.id],
    ["/api/lead-statuses", status!.id],
    ["/api/users", agentOfA!.id],
    ["/api/calls", call!.id],
    ["/api/whatsapp/conversations", conversation!.id],
    ["/api/whatsapp/outbound", outbound!.id],
    ["/api/whatsapp/messages", message!.id],
    ["/api/api-keys", keyOfA!.id],
    ["/api/webhooks", webhookOfA!.id],
    ["/api/whatsapp/canned-replies", cannedOfA!.id],
    ["/api/campaigns", campaign!.id],
    ["/api/broadcasts", broadcast!.id],
    ["/api/scheduled-messages", scheduled!.id],
    ["/api/appointments", appointment!.id],
  ] as const) {
    recordOfA.set(prefix, id);
  }
});

// About 500 requests per test: minutes on a busy 2-core machine.
describe("every signed-in route of the contract", { timeout: 240_000 }, () => {
  it("is read from /openapi.json, and each one's permission is a decision: in the role table or said to be for any signed-in user", () => {
    expect(operations.length).toBeGreaterThan(50);
    const undecided = operations.filter((op) => op.permission === undefined && !ANY_SIGNED_IN.has(key(op))).map(key);
    expect(undecided).toEqual([]);
    const unknown = operations.filter((op) => op.permission && !(op.permission in permissions)).map(key);
    expect(unknown).toEqual([]);
  });

  it("refuses each role the route's permission does not name with 403 forbidden", async () => {
    const wrong: string[] = [];
    for (const op of operations) {
      for (const [role, client] of actors()) {
        if (allowedRoles(op).includes(role)) continue;
        const res = await send(client, op, recordOfA.get(resourceOf(op.path) ?? "") ?? MISSING_ID);
        const code = res.status === 403 ? ((await res.json()) as { error: { code: string } }).error.code : null;
        if (res.status !== 403 || code !== "forbidden")
          wrong.push(`${key(op)} as ${role}: ${res.status} ${code ?? ""}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("lets each role the permission names through: never 401 or 403, never 5xx", async () => {
    const wrong: string[] = [];
    for (const op of operations) {
      if (RUNS_ITS_ACTION.has(key(op))) continue;
      for (const [role, client] of actors()) {
        if (!allowedRoles(op).includes(role)) continue;
        const res = await send(client, op, MISSING_ID);
        if (res.status === 401 || res.status === 403 || res.status >= 500) {
          wrong.push(`${key(op)} as ${role}: ${res.status} ${await res.text()}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it("answers 404 when business B names a record of business A by id, on every route that takes one", async () => {
    const byId = operations.filter((op) => op.path.includes("{id}") && !NOT_TENANT_DATA.has(key(op)));
    const uncovered = [...new Set(byId.map((op) => resourceOf(op.path)!))].filter((prefix) => !recordOfA.has(prefix));
    // A new kind of record: add one of A's to recordOfA in beforeAll.
    expect(uncovered).toEqual([]);

    const wrong: string[] = [];
    for (const op of byId) {
      const id = recordOfA.get(resourceOf(op.path)!)!;
      for (const [who, client] of [
        ["B's owner", b.owner],
        ["B's agent", b.agent],
        ["a system admin acting on B", sysAdminOnB],
      ] as const) {
        // Only the roles the route lets through get as far as the lookup; the others are refused above.
        if (!allowedRoles(op).includes(client.role)) continue;
        const res = await send(client, op, id, VALID_BODY[key(op)]);
        if (res.status !== 404) wrong.push(`${key(op)} by ${who}: ${res.status} ${await res.text()}`);
      }
    }
    expect(wrong).toEqual([]);

    // A's records are as they were.
    const [lead] = await db
      .select()
      .from(leads)
      .where(eq(leads.id, recordOfA.get("/api/leads")!));
    expect(lead).toMatchObject({ notes: null, deletedAt: null });
    const [agent] = await db
      .select()
      .from(users)
      .where(eq(users.id, recordOfA.get("/api/users")!));
    expect(agent).toMatchObject({ isActive: true });
    expect(agent!.name).not.toBe("Renamed by B");
    const [appointment] = await db
      .select()
      .from(appointments)
      .where(eq(appointments.id, recordOfA.get("/api/appointments")!));
    expect(appointment).toMatchObject({ title: "A's appointment", status: "scheduled" });
    const [campaign] = await db
      .select()
      .from(outboundCallRuns)
      .where(eq(outboundCallRuns.id, recordOfA.get("/api/campaigns")!));
    expect(campaign!.status).toBe("queued");
    const [broadcast] = await db
      .select()
      .from(broadcasts)
      .where(eq(broadcasts.id, recordOfA.get("/api/broadcasts")!));
    expect(broadcast!.status).toBe("queued");
    const [keyRow] = await db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.id, recordOfA.get("/api/api-keys")!));
    expect(keyRow!.revokedAt).toBeNull();
    const [webhook] = await db
      .select()
      .from(webhookSubscriptions)
      .where(eq(webhookSubscriptions.id, recordOfA.get("/api/webhooks")!));
    expect(webhook).toMatchObject({ enabled: false, secret: "a".repeat(32) });
    const [conversation] = await db
      .select()
      .from(waConversations)
      .where(eq(waConversations.id, recordOfA.get("/api/whatsapp/conversations")!));
    expect(conversation).toMatchObject({ status: "open", assigneeUserId: null });
    const notes = await db.select().from(waConversationNotes).where(eq(waConversationNotes.businessId, a.businessId));
    expect(notes.map((n) => n.body)).toEqual(["A's note"]);
    const [canned] = await db
      .select()
      .from(waCannedReplies)
      .where(eq(waCannedReplies.id, recordOfA.get("/api/whatsapp/canned-replies")!));
    expect(canned!.body).toBe("A's canned reply");
    const sent = await db.select().from(waOutbound).where(eq(waOutbound.businessId, a.businessId));
    expect(sent.map((o) => o.text)).toEqual(["A's"]);
  });
});
