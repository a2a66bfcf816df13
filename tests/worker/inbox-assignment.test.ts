/**
 * Assigning conversations: an agent takes an unassigned one or gives up their own; moving one
 * between people needs whatsapp.assign (admins). The assignee must be an active user of the same
 * business. Each change is published live and sent as a `conversation.assigned` webhook.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { users } from "../../worker/db/schema";
import { type Client, createTenant, createUser, signIn, type Tenant } from "./fixtures";
import { errorOf, expectFieldRefused, testDb } from "./helpers";
import { conversationChange, json, liveTab, newConversation } from "./inbox-helpers";
import { createApiKey, eventOf, sink, subscribe, waitForAccepted, withKey } from "./webhook-fixtures";

const { db, close } = testDb();
afterAll(close);

let a: Tenant;
let b: Tenant;
let agent2: Client;

beforeAll(async () => {
  a = await createTenant(db, "Assign A");
  b = await createTenant(db, "Assign B");
  agent2 = await signIn(await createUser(db, a.businessId, "agent", "agent2"));
});

const assign = (client: Client, id: number, userId: number | null) =>
  client.request("PUT", `/api/whatsapp/conversations/${id}/assignee`, { userId });

async function listIds(client: Client, query: string): Promise<number[]> {
  const res = await client.request("GET", `/api/whatsapp/conversations?${query}`);
  expect(res.status).toBe(200);
  return (await json(res)).conversations.map((c: { id: number }) => c.id);
}

describe("PUT /api/whatsapp/conversations/{id}/assignee", () => {
  it("an agent takes an unassigned conversation; Mine and Unassigned follow", async () => {
    const conv = await newConversation(db, a.businessId);
    expect(await listIds(a.agent, "view=unassigned")).toContain(conv.id);

    const res = await assign(a.agent, conv.id, a.agent.userId);
    expect(res.status).toBe(200);
    const { conversation } = await json(res);
    expect(conversation.assignee).toEqual({ id: a.agent.userId, name: "agent user" });

    expect(await listIds(a.agent, "view=mine")).toContain(conv.id);
    expect(await listIds(a.agent, "view=unassigned")).not.toContain(conv.id);
    expect(await listIds(agent2, "view=mine")).not.toContain(conv.id);
    expect(await listIds(a.admin, `assigneeId=${a.agent.userId}`)).toContain(conv.id);
    const detail = await json(await a.agent.request("GET", `/api/whatsapp/conversations/${conv.id}`));
    expect(detail.conversation.assignee.id).toBe(a.agent.userId);
  });

  it("an agent may not take a colleague's conversation nor assign anyone else; an admin may", async () => {
    const conv = await newConversation(db, a.businessId);
    // Assigning someone else, even an unassigned conversation.
    const other = await assign(a.agent, conv.id, agent2.userId);
    expect(other.status).toBe(403);
    expect((await errorOf(other)).code).toBe("forbidden");

    expect((await assign(agent2, conv.id, agent2.userId)).status).toBe(200);
    // Taking it over, or unassigning it, while a colleague holds it.
    expect((await assign(a.agent, conv.id, a.agent.userId)).status).toBe(403);
    expect((await assign(a.agent, conv.id, null)).status).toBe(403);

    const moved = await assign(a.admin, conv.id, a.agent.userId);
    expect(moved.status).toBe(200);
    expect((await json(moved)).conversation.assignee.id).toBe(a.agent.userId);
    // The holder gives it up.
    const released = await assign(a.agent, conv.id, null);
    expect(released.status).toBe(200);
    expect((await json(released)).conversation.assignee).toBeNull();
  });

  it("the assignee must be an active user of this business (400 naming userId)", async () => {
    const conv = await newConversation(db, a.businessId);
    await expectFieldRefused(await assign(a.admin, conv.id, b.agent.userId), "userId", "another business's user");
    await expectFieldRefused(await assign(a.admin, conv.id, 2_147_483_000), "userId", "no such user");
    const leaverEmail = await createUser(db, a.businessId, "agent", "leaver");
    const [leaver] = await db.update(users).set({ isActive: false }).where(eq(users.email, leaverEmail)).returning();
    await expectFieldRefused(await assign(a.admin, conv.id, leaver!.id), "userId", "a deactivated user");
    await expectFieldRefused(await assign(a.admin, conv.id, "x" as unknown as number), "userId", "not an id");
  });

  it("another business's conversation is not found", async () => {
    const conv = await newConversation(db, a.businessId);
    const res = await assign(b.owner, conv.id, b.owner.userId);
    expect(res.status).toBe(404);
    const detail = await b.owner.request("GET", `/api/whatsapp/conversations/${conv.id}`);
    expect(detail.status).toBe(404);
  });

  it("publishes the change live and sends conversation.assigned with the previous assignee", async () => {
    const target = sink("assigned");
    await subscribe(a.owner, target, ["conversation.assigned"]);
    const tab = await liveTab(a.agent);
    const conv = await newConversation(db, a.businessId);

    expect((await assign(a.agent, conv.id, a.agent.userId)).status).toBe(200);
    await tab.next(conversationChange(conv.id, "assigned"));
    expect((await assign(a.admin, conv.id, agent2.userId)).status).toBe(200);

    const received = (await waitForAccepted(target, 2)).map(eventOf);
    expect(received.map((e) => e.type)).toEqual(["conversation.assigned", "conversation.assigned"]);
    expect(received[0]!.data.conversation).toMatchObject({
      id: conv.id,
      chatJid: conv.chatJid,
      assigneeId: a.agent.userId,
      previousAssigneeId: null,
      assignedByUserId: a.agent.userId,
    });
    expect(received[1]!.data.conversation).toMatchObject({
      assigneeId: agent2.userId,
      previousAssigneeId: a.agent.userId,
      assignedByUserId: a.admin.userId,
    });
    // Assigning the same person again changes nothing: no event.
    expect((await assign(a.admin, conv.id, agent2.userId)).status).toBe(200);
    tab.close();
  });

  it("an API key needs conversations:assign to move conversations between people", async () => {
    const conv = await newConversation(db, a.businessId);
    const sender = withKey((await createApiKey(a.admin, ["messages:send"])).secret);
    const router = withKey((await createApiKey(a.admin, ["conversations:assign"])).secret);
    const refused = await sender("PUT", `/api/whatsapp/conversations/${conv.id}/assignee`, { userId: agent2.userId });
    expect(refused.status).toBe(403);
    const done = await router("PUT", `/api/whatsapp/conversations/${conv.id}/assignee`, { userId: agent2.userId });
    expect(done.status).toBe(200);
    expect((await json(done)).conversation.assignee.id).toBe(agent2.userId);
  });

  it("deactivating a user puts their conversations back in Unassigned, live and as conversation.assigned", async () => {
    const target = sink("unassigned-on-leave");
    await subscribe(a.owner, target, ["conversation.assigned"]);
    const leaver = await signIn(await createUser(db, a.businessId, "agent", "leaves-with-work"));
    const kept = await newConversation(db, a.businessId);
    const theirs = await newConversation(db, a.businessId);
    expect((await assign(leaver, theirs.id, leaver.userId)).status).toBe(200);
    expect((await assign(a.agent, kept.id, a.agent.userId)).status).toBe(200);
    const tab = await liveTab(a.admin);

    expect((await a.admin.request("DELETE", `/api/users/${leaver.userId}`)).status).toBe(204);

    await tab.next(conversationChange(theirs.id, "assigned"));
    expect(await listIds(a.admin, "view=unassigned")).toContain(theirs.id);
    // A colleague's conversation stays theirs.
    expect(await listIds(a.agent, "view=mine")).toContain(kept.id);
    const received = (await waitForAccepted(target, 2)).map(eventOf);
    expect(received.at(-1)!.data.conversation).toMatchObject({
      id: theirs.id,
      assigneeId: null,
      previousAssigneeId: leaver.userId,
      assignedByUserId: a.admin.userId,
    });
    tab.close();
  });
});
