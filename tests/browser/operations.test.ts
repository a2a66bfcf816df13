/**
 * The dashboard's operations pages in a real browser against the real local stack (scripts/dev.ts
 * with two fake WhatsApp shards and the Twilio simulator): a 50-lead campaign watched to the end
 * without a reload while the call gauge never passes the cap, a second run paused and resumed, a
 * broadcast to 20 leads previewed with {first_name} and seen complete, an appointment booked in
 * Hebrew with its reminder queued at the business-clock time, and a system admin moving a business
 * to the other shard. Screenshots of every page (Hebrew, English, phone width) go to test-artifacts/.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addDays, zonedInstant, zonedParts } from "../../dashboard/src/format/dates";
import { messages } from "../../dashboard/src/i18n/messages";
import { launchChromium, newHebrewContext } from "./lib/chromium";
import { ARTIFACTS, PAGE_OVERFLOW, shot } from "./lib/screens";
import { fakeSession } from "./lib/shard";
import { clientHeaders, openBusiness, SYSTEM_ADMIN, sharedStack, systemAdminCookie } from "./lib/shared-stack";
import type { LocalStack } from "./lib/stack";

const he = messages.he;
const en = messages.en;
const PASSWORD = "browser-pass-123";
const OWNER = "owner-operations@example.com";
const BUSINESS = "מספרת רותי";
/** This file's client address (see lib/shared-stack.ts). */
const CLIENT_IP = "198.51.100.12";
let BUSINESS_ID: number;
const TZ = "Asia/Jerusalem";
const POLL = { timeout: 30_000 };

let stack: LocalStack;
let browser: Browser;
let owner: BrowserContext;
let page: Page;

const fill = (template: string, params: Record<string, string | number>) =>
  template.replace(/\{(\w+)\}/g, (whole, k: string) => (k in params ? String(params[k]) : whole));

async function signIn(p: Page, email: string, landing: string, password = PASSWORD) {
  await p.goto(`${stack.baseUrl}/`);
  await p.getByLabel(he["auth.email"]).fill(email);
  await p.getByLabel(he["auth.password"]).fill(password);
  await p.getByRole("button", { name: he["auth.signIn"] }).click();
  await p.getByRole("navigation", { name: he["nav.menu"] }).getByRole("link", { name: landing }).waitFor();
}

/** The API as the signed-in page (its cookie, its origin). */
async function api(p: Page, method: string, url: string, data?: unknown, contentType = "application/json") {
  const res = await p.request.fetch(`${stack.baseUrl}${url}`, {
    method,
    headers: { origin: stack.baseUrl, "content-type": contentType },
    data: typeof data === "string" ? data : data === undefined ? undefined : JSON.stringify(data),
  });
  if (!res.ok()) throw new Error(`${method} ${url}: ${res.status()} ${await res.text()}`);
  return res.status() === 204 ? null : ((await res.json()) as Record<string, unknown>);
}

