/**
 * The local platform as a newcomer uses it: `npm run dev` (a child process, tests/e2e/dev-stack.ts),
 * then first use, scheduled messages, calls and campaigns through HTTP only, with nothing wired by
 * hand; then `npm run bootstrap` against the running stack, the stopped one, and a broken URL.
 * Guards against: bootstrap starting a second Postgres (or an empty one) and exiting 0 on failure;
 * crons that never fire under `npm run dev`; calls whose status callbacks never come (slots held
 * until leases expire); shell settings ignored by the runner.
 */

import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages } from "../../dashboard/src/i18n/messages";
import { runningPostgresPort } from "../../scripts/lib/dev-state";
import { freePort } from "../../scripts/lib/embedded-postgres";
import { launchChromium, newHebrewContext } from "../browser/lib/chromium";
import { uniquePhone } from "../worker/phones";
import { type DevStack, runBootstrap, startDevStack, waitFor } from "./dev-stack";

const he = messages.he;

let stack: DevStack;
let cookie = "";
let businessId = 0;

async function api<T = Record<string, unknown>>(
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${stack.workerUrl}${route}`, {
    method,
    headers: {
      // Writes take only JSON, body-less ones included (the request policy's 415 otherwise).
      ...(method === "GET" ? {} : { "Content-Type": "application/json" }),
      ...(cookie ? { Cookie: cookie } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T, headers: res.headers };
}

async function createLead(firstName: string, phone: string): Promise<number> {
  const res = await api<{ lead: { id: number } }>("POST", "/api/leads", { firstName, phone });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.lead.id;
}

async function metric(name: string): Promise<number | undefined> {
  const res = await fetch(`${stack.workerUrl}/metrics`, { headers: { Authorization: `Bearer ${stack.metricsToken}` } });
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  // Series carry labels (at least the isolate): `name{…} value`.
  const line = (await res.text()).split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

beforeAll(async () => {
  stack = await startDevStack();
}, 300_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

describe("npm run dev, first use", () => {
  it("a fresh install's dashboard opens on first-run setup, which creates the admin and business and signs in", async () => {
    const before = await api("GET", "/api/setup");
    expect(before).toMatchObject({ status: 200, body: { setupRequired: true, tokenRequired: false } });
    // The newcomer opens the dashboard's URL (README) in a browser: the first screen is setup.
    const browser = await launchChromium();
    try {
      const context = await newHebrewContext(browser, { clientIp: "198.51.100.21" });
      const page = await context.newPage();
      await page.goto(`${stack.workerUrl}/`);
      await page.getByRole("heading", { name: he["setup.title"] }).waitFor();
      await page.screenshot({ path: path.resolve(import.meta.dirname, "../../test-artifacts/setup-he.png") });
      await page.getByLabel(he["setup.businessName"]).fill("Local Clinic");
      await page.getByLabel(he["setup.name"]).fill("First Admin");
      await page.getByLabel(he["auth.email"]).fill("first@example.com");
      await page.getByLabel(he["auth.newPassword"]).fill("first admin password");
      await page.getByLabel(he["setup.timezone"]).fill("Asia/Jerusalem");
      await page.getByRole("button", { name: he["setup.create"] }).click();
      // Signed in on the new business's lead book.
      await page.getByRole("heading", { name: he["leads.title"] }).waitFor({ timeout: 30_000 });
      const session = (await context.cookies()).find((c) => c.name === "prosaas_session");
      expect(session).toBeDefined();
      cookie = `prosaas_session=${session!.value}`;
    } finally {
      await browser.close();
    }
    const me = await api<{ user: { role: string }; business: { id: number; name: string } }>("GET", "/api/me");
    expect(me.body.user.role).toBe("system_admin");
    expect(me.body.business.name).toBe("Local Clinic");
    businessId = me.body.business.id;
    // Setup happens once: a second try is refused.
    const again = await api("POST", "/api/setup", {
      email: "second@example.com",
      password: "second admin password",
      businessName: "Another",
      timezone: "Asia/Jerusalem",
    });
    expect(again).toMatchObject({ status: 409, body: { error: { code: "already_set_up" } } });
    // Calls need the business's Twilio number (any E.164 number with the simulator).
    expect((await api("PATCH", "/api/business", { twilioNumber: "+15005550006" })).status).toBe(200);
  });

  it("bootstrap uses the running stack's database (no second Postgres) and its admin can sign in", async () => {
    const result = await runBootstrap(
      ["--admin-email", "boot@example.com", "--admin-password", "bootstrap password 1"],
      { LOCAL_DATA_DIR: stack.dataDir },
    );
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain("using the running npm run dev");
    const login = await fetch(`${stack.workerUrl}/api/auth/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "boot@example.com", password: "bootstrap password 1" }),
    });
    expect(login.status).toBe(200);
  }, 60_000);

  it("the runner passes Worker settings from the shell on (METRICS_TOKEN enables /metrics)", async () => {
    expect(await metric("prosaas_calls_platform_capacity")).toBe(50);
    const anonymous = await fetch(`${stack.workerUrl}/metrics`);
    expect(anonymous.status).toBe(401);
  });
});

