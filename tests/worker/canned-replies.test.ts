/**
 * Canned replies: admins write them, agents read them and render them for a conversation with the
 * project's template variables. Shortcuts are unique per business, any script, no spaces.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { businesses, leads, waConversations } from "../../worker/db/schema";
import { createTenant, type Tenant } from "./fixtures";
import { errorOf, expectFieldRefused, testDb } from "./helpers";
import { json, newConversation } from "./inbox-helpers";

const { db, close } = testDb();
afterAll(close);

let a: Tenant;
let b: Tenant;
beforeAll(async () => {
  a = await createTenant(db, "מספרת דנה");
  b = await createTenant(db, "Canned B");
});

const create = (t: Tenant, shortcut: string, body: string) =>
  t.admin.request("POST", "/api/whatsapp/canned-replies", { shortcut, body });

describe("canned replies", () => {
  it("admins create them, agents list them; agents cannot write them", async () => {
    const res = await create(a, "hours", "Hi {first_name}, we are open 9-18.");
    expect(res.status).toBe(201);
    const { cannedReply } = await json(res);
    expect(cannedReply).toMatchObject({ shortcut: "hours", body: "Hi {first_name}, we are open 9-18." });

    const refused = await a.agent.request("POST", "/api/whatsapp/canned-replies", { shortcut: "x", body: "y" });
    expect(refused.status).toBe(403);
    const listed = await json(await a.agent.request("GET", "/api/whatsapp/canned-replies"));
    expect(listed.cannedReplies.map((r: { shortcut: string }) => r.shortcut)).toContain("hours");
    // Another business has its own list.
    const other = await json(await b.agent.request("GET", "/api/whatsapp/canned-replies"));
    expect(other.cannedReplies).toEqual([]);
  });

  it("a shortcut is unique per business (409 naming shortcut), in any script, without spaces", async () => {
    expect((await create(a, "מחירים", "המחירים באתר")).status).toBe(201);
    const again = await create(a, "מחירים", "שוב");
    expect(again.status).toBe(409);
    expect(await errorOf(again)).toMatchObject({ code: "conflict", details: { field: "shortcut" } });
    // Stored lowercased: /Thanks and /thanks are one shortcut.
    expect((await create(a, "Thanks", "Thank you!")).status).toBe(201);
    expect((await create(a, "thanks", "Thanks again")).status).toBe(409);
    // Another business may use the same shortcut.
    expect((await create(b, "thanks", "Thanks")).status).toBe(201);

    await expectFieldRefused(await create(a, "two words", "x"), "shortcut", "a space");
    await expectFieldRefused(await create(a, "", "x"), "shortcut", "empty");
    await expectFieldRefused(await create(a, "a/b", "x"), "shortcut", "a slash");
    await expectFieldRefused(await create(a, "ok", "Hi {nickname}"), "body", "an unknown variable");
  });

  it("changes and deletes one; another business's is not found", async () => {
    const { cannedReply } = await json(await create(a, "bye", "Bye"));
    const path = `/api/whatsapp/canned-replies/${cannedReply.id}`;
    expect((await b.admin.request("PATCH", path, { body: "hijacked" })).status).toBe(404);
    expect((await b.admin.request("DELETE", path)).status).toBe(404);

    const patched = await a.admin.request("PATCH", path, { body: "Bye {first_name}!" });
    expect(patched.status).toBe(200);
    expect((await json(patched)).cannedReply.body).toBe("Bye {first_name}!");
    const clash = await a.admin.request("PATCH", path, { shortcut: "hours" });
    expect(clash.status).toBe(409);
    expect((await a.agent.request("DELETE", path)).status).toBe(403);
    expect((await a.admin.request("DELETE", path)).status).toBe(204);
    expect((await a.admin.request("DELETE", path)).status).toBe(404);
  });

  it("renders a canned reply for the conversation's lead and business", async () => {
    const conv = await newConversation(db, a.businessId, { pushName: "Dana" });
    const [row] = await db.select().from(waConversations).where(eq(waConversations.id, conv.id));
    await db.update(leads).set({ firstName: "דנה", lastName: "כהן" }).where(eq(leads.id, row!.leadId!));
    await db.update(businesses).set({ locale: "he-IL" }).where(eq(businesses.id, a.businessId));
    const { cannedReply } = await json(
      await create(
        a,
        "welcome",
        "שלום {first_name} {last_name}, ברוכה הבאה ל{business_name}. התור: {appointment_date}",
      ),
    );
    const res = await a.agent.request(
      "POST",
      `/api/whatsapp/conversations/${conv.id}/canned-replies/${cannedReply.id}/render`,
    );
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      text: "שלום דנה כהן, ברוכה הבאה למספרת דנה. התור:",
      unresolved: ["appointment_date"],
    });

    // B's canned reply through A's conversation, and A's through B's session: not found.
    const { cannedReply: ofB } = await json(await create(b, "hi", "Hi"));
    expect(
      (await a.agent.request("POST", `/api/whatsapp/conversations/${conv.id}/canned-replies/${ofB.id}/render`)).status,
    ).toBe(404);
    expect(
      (await b.agent.request("POST", `/api/whatsapp/conversations/${conv.id}/canned-replies/${cannedReply.id}/render`))
        .status,
    ).toBe(404);
  });
});
