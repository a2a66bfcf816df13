import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant, type Tenant } from "./fixtures";
import { errorOf, testDb } from "./helpers";
import { uniquePhone } from "./phones";

const { db, close } = testDb();
let t: Tenant;
beforeAll(async () => {
  t = await createTenant(db, "Leads test business");
});
afterAll(close);

interface Lead {
  id: number;
  firstName: string | null;
  lastName: string | null;
  phoneE164: string | null;
  status: string;
  tags: string[];
  ownerUserId: number | null;
}

async function create(body: Record<string, unknown>): Promise<Lead> {
  const res = await t.agent.request("POST", "/api/leads", body);
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { lead: Lead }).lead;
}

describe("creating leads", () => {
  it("normalises a phone typed the local way to E.164 in the business's region and gives the default status", async () => {
    const lead = await create({
      firstName: "דנה",
      lastName: "כהן",
      phone: "054-765-4321".replace("4321", String(1000 + Math.floor(Math.random() * 8999))),
    });
    expect(lead.phoneE164).toMatch(/^\+972547/);
    expect(lead.status).toBe("new");
  });

  it("refuses an invalid phone, naming the field, and writes nothing", async () => {
    const before = (await (await t.owner.request("GET", "/api/leads?q=Invalidphone")).json()) as { leads: unknown[] };
    const res = await t.agent.request("POST", "/api/leads", { firstName: "Invalidphone", phone: "12345" });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe("validation_failed");
    expect(error.message).toContain("phone");
    const after = (await (await t.owner.request("GET", "/api/leads?q=Invalidphone")).json()) as { leads: unknown[] };
    expect(after.leads.length).toBe(before.leads.length);
  });

  it("refuses a duplicate phone within the business with the existing lead's id", async () => {
    const phone = uniquePhone();
    const first = await create({ firstName: "First", phone });
    const res = await t.agent.request("POST", "/api/leads", { firstName: "Second", phone: phone.replace("+972", "0") });
    expect(res.status).toBe(409);
    const error = await errorOf(res);
    expect(error.code).toBe("duplicate_phone");
    expect(error.details).toMatchObject({ existingLeadId: first.id });
  });

  it("lets another business have the same phone", async () => {
    const phone = uniquePhone();
    await create({ firstName: "Mine", phone });
    const other = await createTenant(db, "Other business");
    expect((await other.agent.request("POST", "/api/leads", { firstName: "Theirs", phone })).status).toBe(201);
  });

  it("refuses unknown fields, oversized fields, an unknown status and an owner from outside", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ firstName: "X", favouriteColour: "blue" }, "favouriteColour"],
      [{ firstName: "x".repeat(101) }, "firstName"],
      [{ firstName: "X", status: "nonexistent" }, "status"],
      [{ firstName: "X", ownerUserId: 999_999 }, "ownerUserId"],
      [{ notes: "only notes" }, "body"],
    ];
    for (const [body, field] of cases) {
      const res = await t.agent.request("POST", "/api/leads", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await errorOf(res)).message).toContain(field === "body" ? "Invalid" : field);
    }
  });

  it("answers a field it does not know with the fields it does (a new user's {name}), and writes nothing", async () => {
    const phone = uniquePhone();
    const res = await t.agent.request("POST", "/api/leads", { name: "Dana Cohen", phone });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe("validation_failed");
    expect(error.message).toContain("name");
    const fields = (error.details as { fields: { field: string; message: string }[] }).fields;
    expect(fields.map((f) => f.field)).toEqual(["name"]);
    const known = fields[0]!.message.match(/known fields: (.*)\)$/)?.[1]?.split(", ");
    expect(known?.sort()).toEqual(
      ["email", "firstName", "lastName", "notes", "ownerUserId", "phone", "source", "status", "tags"].sort(),
    );
    const list = await t.owner.request("GET", `/api/leads?q=${encodeURIComponent(phone.slice(4))}`);
    expect(((await list.json()) as { leads: unknown[] }).leads).toEqual([]);
  });
});

describe("updating and deleting", () => {
  it("updates only the given fields", async () => {
    const lead = await create({ firstName: "Partial", lastName: "Update", phone: uniquePhone(), tags: ["vip"] });
    const res = await t.agent.request("PATCH", `/api/leads/${lead.id}`, {
      lastName: "Changed",
      ownerUserId: t.agent.userId,
    });
    expect(res.status).toBe(200);
    const updated = ((await res.json()) as { lead: Lead }).lead;
    expect(updated).toMatchObject({
      firstName: "Partial",
      lastName: "Changed",
      tags: ["vip"],
      ownerUserId: t.agent.userId,
    });
  });

  it("soft-deletes: the lead is gone from the book and its phone is free again", async () => {
    const phone = uniquePhone();
    const lead = await create({ firstName: "Gone", phone });
    expect((await t.admin.request("DELETE", `/api/leads/${lead.id}`)).status).toBe(204);
    expect((await t.agent.request("GET", `/api/leads/${lead.id}`)).status).toBe(404);
    expect((await t.admin.request("DELETE", `/api/leads/${lead.id}`)).status).toBe(404);
    expect((await t.agent.request("POST", "/api/leads", { firstName: "Back", phone })).status).toBe(201);
  });

  it("changes the status of many leads at once, reporting ids it did not find", async () => {
    const l1 = await create({ firstName: "Bulk1", phone: uniquePhone() });
    const l2 = await create({ firstName: "Bulk2", phone: uniquePhone() });
    const res = await t.admin.request("POST", "/api/leads/bulk-status", {
      leadIds: [l1.id, l2.id, 987_654],
      status: "qualified",
    });
    expect(await res.json()).toEqual({ updated: 2, notFound: [987_654] });
    const bad = await t.admin.request("POST", "/api/leads/bulk-status", { leadIds: [l1.id], status: "bogus" });
    expect(bad.status).toBe(400);
  });
});

