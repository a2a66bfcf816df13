/**
 * Private notes: the team writes them in a conversation; the customer never receives them and they
 * never appear among the conversation's messages. Deleting one is for its author or an admin.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { waOutbound } from "../../worker/db/schema";
import { type Client, createTenant, createUser, signIn, type Tenant } from "./fixtures";
import { errorOf, expectFieldRefused, testDb } from "./helpers";
import { conversationChange, json, liveTab, newConversation, type TestConversation } from "./inbox-helpers";
import { shardNode } from "./whatsapp-helpers";

const { db, close } = testDb();
afterAll(close);

let a: Tenant;
let agent2: Client;
let shard: ReturnType<typeof shardNode>;
let conv: TestConversation;

beforeAll(async () => {
  a = await createTenant(db, "Notes A");
  agent2 = await signIn(await createUser(db, a.businessId, "agent", "agent2"));
  // Connected, so that anything sent to the customer really reaches the (fake) phone.
  const connect = await json(await a.owner.request("POST", "/api/whatsapp/connect"));
  shard = shardNode(connect.shard);
  const paired = await shard("POST", `/_fake/sessions/${a.businessId}/pair`, { phoneNumber: "972500000003" });
  expect(paired.body.state).toBe("open");
  conv = await newConversation(db, a.businessId, { text: "my order is late" });
});

const notesPath = (id: number) => `/api/whatsapp/conversations/${id}/notes`;

describe("conversation notes", () => {
  it("a note is kept for the team: listed in the notes, never among the messages, never sent", async () => {
    const tab = await liveTab(a.admin);
    const secret = `customer is a VIP, call before refunding ${crypto.randomUUID()}`;
    const created = await a.agent.request("POST", notesPath(conv.id), { body: secret });
    expect(created.status).toBe(201);
    const { note } = await json(created);
    expect(note).toMatchObject({ body: secret, author: { id: a.agent.userId, name: "agent user" } });
    await tab.next(conversationChange(conv.id, "note"));

    const listed = await json(await a.admin.request("GET", notesPath(conv.id)));
    expect(listed.notes).toEqual([note]);

    // A reply after the note goes out; the note never does.
    const reply = await a.agent.request("POST", `/api/whatsapp/conversations/${conv.id}/reply`, {
      text: "checking now",
    });
    expect(reply.status).toBe(202);
    const { outboundId } = await json(reply);
    await vi.waitFor(
      async () => {
        const [row] = await db.select().from(waOutbound).where(eq(waOutbound.id, outboundId));
        expect(row!.status).toBe("sent");
      },
      { timeout: 15_000, interval: 50 },
    );
    const sent = (await shard("GET", `/_fake/sessions/${a.businessId}/sent`)).body.sent as { text: string }[];
    expect(sent.map((s) => s.text)).toContain("checking now");
    expect(JSON.stringify(sent)).not.toContain(secret);
    const outbound = await db
      .select({ text: waOutbound.text })
      .from(waOutbound)
      .where(eq(waOutbound.businessId, a.businessId));
    expect(outbound.map((o) => o.text)).not.toContain(secret);

    const messages = await json(await a.agent.request("GET", `/api/whatsapp/conversations/${conv.id}/messages`));
    expect(messages.messages.map((m: { text: string }) => m.text)).toContain("checking now");
    expect(JSON.stringify(messages)).not.toContain(secret);
    tab.close();
  });

  it("refuses an empty note (400 naming body), and another business's conversation (404)", async () => {
    await expectFieldRefused(await a.agent.request("POST", notesPath(conv.id), { body: "   " }), "body", "blank");
    const b = await createTenant(db, "Notes B");
    expect((await b.owner.request("GET", notesPath(conv.id))).status).toBe(404);
    expect((await b.owner.request("POST", notesPath(conv.id), { body: "from B" })).status).toBe(404);
  });

  it("only the note's author or an admin deletes it", async () => {
    const mine = await json(await a.agent.request("POST", notesPath(conv.id), { body: "agent's note" }));
    const other = await agent2.request("DELETE", `${notesPath(conv.id)}/${mine.note.id}`);
    expect(other.status).toBe(403);
    expect((await errorOf(other)).code).toBe("forbidden");
    expect((await a.agent.request("DELETE", `${notesPath(conv.id)}/${mine.note.id}`)).status).toBe(204);

    const second = await json(await agent2.request("POST", notesPath(conv.id), { body: "agent2's note" }));
    expect((await a.admin.request("DELETE", `${notesPath(conv.id)}/${second.note.id}`)).status).toBe(204);
    const left = await json(await a.agent.request("GET", notesPath(conv.id)));
    expect(left.notes.map((n: { body: string }) => n.body)).not.toContain("agent's note");
    expect(left.notes.map((n: { body: string }) => n.body)).not.toContain("agent2's note");
    // A note id under another conversation is not found there.
    const elsewhere = await newConversation(db, a.businessId);
    const kept = await json(await a.agent.request("POST", notesPath(conv.id), { body: "stays" }));
    expect((await a.admin.request("DELETE", `${notesPath(elsewhere.id)}/${kept.note.id}`)).status).toBe(404);
  });
});