describe("npm run dev, product journeys with nothing wired by hand", () => {
  let leadId = 0;

  it("a scheduled message goes out within a minute of its time, fired by the runner's cron", async () => {
    leadId = await createLead("Dana", uniquePhone());
    expect((await api("POST", "/api/whatsapp/connect")).status).toBe(200);
    // "Scan the QR": the fake driver's pair route, with the shard secret from LOCAL_DATA_DIR.
    const shard = (route: string, init?: RequestInit) =>
      fetch(`${stack.shardUrl}/_fake/sessions/${businessId}${route}`, {
        ...init,
        headers: { Authorization: `Bearer ${stack.shardSecret()}`, "Content-Type": "application/json" },
      });
    expect(
      (await shard("/pair", { method: "POST", body: JSON.stringify({ phoneNumber: "972500000001" }) })).status,
    ).toBe(200);
    await waitFor(
      "WhatsApp open",
      async () => {
        const status = await api<{ session?: { state?: string } }>("GET", "/api/whatsapp/status");
        return status.body.session?.state === "open" ? true : undefined;
      },
      30_000,
    );

    const sendAt = new Date(Date.now() + 3_000);
    const created = await api<{ scheduledMessage: { id: number } }>("POST", "/api/scheduled-messages", {
      leadId,
      template: "Hello {first_name}, see you soon",
      sendAt: sendAt.toISOString(),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const sentAt = await waitFor(
      "the scheduled message at the fake WhatsApp",
      async () => {
        const res = await shard("/sent");
        const { sent } = (await res.json()) as { sent: { text: string }[] };
        return sent.some((m) => m.text === "Hello Dana, see you soon") ? Date.now() : undefined;
      },
      150_000,
      1_000,
    );
    // The cron fires on the minute, so within 60 s of sendAt the message is claimed; the queue and
    // the send throttle add seconds, hence the margin.
    expect(sentAt - sendAt.getTime()).toBeLessThan(90_000);
    expect(stack.output()).toMatch(/cron "\* \* \* \* \*" fired for .*: 200 /);
  }, 180_000);

  it("a call rings, is answered, completes through signed callbacks, and frees its slot", async () => {
    const placed = await api<{ callLogId: number; callSid: string }>("POST", "/api/calls", { leadId });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    const call = await waitFor(
      "the call completed",
      async () => {
        const res = await api<{ call: { status: string } }>("GET", `/api/calls/${placed.body.callLogId}`);
        return res.body.call.status === "completed" ? res.body.call : undefined;
      },
      60_000,
    );
    expect(call.status).toBe("completed");
    const simulated = (await (await fetch(`${stack.simulatorUrl}/__control/calls`)).json()) as {
      sid: string;
      callbacks: { status: string; httpStatus: number | null }[];
    }[];
    const ours = simulated.find((c) => c.sid === placed.body.callSid)!;
    // Every progress callback reached the Worker and passed its signature check.
    expect(ours.callbacks).toEqual(
      ["initiated", "ringing", "in-progress", "completed"].map((status) =>
        expect.objectContaining({ status, httpStatus: 204 }),
      ),
    );
    await waitFor(
      "the slot freed",
      async () => ((await metric("prosaas_calls_platform_active")) === 0 ? true : undefined),
      15_000,
    );
  }, 90_000);

  it("a 10-lead campaign finishes, every lead called once, no slot left held", async () => {
    const leadIds: number[] = [];
    const leadPhones = Array.from({ length: 10 }, () => uniquePhone());
    for (const [i, phone] of leadPhones.entries()) leadIds.push(await createLead(`Lead${i}`, phone));
    const created = await api<{ campaign: { id: number } }>("POST", "/api/campaigns", {
      name: "Local campaign",
      audience: { leadIds },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const done = await waitFor(
      "the campaign completed",
      async () => {
        const res = await api<{
          campaign: { status: string; jobs: Record<string, number> };
          slots: { active: number };
        }>("GET", `/api/campaigns/${created.body.campaign.id}`);
        return res.body.campaign.status === "completed" ? res.body : undefined;
      },
      120_000,
      1_000,
    );
    expect(done.campaign.jobs.completed).toBe(10);
    expect(done.slots.active).toBe(0);
    const simulated = (await (await fetch(`${stack.simulatorUrl}/__control/calls`)).json()) as { to: string }[];
    const phones = simulated.map((c) => c.to).filter((to) => leadPhones.includes(to));
    expect(new Set(phones).size).toBe(10);
    expect(phones).toHaveLength(10);
  }, 150_000);
});

describe("npm run bootstrap without a running stack", () => {
  it("starts the stopped stack's database itself, creates the admin, and stops it again", async () => {
    await stack.stop();
    expect(existsSync(path.join(stack.dataDir, "dev-state.json"))).toBe(false);
    const env = { LOCAL_DATA_DIR: stack.dataDir, LOCAL_PG_PORT: String(await freePort()) };
    const args = ["--admin-email", "offline@example.com", "--admin-password", "offline password 1"];
    const first = await runBootstrap(args, env);
    expect(first.code, first.output).toBe(0);
    expect(first.output).toContain("started for this command");
    expect(runningPostgresPort(path.join(stack.dataDir, "postgres"))).toBeNull();
    // The same database again (the admin is there), not a new empty cluster.
    const again = await runBootstrap(args, env);
    expect(again.code).not.toBe(0);
    expect(again.output).toContain("already exists");
  }, 120_000);

  it("exits non-zero with a clear message on a broken DATABASE_URL", async () => {
    const result = await runBootstrap(["--admin-email", "x@example.com", "--admin-password", "0123456789ab"], {
      DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${await freePort()}/nowhere`,
    });
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/bootstrap: cannot reach the database at 127\.0\.0\.1:\d+/);
  }, 60_000);

  it("exits non-zero, creating nothing, where there is no development database", async () => {
    const empty = await mkdtemp(path.join(tmpdir(), "prosaas-e2e-empty-"));
    const result = await runBootstrap(["--admin-email", "x@example.com", "--admin-password", "0123456789ab"], {
      LOCAL_DATA_DIR: empty,
    });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain("no development database");
    expect(existsSync(path.join(empty, "postgres"))).toBe(false);
  }, 60_000);
});