/** Signs in as the system admin outside the browser, acts on the business, and makes one API call. */
async function asSystemAdmin(method: string, url: string, data: unknown) {
  const headers = { origin: stack.baseUrl, "content-type": "application/json", ...clientHeaders(CLIENT_IP) };
  const cookie = await systemAdminCookie(stack, CLIENT_IP);
  for (const [m, u, body] of [
    ["POST", "/api/admin/act-as", { businessId: BUSINESS_ID }],
    [method, url, data],
  ] as const) {
    const res = await fetch(`${stack.baseUrl}${u}`, {
      method: m,
      headers: { ...headers, cookie },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${m} ${u}: ${res.status} ${await res.text()}`);
  }
}

/** Pairs the business's fake WhatsApp session on whichever shard holds it. */
async function pairOnItsShard(): Promise<void> {
  await fakeSession(stack, BUSINESS_ID, "POST", "/pair", { phoneNumber: "972541112233" });
}

/** The simulator's settings before this file changed them: put back after, since the stack is shared. */
let twilioDefaults: Record<string, unknown> | undefined;

async function twilio(settings: Record<string, unknown>) {
  twilioDefaults ??= (await (await fetch(`${stack.twilioUrl}/__control/settings`)).json()) as Record<string, unknown>;
  const res = await fetch(`${stack.twilioUrl}/__control/settings`, {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(settings),
  });
  if (!res.ok) throw new Error(`twilio settings: ${res.status} ${await res.text()}`);
}

/** Leads through the CSV import: `count` with unique Israeli mobiles, `noPhone` more without one. */
async function importLeads(p: Page, source: string, count: number, firstNames: string[], prefix: string, noPhone = 0) {
  const rows = ["first_name,last_name,phone,source"];
  for (let i = 0; i < count; i++) {
    rows.push(`${firstNames[i % firstNames.length]},${source}-${i},${prefix}${String(i).padStart(4, "0")},${source}`);
  }
  for (let i = 0; i < noPhone; i++) rows.push(`בלי,טלפון-${i},,${source}`);
  const result = await api(p, "POST", "/api/leads/import/commit?onDuplicate=skip", rows.join("\n"), "text/csv");
  expect(result).toMatchObject({ created: count + noPhone });
}

async function progressOf(p: Page, testId: string): Promise<[number, number]> {
  const bar = p.getByTestId(testId);
  return [Number(await bar.getAttribute("aria-valuenow")), Number(await bar.getAttribute("aria-valuemax"))];
}

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
  // The shared stack runs two shards and Twilio's calls per second at 20 (lib/global-stack.ts).
  stack = sharedStack();
  BUSINESS_ID = await openBusiness(stack, {
    name: BUSINESS,
    ownerEmail: OWNER,
    password: PASSWORD,
    clientIp: CLIENT_IP,
  });
  owner = await newContext();
  page = await owner.newPage();
}, 420_000);

/** Not the business's zone: what the pages show must follow the business's clock, not the browser's. */
function newContext(): Promise<BrowserContext> {
  return newHebrewContext(browser, { clientIp: CLIENT_IP, timeZone: "America/New_York" });
}

afterAll(async () => {
  await browser?.close();
  if (twilioDefaults) await twilio(twilioDefaults);
}, 60_000);

describe.sequential("operations journeys", () => {
  it("an owner runs a 50-lead campaign to done without a reload; the gauge never shows more than the cap", {
    timeout: 300_000,
  }, async () => {
    await signIn(page, OWNER, he["nav.campaigns"]);
    // Only a system admin assigns the business its Twilio number.
    await asSystemAdmin("PATCH", "/api/business", { twilioNumber: "+15005550006" });
    await importLeads(page, "camp50", 50, ["דנה", "יוסי", "מירב", "אבי"], "054700", 2);
    // Every call answered quickly, so the run is about the dashboard, not the wait.
    await twilio({
      auto: true,
      initiateMs: 100,
      ringMs: 300,
      talkMs: 700,
      noAnswerRate: 0,
      busyRate: 0,
      failedRate: 0,
      machineRate: 0,
    });

    await page.goto(`${stack.baseUrl}/campaigns`);
    await page.getByRole("heading", { name: he["campaigns.title"] }).waitFor();
    await page.getByRole("button", { name: he["campaigns.new"] }).click();
    const dialog = page.getByRole("dialog", { name: he["campaigns.new"] });
    await dialog.getByLabel(he["campaigns.name"]).fill("חמישים לקוחות");
    await dialog.getByLabel(he["leads.source"]).fill("camp50");
    // The counts come before anything is created: 50 to dial, the 2 without a phone skipped.
    await expect
      .poll(() => dialog.getByTestId("campaign-preview").textContent(), POLL)
      .toBe(fill(he["campaigns.previewCounts"], { dial: 50, skipped: 2 }));
    await shot(page, "campaign-new-he");
    await dialog.getByRole("button", { name: he["campaigns.create"] }).click();
    await page.getByTestId("campaign-detail").waitFor();
    await expect.poll(() => page.getByTestId("live-status").getAttribute("data-live"), POLL).toBe("open");
    const url = page.url();

    // Sample the gauge while the run goes: it must never show more active calls than the cap.
    const samples: [number, number][] = [];
    const sampler = (async () => {
      for (;;) {
        const status = await page.getByTestId("campaign-detail").getAttribute("data-status");
        const gauge = page.getByTestId("gauge-business");
        if ((await gauge.count()) > 0) {
          samples.push([Number(await gauge.getAttribute("data-active")), Number(await gauge.getAttribute("data-cap"))]);
        }
        if (status === "completed" || status === "failed" || status === "cancelled") return;
        await page.waitForTimeout(150);
      }
    })();
    let shotTaken = false;
    await expect
      .poll(
        async () => {
          const [done, total] = await progressOf(page, "campaign-progress");
          if (!shotTaken && done > 5) {
            shotTaken = true;
            await page.screenshot({ path: path.join(ARTIFACTS, "campaign-running-he.png") });
          }
          return `${done}/${total} ${await page.getByTestId("campaign-detail").getAttribute("data-status")}`;
        },
        { timeout: 240_000, interval: 500 },
      )
      .toBe("50/50 completed");
    await sampler;
    // The same page, never reloaded: everything above came through the live channel (and its refetches).
    expect(page.url()).toBe(url);
    expect(await page.getByTestId("campaign-status").textContent()).toBe(he["run.status.completed"]);
    expect(await page.getByTestId("campaign-counts").locator('[data-state="completed"] dd').textContent()).toBe("50");
    const busy = samples.filter(([active]) => active > 0);
    console.log(
      `gauge samples: ${samples.length}, with calls: ${busy.length}, max active ${Math.max(...samples.map((s) => s[0]))} of cap ${samples[0]?.[1]}`,
    );
    expect(busy.length).toBeGreaterThan(0);
    for (const [active, cap] of samples) expect(active).toBeLessThanOrEqual(cap);
    await shot(page, "campaign-done-he");
  });

  it("pauses a second run (confirmed first), sees it hold, and resumes it to the end", {
    timeout: 240_000,
  }, async () => {
    await importLeads(page, "camp-b", 12, ["רונית", "משה"], "052200");
    // Every call answered, and long: the run is still dialing when it is paused.
    await twilio({
      auto: true,
      initiateMs: 100,
      ringMs: 300,
      talkMs: 4_000,
      noAnswerRate: 0,
      busyRate: 0,
      failedRate: 0,
      machineRate: 0,
    });
    await page.goto(`${stack.baseUrl}/campaigns`);
    await page.getByRole("button", { name: he["campaigns.new"] }).click();
    const dialog = page.getByRole("dialog", { name: he["campaigns.new"] });
    await dialog.getByLabel(he["campaigns.name"]).fill("ריצה שנייה");
    await dialog.getByLabel(he["leads.source"]).fill("camp-b");
    await expect
      .poll(() => dialog.getByTestId("campaign-preview").textContent(), POLL)
      .toBe(fill(he["campaigns.previewCounts"], { dial: 12, skipped: 0 }));
    await dialog.getByLabel(he["campaigns.maxAttempts"]).fill("2");
    await dialog.getByRole("button", { name: he["campaigns.create"] }).click();
    const detail = page.getByTestId("campaign-detail");
    await detail.waitFor();
    await expect.poll(() => detail.getAttribute("data-status"), POLL).toBe("running");

    await page.getByRole("button", { name: he["run.pause"], exact: true }).click();
    const confirm = page.getByRole("dialog", { name: he["run.pause"] });
    await confirm.getByText(fill(he["campaigns.confirm.pause"], { name: "ריצה שנייה" })).waitFor();
    await confirm.getByRole("button", { name: he["run.pause"] }).click();
    await expect.poll(() => detail.getAttribute("data-status"), POLL).toBe("paused");
    // Calls in progress finish; nothing new is dialed: the waiting jobs stay waiting.
    await expect
      .poll(
        () =>
          page
            .getByTestId("campaign-counts")
            .locator('[data-state="inCall"] dd, [data-state="dialing"] dd')
            .allTextContents(),
        {
          timeout: 60_000,
        },
      )
      .toEqual(["0", "0"]);
    const waiting = Number(await page.getByTestId("campaign-counts").locator('[data-state="queued"] dd').textContent());
    expect(waiting).toBeGreaterThan(0);
    const [doneAtPause] = await progressOf(page, "campaign-progress");
    expect(doneAtPause).toBeLessThan(12);
    await shot(page, "campaign-paused-he");

    await twilio({ talkMs: 500 });
    await page.getByRole("button", { name: he["run.resume"], exact: true }).click();
    await page.getByRole("dialog", { name: he["run.resume"] }).getByRole("button", { name: he["run.resume"] }).click();
    await expect
      .poll(
        async () => `${(await progressOf(page, "campaign-progress"))[0]} ${await detail.getAttribute("data-status")}`,
        {
          timeout: 180_000,
          interval: 500,
        },
      )
      .toBe("12 completed");

    // Both runs in the list with their states.
    await page.goto(`${stack.baseUrl}/campaigns`);
    const list = page.getByTestId("campaign-list");
    await list.getByText("ריצה שנייה").waitFor();
    expect(await list.locator('li[data-status="completed"]').count()).toBe(2);
    await shot(page, "campaigns-he");
    await page.goto(`${stack.baseUrl}/calls`);
    await page.getByTestId("call-log").waitFor();
    await shot(page, "calls-he");
  });

  it("a broadcast to 20 leads is composed with a {first_name} preview, sent, and seen complete", {
    timeout: 240_000,
  }, async () => {
    // WhatsApp connected (the fake shard's phone scans), and the send pace at its maximum.
    await api(page, "POST", "/api/whatsapp/connect");
    // The session is on the business's shard (one of two): the phone scans there.
    await pairOnItsShard();
    await api(page, "PATCH", "/api/settings", { waMessagesPerMinute: 60 });
    await importLeads(page, "bc20", 20, ["שירה", "נועם", "תמר", "איתי", "ליה"], "052300");

    await page.goto(`${stack.baseUrl}/broadcasts`);
    await page.getByRole("button", { name: he["broadcasts.new"] }).click();
    const dialog = page.getByRole("dialog", { name: he["broadcasts.new"] });
    await dialog.getByLabel(he["broadcasts.name"]).fill("מבצע חורף");
    await dialog.getByLabel(he["broadcasts.template"]).fill("שלום , מבצע חורף במספרה!");
    // The variable goes in where the cursor is (after "שלום ").
    await dialog
      .getByLabel(he["broadcasts.template"])
      .evaluate((el) => (el as unknown as { setSelectionRange(a: number, b: number): void }).setSelectionRange(5, 5));
    await dialog.getByRole("button", { name: "{first_name}" }).click();
    await expect
      .poll(() => dialog.getByLabel(he["broadcasts.template"]).inputValue())
      .toBe("שלום {first_name}, מבצע חורף במספרה!");
    await dialog.getByLabel(he["leads.source"]).fill("bc20");
    const preview = dialog.getByTestId("broadcast-preview");
    await expect
      .poll(() => preview.textContent(), POLL)
      .toContain(fill(he["broadcasts.audienceCount"], { recipients: 20, skipped: 0 }));
    // A real lead of the audience (the first by id), its own name filled in.
    await expect
      .poll(() => dialog.getByTestId("broadcast-sample").textContent(), POLL)
      .toBe("שלום שירה, מבצע חורף במספרה!");
    await shot(page, "broadcast-compose-he");
    await dialog.getByRole("button", { name: he["broadcasts.send"] }).click();

    const detail = page.getByTestId("broadcast-detail");
    await detail.waitFor();
    await expect
      .poll(
        async () =>
          `${(await progressOf(page, "broadcast-progress")).join("/")} ${await detail.getAttribute("data-status")}`,
        {
          timeout: 180_000,
          interval: 500,
        },
      )
      .toBe("20/20 completed");
    expect(await page.getByTestId("broadcast-counts").locator('[data-state="sent"] dd').textContent()).toBe("20");
    await shot(page, "broadcast-done-he");

    // The shard sent each lead its own message, once.
    const sent = (await fakeSession(stack, BUSINESS_ID, "GET", "/sent")).sent as {
      text: string;
    }[];
    const ours = sent.filter((m) => m.text.endsWith("מבצע חורף במספרה!"));
    expect(ours).toHaveLength(20);
    expect(new Set(ours.map((m) => m.text))).toEqual(
      new Set(["שירה", "נועם", "תמר", "איתי", "ליה"].map((n) => `שלום ${n}, מבצע חורף במספרה!`)),
    );
  });

  it("an appointment booked in Hebrew shows its reminder queued at the business-clock time", async () => {
    await page.goto(`${stack.baseUrl}/appointments`);
    await page.getByRole("heading", { name: he["appt.title"] }).waitFor();
    expect(await page.evaluate("document.documentElement.dir")).toBe("rtl");
    // Tomorrow on the business's clock (the browser runs on New York time).
    const day = addDays(zonedParts(new Date(), TZ).date, 1);
    await page.getByRole("button", { name: he["appt.new"] }).click();
    const dialog = page.getByRole("dialog", { name: he["appt.new"] });
    await dialog.getByLabel(he["scheduled.leadLabel"]).fill("שירה");
    await dialog.getByRole("button", { name: /^שירה bc20-0$/ }).click();
    await dialog.getByLabel(he["appt.titleLabel"]).fill("תספורת");
    await dialog.getByLabel(he["common.date"]).fill(day);
    await dialog.getByLabel(he["common.time"]).fill("10:00");
    await dialog.getByLabel(he["appt.reminderBefore"]).selectOption("60");
    expect(await dialog.getByTestId("reminder-preview").textContent()).toBe(
      fill(he["appt.reminderAt"], { time: `${day} 09:00` }),
    );
    await dialog.getByRole("button", { name: he["appt.book"] }).click();

    const saved = dialog.getByTestId("appointment-saved");
    await saved.waitFor();
    const reminder = saved.getByTestId("reminder");
    expect(await reminder.getAttribute("data-state")).toBe("pending");
    expect(await reminder.getAttribute("data-due-local")).toBe(`${day} 09:00`);
    expect(await reminder.textContent()).toContain(he["appt.reminder.pending"].split("{time}")[0]!);
    // Hebrew writes the hour without a leading zero.
    expect(await reminder.textContent()).toMatch(/\b9:00\b/);
    await shot(page, "appointment-booked-he");
    await dialog.getByRole("button", { name: he["common.close"] }).last().click();

    // In the week's calendar, at 10:00 business time, with the same reminder line.
    const card = page.getByTestId("calendar").getByTestId("appointment").filter({ hasText: "תספורת" });
    await expect.poll(() => card.textContent(), POLL).toContain("10:00");
    expect(await card.getByTestId("reminder").getAttribute("data-due-local")).toBe(`${day} 09:00`);
    // The API agrees: the reminder is due at 09:00 in Jerusalem.
    const list = (await api(page, "GET", "/api/appointments")) as {
      appointments: { title: string; reminderDueAt: string }[];
    };
    const appt = list.appointments.find((a) => a.title === "תספורת")!;
    expect(new Date(appt.reminderDueAt).toISOString()).toBe(zonedInstant(day, "09:00", TZ).toISOString());
    await shot(page, "appointments-he");
  });

  it("a system admin moves the business to the other shard and sees the move finish", async () => {
    const context = await newContext();
    const admin = await context.newPage();
    await signIn(admin, SYSTEM_ADMIN.email, he["nav.admin"], SYSTEM_ADMIN.password);
    await admin.goto(`${stack.baseUrl}/admin`);
    await admin.getByRole("heading", { name: he["admin.title"] }).waitFor();
    // Both shards healthy, with their session counts.
    await expect.poll(() => admin.getByTestId("shard-list").locator('li[data-status="ok"]').count(), POLL).toBe(2);
    await admin
      .getByTestId("business-list")
      .locator("li", { hasText: BUSINESS })
      .getByRole("button", { name: he["admin.actAs"] })
      .click();
    await expect
      .poll(() => admin.getByTestId("acting-as").textContent(), POLL)
      .toBe(fill(he["admin.actingAs"], { name: BUSINESS }));
    const current = admin.getByTestId("current-shard");
    await current.waitFor();
    const from = Number(await current.getAttribute("data-shard"));
    const to = from === 1 ? 2 : 1;
    await shot(admin, "admin-he");

    await admin.getByRole("button", { name: he["admin.moveButton"], exact: true }).click();
    const confirm = admin.getByRole("dialog", { name: he["admin.move"] });
    await confirm.getByText(fill(he["admin.moveConfirm"], { from, to })).waitFor();
    await confirm.getByRole("button", { name: he["admin.moveButton"] }).click();
    await expect
      .poll(() => admin.getByTestId("move-outcome").textContent(), POLL)
      .toBe(fill(he["admin.moveDone"], { shard: to }));
    await expect.poll(() => current.getAttribute("data-shard"), POLL).toBe(String(to));
    expect(await admin.getByTestId("move-stuck").count()).toBe(0);
    await shot(admin, "admin-moved-he");

    // English and phone width for the admin page too.
    await admin.getByRole("button", { name: "English" }).first().click();
    await admin.getByRole("heading", { name: en["admin.title"] }).waitFor();
    await shot(admin, "admin-en");
    await admin.getByRole("button", { name: "עברית" }).first().click();
    await admin.getByRole("heading", { name: he["admin.title"] }).waitFor();
    await admin.setViewportSize({ width: 390, height: 844 });
    await shot(admin, "admin-phone-he");
    expect(await admin.evaluate(PAGE_OVERFLOW), "/admin on a 390 px phone").toEqual({
      scrollsSideways: false,
      outside: [],
    });
    await context.close();
  });

  it("every operations page renders in English and Hebrew, and at phone width without sideways scrolling", {
    timeout: 300_000,
  }, async () => {
    // Something scheduled, so the list is not empty.
    const day = addDays(zonedParts(new Date(), TZ).date, 2);
    const leads = (await api(page, "GET", "/api/leads?q=%D7%A9%D7%99%D7%A8%D7%94")) as { leads: { id: number }[] };
    await api(page, "POST", "/api/scheduled-messages", {
      leadId: leads.leads[0]!.id,
      template: "נתראה מחר, {first_name}!",
      date: day,
      time: "08:30",
    });
    const pages: [string, keyof typeof en][] = [
      ["calls", "calls.title"],
      ["campaigns", "campaigns.title"],
      ["broadcasts", "broadcasts.title"],
      ["scheduled", "scheduled.title"],
      ["appointments", "appt.title"],
      ["reports", "reports.title"],
    ];
    await page.goto(`${stack.baseUrl}/reports`);
    await page.getByRole("button", { name: "English" }).first().click();
    for (const [route, title] of pages) {
      await page.goto(`${stack.baseUrl}/${route}`, { waitUntil: "domcontentloaded" });
      await page.getByRole("heading", { name: en[title], exact: true }).first().waitFor();
      if (route === "reports") await page.locator(".chart canvas").first().waitFor();
      await shot(page, `${route}-en`);
    }
    await page.getByRole("button", { name: "עברית" }).first().click();
    for (const [route, title] of pages) {
      await page.goto(`${stack.baseUrl}/${route}`, { waitUntil: "domcontentloaded" });
      await page.getByRole("heading", { name: he[title], exact: true }).first().waitFor();
      if (route === "reports") await page.locator(".chart canvas").first().waitFor();
      await shot(page, `${route}-he`);
    }
    // The report counts what happened above: 62 campaign calls, all answered; 20 broadcast messages out.
    const totals = page.getByTestId("report-totals");
    expect(await totals.locator('[data-total="calls"] dd').textContent()).toBe("62");
    expect(await totals.locator('[data-total="answered"] dd').textContent()).toBe("62");
    expect(await totals.locator('[data-total="out"] dd').textContent()).toBe("20");

    const phone = await owner.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    for (const [route, title] of pages) {
      await phone.goto(`${stack.baseUrl}/${route}`, { waitUntil: "domcontentloaded" });
      await phone.getByRole("heading", { name: he[title], exact: true }).first().waitFor();
      if (route === "reports") await phone.locator(".chart canvas").first().waitFor();
      await shot(phone, `${route}-phone-he`);
      // Once the page's data has loaded, nothing is wider than the screen.
      expect(await phone.evaluate(PAGE_OVERFLOW), `/${route} on a 390 px phone`).toEqual({
        scrollsSideways: false,
        outside: [],
      });
    }
    await phone.close();
  });
});