describe("listing", () => {
  it("searches by name, phone digits (as typed locally) and email", async () => {
    const phone = uniquePhone();
    const lead = await create({ firstName: "Searchable", lastName: "Person", phone, email: "findme@example.test" });
    for (const q of ["searchable pers", phone.replace("+972", "0").slice(0, 7), "findme@"]) {
      const res = await t.agent.request("GET", `/api/leads?q=${encodeURIComponent(q)}`);
      const ids = ((await res.json()) as { leads: Lead[] }).leads.map((l) => l.id);
      expect(ids, q).toContain(lead.id);
    }
  });

  it("filters by status, source, owner and tag", async () => {
    const source = `src-${crypto.randomUUID().slice(0, 6)}`;
    const a = await create({ firstName: "F1", phone: uniquePhone(), source, status: "won", tags: ["hot"] });
    await create({ firstName: "F2", phone: uniquePhone(), source, status: "lost" });
    const byStatus = (await (await t.agent.request("GET", `/api/leads?source=${source}&status=won`)).json()) as {
      leads: Lead[];
    };
    expect(byStatus.leads.map((l) => l.id)).toEqual([a.id]);
    const byTag = (await (await t.agent.request("GET", `/api/leads?source=${source}&tag=hot`)).json()) as {
      leads: Lead[];
    };
    expect(byTag.leads.map((l) => l.id)).toEqual([a.id]);
    const both = (await (await t.agent.request("GET", `/api/leads?source=${source}&status=won,lost`)).json()) as {
      leads: Lead[];
    };
    expect(both.leads).toHaveLength(2);
  });

  it("pages with a stable cursor: every lead once, in order, even when created in the same instant", async () => {
    const source = `page-${crypto.randomUUID().slice(0, 6)}`;
    const created: number[] = [];
    for (let i = 0; i < 7; i++) created.push((await create({ firstName: `P${i}`, phone: uniquePhone(), source })).id);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/leads?source=${source}&limit=3${cursor ? `&cursor=${cursor}` : ""}`;
      const page = (await (await t.agent.request("GET", url)).json()) as { leads: Lead[]; nextCursor: string | null };
      seen.push(...page.leads.map((l) => l.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...created].reverse());
    const asc = (await (await t.agent.request("GET", `/api/leads?source=${source}&order=asc&limit=50`)).json()) as {
      leads: Lead[];
    };
    expect(asc.leads.map((l) => l.id)).toEqual(created);
  });

  it("refuses a bad query naming the parameter", async () => {
    for (const [query, field] of [
      ["limit=5000", "limit"],
      ["sort=name", "sort"],
      ["cursor=garbage!!", "cursor"],
      ["bogus=1", "bogus"],
    ]) {
      const res = await t.agent.request("GET", `/api/leads?${query}`);
      expect(res.status, query).toBe(400);
      expect((await errorOf(res)).message, query).toContain(field);
    }
  });

  it("answers an unknown query parameter with the parameters it knows", async () => {
    const res = await t.agent.request("GET", "/api/leads?search=dana");
    expect(res.status).toBe(400);
    const [refused] = ((await errorOf(res)).details as { fields: { field: string; message: string }[] }).fields;
    expect(refused?.field).toBe("search");
    for (const param of ["q", "status", "source", "ownerUserId", "tag", "sort", "order", "limit", "cursor"])
      expect(refused?.message).toMatch(new RegExp(`known fields: .*\\b${param}\\b`));
  });
});

describe("lead statuses", () => {
  it("refuses to delete a status in use (saying how many leads) or the default; deletes an unused one", async () => {
    const created = await t.admin.request("POST", "/api/lead-statuses", {
      key: "callback",
      label: "Call back",
      color: "#ff0000",
    });
    expect(created.status).toBe(201);
    const status = ((await created.json()) as { status: { id: number } }).status;
    const lead = await create({ firstName: "Uses status", phone: uniquePhone(), status: "callback" });
    const refused = await t.admin.request("DELETE", `/api/lead-statuses/${status.id}`);
    expect(refused.status).toBe(409);
    expect(await errorOf(refused)).toMatchObject({ code: "status_in_use", details: { leads: 1 } });
    await t.agent.request("PATCH", `/api/leads/${lead.id}`, { status: "new" });
    expect((await t.admin.request("DELETE", `/api/lead-statuses/${status.id}`)).status).toBe(204);

    const list = (await (await t.agent.request("GET", "/api/lead-statuses")).json()) as {
      statuses: { id: number; isDefault: boolean }[];
    };
    const defaultStatus = list.statuses.find((s) => s.isDefault)!;
    expect((await t.admin.request("DELETE", `/api/lead-statuses/${defaultStatus.id}`)).status).toBe(409);
  });

  it("a new business starts with the default statuses in order", async () => {
    const list = (await (await t.agent.request("GET", "/api/lead-statuses")).json()) as { statuses: { key: string }[] };
    expect(list.statuses.slice(0, 5).map((s) => s.key)).toEqual(["new", "contacted", "qualified", "won", "lost"]);
  });
});
