/**
 * Issue 15's "done when", in a real browser against the real local stack: an owner creates an API
 * key on the dashboard, a script creates a lead with it (as curl would), the business's own
 * endpoint receives a signed lead.created (verified with the Standard Webhooks reference
 * implementation), and the owner replays that delivery from the delivery log.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages } from "../../dashboard/src/i18n/messages";
import { freePort } from "../../scripts/lib/embedded-postgres";
import { type ReceivedRequest, startWebhookReceiver, type WebhookReceiver } from "../setup/webhook-receiver";
import { launchChromium } from "./lib/chromium";
import { openBusiness, sharedStack } from "./lib/shared-stack";
import type { LocalStack } from "./lib/stack";

const he = messages.he;
const ARTIFACTS = path.resolve(import.meta.dirname, "../../test-artifacts");
const PASSWORD = "browser-pass-123";
const OWNER = "owner-integrations@example.com";
/** This file's client address (see lib/shared-stack.ts). */
const CLIENT_IP = "198.51.100.13";
const POLL = { timeout: 30_000 };

let stack: LocalStack;
let browser: Browser;
let page: Page;
let receiver: WebhookReceiver;
let receiverUrl: string;

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  const port = await freePort();
  receiver = await startWebhookReceiver(port);
  receiverUrl = `http://127.0.0.1:${port}`;
  browser = await launchChromium();
  stack = sharedStack();
  await openBusiness(stack, { name: "עסק אינטגרציות", ownerEmail: OWNER, password: PASSWORD, clientIp: CLIENT_IP });
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    locale: "he-IL",
    extraHTTPHeaders: { "CF-Connecting-IP": CLIENT_IP },
  });
  context.setDefaultTimeout(30_000);
  page = await context.newPage();
}, 420_000);

afterAll(async () => {
  await browser?.close();
  await receiver?.close();
}, 60_000);

async function received(sink: string): Promise<ReceivedRequest[]> {
  const res = await fetch(`${receiverUrl}/_control/sinks/${sink}`);
  return ((await res.json()) as { requests: ReceivedRequest[] }).requests;
}

describe.sequential("integrations", () => {
  it("a key made on the dashboard creates a lead from a script; the endpoint gets it signed; the owner replays it", async () => {
    await page.goto(`${stack.baseUrl}/`);
    await page.getByLabel(he["auth.email"]).fill(OWNER);
    await page.getByLabel(he["auth.password"]).fill(PASSWORD);
    await page.getByRole("button", { name: he["auth.signIn"] }).click();
    await page.getByRole("heading", { name: he["leads.title"] }).waitFor();

    // The endpoint first, so the lead's event has somewhere to go.
    await page.getByRole("link", { name: he["nav.webhooks"] }).click();
    await page.getByRole("heading", { name: he["hooks.title"] }).waitFor();
    await page.getByRole("button", { name: he["hooks.create"] }).click();
    await page.getByLabel(he["hooks.url"]).fill(`${receiverUrl}/hooks/browser`);
    await page.getByRole("button", { name: he["common.save"] }).click();
    const signingSecret = (await page.getByTestId("secret-once").textContent())!.trim();
    expect(signingSecret).toMatch(/^whsec_/);
    await fetch(`${receiverUrl}/_control/sinks/browser`, {
      method: "PUT",
      body: JSON.stringify({ secrets: [signingSecret] }),
    });

    await page.getByRole("link", { name: he["nav.apiKeys"] }).click();
    await page.getByRole("heading", { name: he["keys.title"] }).waitFor();
    await page.getByRole("button", { name: he["keys.create"] }).click();
    await page.getByLabel(he["keys.name"]).fill("טופס באתר");
    await page.getByRole("dialog").getByRole("button", { name: he["keys.create"] }).click();
    const key = (await page.getByTestId("secret-once").textContent())!.trim();
    expect(key).toMatch(/^psk_/);
    await page.screenshot({ path: path.join(ARTIFACTS, "api-keys-he.png") });

    // What the README's curl does.
    const created = await fetch(`${stack.baseUrl}/api/leads`, {
      method: "POST",
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: JSON.stringify({ firstName: "Dana", phone: "054-765-4321", source: "website" }),
    });
    expect(created.status, await created.clone().text()).toBe(201);

    await expect.poll(async () => (await received("browser")).filter((r) => r.answered === 200).length, POLL).toBe(1);
    const [first] = await received("browser");
    expect(first!.verifiedWith).toBe(0);
    expect(JSON.parse(first!.body)).toMatchObject({ type: "lead.created", data: { lead: { firstName: "Dana" } } });

    // The delivery log shows it delivered; replay it.
    await page.getByRole("link", { name: he["nav.webhooks"] }).click();
    await page.getByRole("link", { name: he["hooks.log"] }).first().click();
    const row = page.locator("tr[data-status]").first();
    await expect.poll(() => row.getAttribute("data-status"), POLL).toBe("succeeded");
    await page.screenshot({ path: path.join(ARTIFACTS, "webhook-log-he.png") });
    await row.getByRole("button", { name: he["hooks.redeliver"] }).click();
    await expect.poll(async () => (await received("browser")).length, POLL).toBe(2);
    const [, replay] = await received("browser");
    expect(replay!.webhookId).toBe(first!.webhookId);
    expect(replay!.body).toBe(first!.body);

    await page.getByRole("link", { name: he["nav.audit"] }).click();
    await page.getByRole("heading", { name: he["audit.title"] }).waitFor();
    await expect.poll(() => page.locator("table").textContent(), POLL).toContain("api_key.created");
    await page.screenshot({ path: path.join(ARTIFACTS, "audit-log-he.png") });
  });
});
