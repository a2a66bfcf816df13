/**
 * Bad input that used to answer 500 (issue 10, finding 2): text Postgres cannot store, cursors
 * that decode to the wrong types, and dates outside what Postgres holds. Each is a 400 naming the
 * field, and nothing is written.
 */
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appointments, leads } from "../../worker/db/schema";
import { createTenant, type Tenant } from "./fixtures";
import { expectFieldRefused, testDb } from "./helpers";
import { uniquePhone } from "./phones";

const { db, close } = testDb();
let t: Tenant;
let leadId: number;
beforeAll(async () => {
  t = await createTenant(db, "Bad input business");
  const res = await t.owner.request("POST", "/api/leads", { firstName: "Target", phone: uniquePhone() });
  leadId = ((await res.json()) as { lead: { id: number } }).lead.id;
});
afterAll(close);

const NUL = "\u0000";
const LONE_HIGH = "\ud800";
const LONE_LOW = "\udc00";

function b64(value: unknown): string {
  return btoa(JSON.stringify(value)).replaceAll("=", "");
}

describe("text Postgres cannot store is refused naming the field", () => {
  it("a NUL in a lead's name or notes is 400 naming it, and no lead is created", async () => {
    const phone = uniquePhone();
    await expectFieldRefused(
      await t.agent.request("POST", "/api/leads", { firstName: `a${NUL}b`, phone }),
      "firstName",
      "NUL in firstName",
    );
    await expectFieldRefused(
      await t.agent.request("PATCH", `/api/leads/${leadId}`, { notes: `x${NUL}` }),
      "notes",
      "NUL in notes",
    );
    await expectFieldRefused(
      await t.agent.request("POST", "/api/leads", { firstName: "Tags", tags: ["ok", `bad${NUL}`] }),
      "tags.1",
      "NUL in a tag",
    );
    // (Postgres cannot even be asked about a NUL: look the refused lead up by its phone.)
    const created = await db
      .select()
      .from(leads)
      .where(and(eq(leads.businessId, t.businessId), eq(leads.phoneE164, phone)));
    expect(created).toHaveLength(0);
    const [lead] = await db.select().from(leads).where(eq(leads.id, leadId));
    expect(lead!.notes).toBeNull();
  });

  it("lone UTF-16 surrogates (high or low) are refused; paired ones (emoji), RTL text and other scripts pass", async () => {
    await expectFieldRefused(
      await t.agent.request("POST", "/api/leads", { firstName: `x${LONE_HIGH}` }),
      "firstName",
      "lone high surrogate",
    );
    await expectFieldRefused(
      await t.agent.request("POST", "/api/leads", { lastName: `${LONE_LOW}y`, firstName: "ok" }),
      "lastName",
      "lone low surrogate",
    );
    const ok = await t.agent.request("POST", "/api/leads", {
      firstName: "שלום 😀 \u202Eevil\u202C",
      notes: "مرحبا 👨‍👩‍👧",
    });
    expect(ok.status).toBe(201);
  });

  it("a NUL in an appointment's title or notes, or a query value, is 400 naming it", async () => {
    const startsAt = new Date(Date.now() + 86_400_000).toISOString();
    await expectFieldRefused(
      await t.agent.request("POST", "/api/appointments", { leadId, title: `t${NUL}`, startsAt }),
      "title",
      "NUL in title",
    );
    await expectFieldRefused(
      await t.agent.request("POST", "/api/appointments", { leadId, title: "ok", notes: NUL, startsAt }),
      "notes",
      "NUL in appointment notes",
    );
    await expectFieldRefused(await t.agent.request("GET", "/api/leads?q=a%00b"), "q", "NUL in a query");
    expect(await db.select().from(appointments).where(eq(appointments.leadId, leadId))).toHaveLength(0);
  });

  it("a NUL in a CSV import commit is 400 naming the line and column, and nothing is imported", async () => {
    const phone = uniquePhone();
    const csv = `first_name,phone,notes\nGood,${uniquePhone()},fine\nBad,${phone},x${NUL}y\n`;
    const res = await t.admin.request("POST", "/api/leads/import/commit", csv, { "Content-Type": "text/csv" });
    await expectFieldRefused(res.clone(), "notes", "NUL in a CSV cell");
    expect((await res.json()) as unknown).toMatchObject({ error: { message: expect.stringContaining("line 3") } });
    const imported = await db
      .select()
      .from(leads)
      .where(and(eq(leads.businessId, t.businessId), eq(leads.firstName, "Good")));
    expect(imported).toHaveLength(0);
  });
});

