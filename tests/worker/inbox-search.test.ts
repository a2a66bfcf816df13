/**
 * Inbox search (`q`): message text, display name, the lead's name and phone, in Hebrew or English,
 * by any part of the word or number; never another business's conversations.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leads, waConversations } from "../../worker/db/schema";
import { createTenant, type Tenant } from "./fixtures";
import { expectFieldRefused, testDb } from "./helpers";
import { customerWrites, json, newConversation, type TestConversation } from "./inbox-helpers";
import { uniquePhone } from "./phones";

const { db, close } = testDb();
afterAll(close);

let a: Tenant;
let b: Tenant;
const marker = crypto.randomUUID().slice(0, 6);
let hebrew: TestConversation;
let english: TestConversation;
let named: TestConversation;
let phone: string;
let sameTextInB: TestConversation;

beforeAll(async () => {
  a = await createTenant(db, "Search A");
  b = await createTenant(db, "Search B");
  hebrew = await newConversation(db, a.businessId, { text: `שלום, מתי המשלוח${marker} שלי מגיע?` });
  await customerWrites(a.businessId, hebrew.chatJid, { text: "ועוד שאלה קטנה" });
  english = await newConversation(db, a.businessId, { text: "hello", pushName: `Dana ${marker}Levi` });
  phone = uniquePhone();
  named = await newConversation(db, a.businessId, { text: "hi", phone });
  const [row] = await db.select().from(waConversations).where(eq(waConversations.id, named.id));
  await db
    .update(leads)
    .set({ firstName: "יעל", lastName: `כה${marker}ן` })
    .where(eq(leads.id, row!.leadId!));
  sameTextInB = await newConversation(db, b.businessId, { text: `שלום, מתי המשלוח${marker} שלי מגיע?` });
});

async function search(q: string, extra = "") {
  const res = await a.agent.request("GET", `/api/whatsapp/conversations?q=${encodeURIComponent(q)}${extra}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await json(res)).conversations as { id: number; match: { messageId: number; snippet: string } | null }[];
}

describe("GET /api/whatsapp/conversations?q=", () => {
  it("finds Hebrew message text by part of a word, with the matching message and a snippet", async () => {
    const found = await search(`משלוח${marker}`);
    expect(found.map((c) => c.id)).toEqual([hebrew.id]);
    expect(found[0]!.match!.snippet).toContain(`המשלוח${marker} שלי`);
    const messages = await json(await a.agent.request("GET", `/api/whatsapp/conversations/${hebrew.id}/messages`));
    const matched = messages.messages.find((m: { id: number }) => m.id === found[0]!.match!.messageId);
    expect(matched.text).toContain(`משלוח${marker}`);
    // Another business's identical conversation is never among A's results.
    expect(found.map((c) => c.id)).not.toContain(sameTextInB.id);
  });

  it("finds the display name (any case) and the lead's Hebrew name; match is null then", async () => {
    const byName = await search(`dana ${marker.toUpperCase()}LE`);
    expect(byName.map((c) => c.id)).toEqual([english.id]);
    expect(byName[0]!.match).toBeNull();
    const byLead = await search(`יעל כה${marker}`);
    expect(byLead.map((c) => c.id)).toEqual([named.id]);
  });

  it("finds a phone by part of its digits, typed in the national format or with separators", async () => {
    const national = `0${phone.slice(4)}`; // +97254xxxxxxx → 054xxxxxxx
    for (const q of [national, `${national.slice(0, 3)}-${national.slice(3)}`, phone, phone.slice(6, 12)]) {
      expect(
        (await search(q)).map((c) => c.id),
        q,
      ).toContain(named.id);
    }
  });

  it("reads % and _ as text, and combines with the status filter and the other business's tenancy", async () => {
    expect(await search("%%")).toEqual([]);
    expect(await search("__")).toEqual([]);
    expect((await search(`משלוח${marker}`, "&status=resolved")).map((c) => c.id)).toEqual([]);
    const fromB = await json(
      await b.agent.request("GET", `/api/whatsapp/conversations?q=${encodeURIComponent(`יעל כה${marker}`)}`),
    );
    expect(fromB.conversations).toEqual([]);
  });

  it("without q there is no match field; a one-letter q is refused (400 naming q)", async () => {
    const all = await json(await a.agent.request("GET", "/api/whatsapp/conversations"));
    expect(all.conversations.length).toBeGreaterThan(0);
    expect("match" in all.conversations[0]).toBe(false);
    await expectFieldRefused(await a.agent.request("GET", "/api/whatsapp/conversations?q=a"), "q", "too short");
  });
});
