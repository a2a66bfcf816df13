/**
 * Broadcasts: one template to an audience from the lead book. The bugs guarded against: a lead
 * messaged twice (at the phone) when dispatch jobs are redelivered or overlap; a broadcast whose
 * waiting messages show no reason; a paused or cancelled broadcast
 * that keeps sending; a half-written broadcast after a refused request; one business reaching
 * another's broadcasts.
 */
import { env } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { broadcastRecipients, broadcasts, leads, waOutbound } from "../../worker/db/schema";
import { broadcastKey, DISPATCH_CHUNK, sweepBroadcasts } from "../../worker/services/broadcasts";
import type { Tenant } from "./fixtures";
import { errorOf, expectFieldRefused, testDb } from "./helpers";
import { deliverConcurrently, newLead, quietTenant } from "./messaging-fixtures";
import { uniquePhone } from "./phones";
import { connectedTenant, sentAtShard, setPace } from "./send-fixtures";

const { db, close } = testDb();
let t: Tenant;
let other: Tenant;
beforeAll(async () => {
  t = await quietTenant(db, "Broadcast business");
  other = await quietTenant(db, "Other broadcast business");
});
afterAll(close);

interface Progress {
  total: number;
  skipped: number;
  queued: number;
  held: number;
  sending: number;
  sent: number;
  failed: number;
  cancelled: number;
  waiting: { count: number; reason: string; detail: string; nextAt: string | null; lastAt: string | null } | null;
}
interface BroadcastView {
  broadcast: { id: number; status: string; totalRecipients: number; skippedLeads: number };
  progress: Progress;
}

/** Leads tagged `tag` straight into the table (1,000 through the API would only slow the test). */
async function seedLeads(
  businessId: number,
  tag: string,
  n: number,
  opts: { phone?: boolean; firstName?: (i: number) => string | null } = {},
): Promise<number[]> {
  const rows = Array.from({ length: n }, (_, i) => ({
    businessId,
    firstName: opts.firstName ? opts.firstName(i) : `Lead${i}`,
    phoneE164: opts.phone === false ? null : uniquePhone(),
    tags: [tag],
  }));
  const ids: number[] = [];
  for (let i = 0; i < rows.length; i += 500) {
    const inserted = await db
      .insert(leads)
      .values(rows.slice(i, i + 500))
      .returning({ id: leads.id });
    ids.push(...inserted.map((r) => r.id));
  }
  return ids;
}

async function create(body: Record<string, unknown>, client = t.admin): Promise<BroadcastView> {
  const res = await client.request("POST", "/api/broadcasts", body);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as BroadcastView;
}