describe("cursors are input: one that decodes to the wrong types is a 400 naming cursor", () => {
  const cases: [string, unknown][] = [
    ["a string id and a number sort", ["1", 5]],
    ["a loose date string", ["1", 1]],
    ["an impossible day", ["2026-02-31 10:00:00+00", 1]],
    ["year 0000", ["0000-01-01T00:00:00.000Z", 1]],
    ["an id past int4", [null, 2 ** 40]],
    ["an object", { a: 1 }],
    ["three parts", [null, 1, 2]],
  ];
  for (const [label, value] of cases) {
    it(`leads and WhatsApp conversations: ${label}`, async () => {
      await expectFieldRefused(
        await t.agent.request("GET", `/api/leads?cursor=${b64(value)}`),
        "cursor",
        `leads ${label}`,
      );
      await expectFieldRefused(
        await t.agent.request("GET", `/api/whatsapp/conversations?cursor=${b64(value)}`),
        "cursor",
        `conversations ${label}`,
      );
    });
  }

  it("an appointment cursor naming an instant past what Postgres holds", async () => {
    await expectFieldRefused(
      await t.agent.request("GET", "/api/appointments?cursor=999999999999999.1"),
      "cursor",
      "appointment cursor",
    );
  });

  it("a real cursor still pages", async () => {
    const first = (await (await t.agent.request("GET", "/api/leads?limit=1")).json()) as { nextCursor: string };
    expect((await t.agent.request("GET", `/api/leads?limit=1&cursor=${first.nextCursor}`)).status).toBe(200);
  });
});

describe("dates outside what Postgres holds are a 400 naming the field", () => {
  const year0 = "0000-01-01T00:00:00Z";
  const justUnder = "0001-01-01T00:30:00+01:00"; // year 0 once in UTC
  const far = "9999-12-31T23:00:00-05:00"; // year 10000 once in UTC

  it("calls `from` and `to`", async () => {
    await expectFieldRefused(await t.agent.request("GET", `/api/calls?from=${year0}`), "from", "calls from");
    await expectFieldRefused(
      await t.agent.request("GET", `/api/calls?to=${encodeURIComponent(far)}`),
      "to",
      "calls to",
    );
  });

  it("appointments: startsAt, endsAt, and the list's from", async () => {
    for (const startsAt of [year0, justUnder, far]) {
      await expectFieldRefused(
        await t.agent.request("POST", "/api/appointments", { leadId, title: "x", startsAt }),
        "startsAt",
        `startsAt ${startsAt}`,
      );
    }
    await expectFieldRefused(
      await t.agent.request("POST", "/api/appointments", {
        leadId,
        title: "x",
        startsAt: new Date(Date.now() + 86_400_000).toISOString(),
        endsAt: far,
      }),
      "endsAt",
      "endsAt",
    );
    await expectFieldRefused(await t.agent.request("GET", `/api/appointments?from=${year0}`), "from", "list from");
    expect(await db.select().from(appointments).where(eq(appointments.leadId, leadId))).toHaveLength(0);
  });

  it("scheduled messages: sendAt", async () => {
    await expectFieldRefused(
      await t.agent.request("POST", "/api/scheduled-messages", { leadId, template: "hi", sendAt: year0 }),
      "sendAt",
      "sendAt",
    );
  });

  it("a run's schedule.start", async () => {
    await expectFieldRefused(
      await t.admin.request("POST", "/api/campaigns", {
        name: "r",
        audience: { leadIds: [leadId] },
        schedule: { start: year0 },
      }),
      "schedule.start",
      "schedule.start",
    );
  });
});
