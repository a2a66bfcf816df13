import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { businessSettings } from "../../worker/db/schema";
import { createSystemAdmin, createTenant, type Tenant } from "./fixtures";
import { callWithSettings, errorOf, testDb } from "./helpers";

const { db, close } = testDb();
let a: Tenant;
let b: Tenant;
beforeAll(async () => {
  [a, b] = await Promise.all([createTenant(db, "Settings A"), createTenant(db, "Settings B")]);
});
afterAll(close);

interface SettingsBody {
  settings: { outboundCallCap: number; reminderLeadMinutes: number; waQuietHoursStart: string | null };
  effective: { outboundCallCap: number };
}

describe("business settings", () => {
  it("starts from the defaults and an owner's update is visible at once", async () => {
    const before = (await (await a.admin.request("GET", "/api/settings")).json()) as SettingsBody;
    expect(before.settings).toMatchObject({ outboundCallCap: 3, reminderLeadMinutes: 1440 });
    const res = await a.owner.request("PATCH", "/api/settings", {
      outboundCallCap: 5,
      waQuietHoursStart: "22:00",
      waQuietHoursEnd: "08:00",
    });
    expect(res.status).toBe(200);
    const after = (await (await a.admin.request("GET", "/api/settings")).json()) as SettingsBody;
    expect(after.settings).toMatchObject({ outboundCallCap: 5, waQuietHoursStart: "22:00" });
  });

  it("is cached per business: one business's update never shows in another's", async () => {
    await a.owner.request("PATCH", "/api/settings", { reminderLeadMinutes: 30 });
    const other = (await (await b.admin.request("GET", "/api/settings")).json()) as SettingsBody;
    expect(other.settings.reminderLeadMinutes).toBe(1440);
  });

  it("serves the cached value until the TTL, then reloads in the background (a write that bypassed the API)", async () => {
    const stub = env.BUSINESS_DO.getByName(`business:${b.businessId}`);
    const now = Date.now();
    expect((await stub.settings(b.businessId, now)).waDailyCap).toBe(1000);
    await db.update(businessSettings).set({ waDailyCap: 77 }).where(eq(businessSettings.businessId, b.businessId));
    expect((await stub.settings(b.businessId, now + 1_000)).waDailyCap).toBe(1000);
    // Past the TTL nobody waits for Postgres: the old value answers while one load refreshes it,
    // and the reads after it see the write.
    expect((await stub.settings(b.businessId, now + 61_000)).waDailyCap).toBe(1000);
    await expect.poll(async () => (await stub.settings(b.businessId, now + 62_000)).waDailyCap).toBe(77);
  });

  it("refuses a call cap above the platform maximum, naming the field", async () => {
    const res = await a.owner.request("PATCH", "/api/settings", { outboundCallCap: 51 });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toContain("outboundCallCap");
  });

  it("reports the effective cap under a lower platform maximum", async () => {
    const res = await callWithSettings({ MAX_CONCURRENT_CALLS: "4" }, "/api/settings", {
      headers: { Cookie: a.admin.cookie },
    });
    const body = (await res.json()) as SettingsBody;
    expect(body.settings.outboundCallCap).toBe(5);
    expect(body.effective.outboundCallCap).toBe(4);
  });

  it("refuses bad values and half a quiet-hours window, changing nothing", async () => {
    for (const body of [
      { waQuietHoursStart: "25:00", waQuietHoursEnd: "08:00" },
      { waQuietHoursStart: "22:00" },
      { inboundCallAction: { type: "forward", to: "123" } },
      {},
    ]) {
      const res = await a.owner.request("PATCH", "/api/settings", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    const after = (await (await a.admin.request("GET", "/api/settings")).json()) as SettingsBody;
    expect(after.settings.waQuietHoursStart).toBe("22:00");
  });

  it("names a nested unknown field with the fields known at that level", async () => {
    const res = await a.owner.request("PATCH", "/api/settings", { workingHours: { sunday: [["09:00", "17:00"]] } });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe("validation_failed");
    const fields = (error.details as { fields: { field: string; message: string }[] }).fields;
    expect(fields).toEqual([
      {
        field: "workingHours.sunday",
        message: "is not a known field (known fields: sun, mon, tue, wed, thu, fri, sat)",
      },
    ]);
  });
});

describe("feature flags", () => {
  it("platform defaults apply to every business until a business override says otherwise", async () => {
    const flags = async (t: Tenant) =>
      (
        (await (await t.agent.request("GET", "/api/feature-flags")).json()) as {
          flags: Record<string, { enabled: boolean; source: string }>;
        }
      ).flags;
    expect((await flags(a)).call_recording).toEqual({ enabled: false, source: "default" });

    const sysAdmin = await createSystemAdmin(db, a.businessId);
    expect((await sysAdmin.request("PUT", "/api/admin/feature-flags/call_recording", { enabled: true })).status).toBe(
      204,
    );
    expect((await flags(a)).call_recording).toEqual({ enabled: true, source: "platform" });
    expect((await flags(b)).call_recording).toEqual({ enabled: true, source: "platform" });

    expect((await sysAdmin.request("PUT", "/api/feature-flags/call_recording", { enabled: false })).status).toBe(200);
    expect((await flags(a)).call_recording).toEqual({ enabled: false, source: "business" });
    expect((await flags(b)).call_recording).toEqual({ enabled: true, source: "platform" });

    await sysAdmin.request("PUT", "/api/feature-flags/call_recording", { enabled: null });
    await sysAdmin.request("PUT", "/api/admin/feature-flags/call_recording", { enabled: null });
    expect((await flags(a)).call_recording).toEqual({ enabled: false, source: "default" });
  });
});
