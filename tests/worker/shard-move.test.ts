/**
 * Moving a business's WhatsApp session between two real shard nodes. The property that matters:
 * at no moment are two sessions for the business live (open) on different shards.
 */
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { createSystemAdmin, createTenant } from "./fixtures";
import { callWithSettings, errorOf, testDb } from "./helpers";
import { shardNode } from "./whatsapp-helpers";

const { db, close } = testDb();
afterAll(close);

async function stateOn(n: 1 | 2, businessId: number): Promise<string | null> {
  const res = await shardNode(n)("GET", `/sessions/${businessId}`);
  return res.status === 200 ? res.body.state : null;
}

describe("shard moves", () => {
  it("closes the session on the old shard before starting it on the new one, and never shows two live sessions", async () => {
    const tenant = await createTenant(db, "Moving business");
    await db.execute(sql`update businesses set whatsapp_shard = 1 where id = ${tenant.businessId}`);
    const connect = (await (await tenant.owner.request("POST", "/api/whatsapp/connect")).json()) as { shard: number };
    expect(connect.shard).toBe(1);
    await shardNode(1)("POST", `/_fake/sessions/${tenant.businessId}/pair`, { phoneNumber: "972500000002" });
    expect(await stateOn(1, tenant.businessId)).toBe("open");

    // Watch both shards while the move runs.
    const seen: [string | null, string | null][] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        seen.push([await stateOn(1, tenant.businessId), await stateOn(2, tenant.businessId)]);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const admin = await createSystemAdmin(db, tenant.businessId);
    const res = await admin.request("POST", "/api/admin/whatsapp/move", { shard: 2 });
    watching = false;
    await watcher;
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      assignment: { shard: number; fencingToken: number };
      session: { state: string };
    };
    expect(body.assignment).toMatchObject({ shard: 2, fencingToken: 2 });
    expect(body.session.state).toMatch(/connecting|qr/);

    expect(await stateOn(1, tenant.businessId)).toBe("logged_out");
    seen.push([await stateOn(1, tenant.businessId), await stateOn(2, tenant.businessId)]);
    for (const [one, two] of seen) expect(one === "open" && two !== null && two !== "logged_out").toBe(false);

    // The business is now served by shard 2: status and connect go there.
    const status = (await (await tenant.owner.request("GET", "/api/whatsapp/status")).json()) as { shard: number };
    expect(status.shard).toBe(2);
    const [row] = (
      await db.execute<{ whatsapp_shard: number }>(
        sql`select whatsapp_shard from businesses where id = ${tenant.businessId}`,
      )
    ).rows;
    expect(row!.whatsapp_shard).toBe(2);
  });

  it("a move whose old shard does not answer starts nothing on the new shard, and can be retried", async () => {
    const tenant = await createTenant(db, "Stuck move business");
    await db.execute(sql`update businesses set whatsapp_shard = 1 where id = ${tenant.businessId}`);
    const admin = await createSystemAdmin(db, tenant.businessId);
    const down = await callWithSettings({ BAILEYS_SHARD_1_URL: "http://127.0.0.1:9" }, "/api/admin/whatsapp/move", {
      method: "POST",
      headers: { Cookie: admin.cookie, "Content-Type": "application/json" },
      body: JSON.stringify({ shard: 2 }),
    });
    expect(down.status).toBe(502);
    expect((await errorOf(down)).message).toContain("nothing was started on shard 2");
    expect(await stateOn(2, tenant.businessId)).toBeNull();

    // While the move is pending, connecting is refused (no socket may start anywhere).
    expect((await tenant.owner.request("POST", "/api/whatsapp/connect")).status).toBe(409);

    const retried = await admin.request("POST", "/api/admin/whatsapp/move", { shard: 2 });
    expect(retried.status).toBe(200);
    expect(((await retried.json()) as { assignment: { shard: number } }).assignment.shard).toBe(2);
  });

  it("refuses a shard outside the configured range, naming the field", async () => {
    const tenant = await createTenant(db, "Out of range business");
    const admin = await createSystemAdmin(db, tenant.businessId);
    const res = await admin.request("POST", "/api/admin/whatsapp/move", {
      shard: Number(env.BAILEYS_NUM_SHARDS ?? 2) + 5,
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toContain("shard");
    expect((await tenant.owner.request("POST", "/api/admin/whatsapp/move", { shard: 2 })).status).toBe(403);
  });
});