async function view(id: number, client = t.admin): Promise<BroadcastView> {
  const res = await client.request("GET", `/api/broadcasts/${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as BroadcastView;
}

async function outboundOf(broadcastId: number) {
  return db
    .select()
    .from(waOutbound)
    .where(and(eq(waOutbound.origin, "broadcast"), eq(waOutbound.originId, broadcastId)));
}

async function recipientsOf(broadcastId: number) {
  return db.select().from(broadcastRecipients).where(eq(broadcastRecipients.broadcastId, broadcastId));
}

/** The dispatch jobs creation sends, rebuilt here to deliver them again. */
async function dispatchJobs(broadcastId: number) {
  const ids = (await recipientsOf(broadcastId)).map((r) => r.leadId).sort((a, b) => a - b);
  const jobs = [];
  for (let i = 0; i < ids.length; i += DISPATCH_CHUNK) {
    jobs.push({ type: "broadcast.dispatch", broadcastId, leadIds: ids.slice(i, i + DISPATCH_CHUNK) });
  }
  return jobs;
}

async function broadcastCount(businessId: number): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(broadcasts)
    .where(eq(broadcasts.businessId, businessId));
  return row!.n;
}

describe("a broadcast to 250 leads (two dispatch chunks), delivered", () => {
  it("messages each lead exactly once, even with every dispatch job redelivered and overlapping", async () => {
    // A connected tenant outside quiet hours, at a fast pace: every message goes all the way to
    // the (fake) phone, so "once" is checked where it matters.
    const live = await connectedTenant(db, "Delivered broadcast business");
    await setPace(db, live.tenant.businessId, 6000);
    const tag = `big-${crypto.randomUUID().slice(0, 8)}`;
    const withPhone = await seedLeads(live.tenant.businessId, tag, 250, {
      firstName: (i) => (i % 10 === 0 ? null : `L${i}`),
    });
    await seedLeads(live.tenant.businessId, tag, 7, { phone: false });
    const created = await create(
      { name: "Spring sale", template: "שלום {first_name}, מבצע אביב!", audience: { tag } },
      live.tenant.admin,
    );
    const id = created.broadcast.id;
    expect(created.broadcast).toMatchObject({ status: "running", totalRecipients: 250, skippedLeads: 7 });
    expect(created.progress).toMatchObject({ total: 250, skipped: 7 });

    // The real queue is already delivering the dispatch jobs; deliver every one of them twice
    // more, in overlapping batches, on top.
    const jobs = await dispatchJobs(id);
    expect(jobs).toHaveLength(Math.ceil(250 / DISPATCH_CHUNK));
    await deliverConcurrently("prosaas-default", [jobs, [...jobs].reverse(), jobs.slice(0, 1)]);

    await vi.waitFor(async () => expect((await view(id, live.tenant.admin)).broadcast.status).toBe("completed"), {
      // ~250 sends through one local consumer; generous for a loaded machine.
      timeout: 240_000,
      interval: 500,
    });
    const rows = await outboundOf(id);
    expect(rows).toHaveLength(250);
    expect(new Set(rows.map((r) => r.leadId))).toEqual(new Set(withPhone));
    for (const r of rows) expect(r.idempotencyKey).toBe(broadcastKey(id, r.leadId!));
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const recipient of await recipientsOf(id)) {
      expect(byId.get(recipient.outboundId!)!.leadId).toBe(recipient.leadId);
    }
    // Names filled in; the missing ones fall back, never a raw {first_name}.
    const texts = rows.map((r) => r.text);
    expect(texts.filter((text) => text === "שלום לקוח יקר, מבצע אביב!")).toHaveLength(25);
    expect(texts.some((text) => text.includes("{"))).toBe(false);
    expect((await view(id, live.tenant.admin)).progress).toMatchObject({
      total: 250,
      sent: 250,
      queued: 0,
      cancelled: 0,
      waiting: null,
    });
    // At the phone: each lead's number got exactly its own text, once.
    const atShard = await sentAtShard(live);
    for (const r of rows) {
      expect(atShard.filter((m) => m.chatJid === `${r.to}@s.whatsapp.net`).map((m) => m.text)).toEqual([r.text]);
    }
  }, 300_000);
});

describe("pause, resume, cancel", () => {
  it("pause holds the messages not yet sent, resume releases them, cancel stops them", async () => {
    const tag = `pr-${crypto.randomUUID().slice(0, 8)}`;
    await seedLeads(t.businessId, tag, 30);
    const { broadcast } = await create({ name: "Pausable", template: "Hi {first_name}", audience: { tag } });
    // Deliver the dispatch ourselves rather than wait behind whatever else the queue carries.
    await deliverConcurrently("prosaas-default", [await dispatchJobs(broadcast.id)]);
    expect(await outboundOf(broadcast.id)).toHaveLength(30);

    const paused = (await (
      await t.admin.request("POST", `/api/broadcasts/${broadcast.id}/pause`)
    ).json()) as BroadcastView;
    expect(paused.broadcast.status).toBe("paused");
    expect(paused.progress).toMatchObject({ held: 30, queued: 0, waiting: null });
    expect((await outboundOf(broadcast.id)).every((r) => r.status === "held")).toBe(true);
    // Pausing twice is fine; a dispatch job delivered while paused creates and releases nothing.
    expect((await t.admin.request("POST", `/api/broadcasts/${broadcast.id}/pause`)).status).toBe(200);
    await deliverConcurrently("prosaas-default", [await dispatchJobs(broadcast.id)]);
    expect((await outboundOf(broadcast.id)).every((r) => r.status === "held")).toBe(true);

    const resumed = (await (
      await t.admin.request("POST", `/api/broadcasts/${broadcast.id}/resume`)
    ).json()) as BroadcastView;
    expect(resumed.broadcast.status).toBe("running");
    expect(resumed.progress).toMatchObject({ held: 0, queued: 30, waiting: { count: 30, reason: "quiet_hours" } });
    // Expected once the tenant's quiet hours end (hours from now), not "any moment".
    expect(new Date(resumed.progress.waiting!.nextAt!).getTime()).toBeGreaterThan(Date.now() + 30 * 60_000);
    expect(await outboundOf(broadcast.id)).toHaveLength(30);

    const cancelled = (await (
      await t.admin.request("POST", `/api/broadcasts/${broadcast.id}/cancel`)
    ).json()) as BroadcastView;
    expect(cancelled.broadcast.status).toBe("cancelled");
    expect(cancelled.progress).toMatchObject({ total: 30, cancelled: 30, queued: 0, held: 0 });
    expect((await outboundOf(broadcast.id)).every((r) => r.status === "cancelled")).toBe(true);
    const res = await t.admin.request("POST", `/api/broadcasts/${broadcast.id}/resume`);
    expect(res.status).toBe(409);
    expect((await errorOf(res)).message).toContain("cancelled");
  });

  it("a broadcast paused before its dispatch ran gets its messages on resume, still once each", async () => {
    const tag = `early-${crypto.randomUUID().slice(0, 8)}`;
    await seedLeads(t.businessId, tag, 12);
    // Pause in the same tick as the creation: whichever wins, nothing may stay `queued`.
    const { broadcast } = await create({ name: "Early pause", template: "Hi", audience: { tag } });
    await t.admin.request("POST", `/api/broadcasts/${broadcast.id}/pause`);
    await deliverConcurrently("prosaas-default", [await dispatchJobs(broadcast.id)]);
    expect((await outboundOf(broadcast.id)).filter((r) => r.status === "queued")).toHaveLength(0);
    await t.admin.request("POST", `/api/broadcasts/${broadcast.id}/resume`);
    // Resume queued dispatch jobs for what was never dispatched; deliver them (again) here.
    await deliverConcurrently("prosaas-default", [await dispatchJobs(broadcast.id)]);
    const rows = await outboundOf(broadcast.id);
    expect(rows).toHaveLength(12);
    expect(rows.every((r) => r.status === "queued")).toBe(true);
    expect((await view(broadcast.id)).progress).toMatchObject({ total: 12, queued: 12, held: 0 });
  });

  it("recipients whose send finished are counted, and the broadcast completes when none wait", async () => {
    const tag = `done-${crypto.randomUUID().slice(0, 8)}`;
    await seedLeads(t.businessId, tag, 3);
    const { broadcast } = await create({ name: "Small", template: "Hi", audience: { tag } });
    await deliverConcurrently("prosaas-default", [await dispatchJobs(broadcast.id)]);
    expect(await outboundOf(broadcast.id)).toHaveLength(3);
    const { recordOutboundOutcome } = await import("../../worker/whatsapp/outbound-outcome");
    const [first, second, third] = await outboundOf(broadcast.id);
    for (const [row, status] of [
      [first!, "sent"],
      [second!, "failed"],
    ] as const) {
      const [updated] = await db.update(waOutbound).set({ status }).where(eq(waOutbound.id, row.id)).returning();
      await recordOutboundOutcome(db, updated!, status);
    }
    expect((await view(broadcast.id)).progress).toMatchObject({ sent: 1, failed: 1, queued: 1 });
    expect((await view(broadcast.id)).broadcast.status).toBe("running");
    const [last] = await db.update(waOutbound).set({ status: "sent" }).where(eq(waOutbound.id, third!.id)).returning();
    await recordOutboundOutcome(db, last!, "sent");
    const done = await view(broadcast.id);
    expect(done.broadcast.status).toBe("completed");
    expect(done.progress).toMatchObject({ sent: 2, failed: 1, queued: 0 });
  });
});

describe("recovery", () => {
  it("the sweep dispatches recipients whose dispatch job was lost, still one message each", async () => {
    const tag = `lost-${crypto.randomUUID().slice(0, 8)}`;
    const ids = await seedLeads(t.businessId, tag, 5);
    // A broadcast stored without its dispatch jobs (the enqueue after the commit failed).
    const [lost] = await db
      .insert(broadcasts)
      .values({
        businessId: t.businessId,
        name: "Lost",
        template: "Hi {first_name}",
        audience: { tag },
        status: "running",
        totalRecipients: 5,
        updatedAt: new Date(Date.now() - 20 * 60_000),
      })
      .returning();
    await db
      .insert(broadcastRecipients)
      .values(ids.map((leadId) => ({ broadcastId: lost!.id, leadId, businessId: t.businessId })));
    // Capture what the sweep queues instead of racing the real queue.
    const sent: unknown[] = [];
    const capture = {
      ...env,
      QUEUE_DEFAULT: {
        sendBatch: async (messages: { body: unknown }[]) => {
          sent.push(...messages.map((m) => m.body));
        },
      },
    } as unknown as typeof env;
    expect(await sweepBroadcasts(db, capture, 10)).toBeGreaterThanOrEqual(5);
    const mine = sent.filter((job) => (job as { broadcastId: number }).broadcastId === lost!.id);
    expect(mine).toEqual([
      { type: "broadcast.dispatch", broadcastId: lost!.id, leadIds: [...ids].sort((a, b) => a - b) },
    ]);
    await deliverConcurrently("prosaas-default", [mine, mine]);
    const rows = await outboundOf(lost!.id);
    expect(rows.map((r) => r.leadId).sort()).toEqual([...ids].sort());
    // Nothing left to sweep for it.
    sent.length = 0;
    await sweepBroadcasts(db, capture, 10);
    expect(sent.filter((job) => (job as { broadcastId: number }).broadcastId === lost!.id)).toEqual([]);
  });
});

describe("validation, roles and tenancy", () => {
  it("refuses bad input with a 400 naming the field, and writes nothing", async () => {
    const tag = `val-${crypto.randomUUID().slice(0, 8)}`;
    await seedLeads(t.businessId, tag, 2);
    await seedLeads(t.businessId, `${tag}-nophone`, 2, { phone: false });
    const before = await broadcastCount(t.businessId);
    const cases: [Record<string, unknown>, string][] = [
      [{ name: "x", template: "Hi {frist_name}", audience: { tag } }, "template"],
      [{ name: "x", template: "On {appointment_date}", audience: { tag } }, "template"],
      [{ name: "", template: "Hi", audience: { tag } }, "name"],
      [{ name: "x", template: "Hi" }, "audience"],
      [{ name: "x", template: "Hi", audience: { tag, colour: "red" } }, "audience.colour"],
      [{ name: "x", template: "Hi", audience: { createdFrom: "yesterday" } }, "audience.createdFrom"],
      [{ name: "x", template: "Hi", audience: { leadIds: [] } }, "audience.leadIds"],
      [{ name: "x", template: "Hi", audience: { tag: "no-such-tag-anywhere" } }, "audience"],
      [{ name: "x", template: "Hi", audience: { tag: `${tag}-nophone` } }, "audience"],
    ];
    for (const [body, field] of cases) {
      const res = await t.admin.request("POST", "/api/broadcasts", body);
      await expectFieldRefused(res, field, JSON.stringify(body));
    }
    expect(await broadcastCount(t.businessId)).toBe(before);
  });

  it("only admins and owners create or control broadcasts; agents may read them", async () => {
    const tag = `role-${crypto.randomUUID().slice(0, 8)}`;
    await seedLeads(t.businessId, tag, 1);
    const res = await t.agent.request("POST", "/api/broadcasts", { name: "x", template: "Hi", audience: { tag } });
    expect(res.status).toBe(403);
    const { broadcast } = await create({ name: "Owner's", template: "Hi", audience: { tag } }, t.owner);
    expect((await t.agent.request("POST", `/api/broadcasts/${broadcast.id}/pause`)).status).toBe(403);
    expect((await t.agent.request("GET", `/api/broadcasts/${broadcast.id}`)).status).toBe(200);
  });

  it("another business's broadcasts and leads are out of reach", async () => {
    const tag = `tenant-${crypto.randomUUID().slice(0, 8)}`;
    const theirLeads = await seedLeads(other.businessId, tag, 3);
    const theirs = await create({ name: "Theirs", template: "Hi", audience: { tag } }, other.admin);
    for (const [method, path] of [
      ["GET", `/api/broadcasts/${theirs.broadcast.id}`],
      ["POST", `/api/broadcasts/${theirs.broadcast.id}/pause`],
      ["POST", `/api/broadcasts/${theirs.broadcast.id}/resume`],
      ["POST", `/api/broadcasts/${theirs.broadcast.id}/cancel`],
    ] as const) {
      expect((await t.admin.request(method, path)).status, path).toBe(404);
    }
    expect((await view(theirs.broadcast.id, other.admin)).broadcast.status).not.toBe("cancelled");
    const list = (await (await t.admin.request("GET", "/api/broadcasts?limit=100")).json()) as {
      broadcasts: { id: number }[];
    };
    expect(list.broadcasts.map((b) => b.id)).not.toContain(theirs.broadcast.id);
    // Their lead ids in my audience match nothing of mine.
    const res = await t.admin.request("POST", "/api/broadcasts", {
      name: "Reach",
      template: "Hi",
      audience: { leadIds: theirLeads },
    });
    expect(res.status).toBe(400);
  });

  it("lists broadcasts newest first with their progress, in pages", async () => {
    const lead = await newLead(t.agent, { tags: ["list-page"] });
    for (const name of ["A", "B", "C"]) await create({ name, template: "Hi", audience: { leadIds: [lead.id] } });
    const first = (await (await t.agent.request("GET", "/api/broadcasts?limit=2")).json()) as {
      broadcasts: { id: number; name: string; progress: Progress }[];
      nextCursor: number | null;
    };
    expect(first.broadcasts.map((b) => b.name)).toEqual(["C", "B"]);
    expect(first.broadcasts[0]!.progress.total).toBe(1);
    const second = (await (
      await t.agent.request("GET", `/api/broadcasts?limit=2&cursor=${first.nextCursor}`)
    ).json()) as {
      broadcasts: { name: string }[];
    };
    expect(second.broadcasts[0]!.name).toBe("A");
  });
});
