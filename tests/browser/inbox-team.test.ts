/**
 * Working the inbox as a team, in a real browser against the shared local stack (scripts/dev.ts
 * with the fake WhatsApp driver; this file on a business of its own): an agent takes a customer's
 * conversation, leaves the team a private note, answers with a canned reply typed as `/`, resolves
 * it, and sees it reopen live when the customer writes again; search finds it by Hebrew text and by
 * part of the phone. The owner keeps the canned replies in settings and gives conversations to
 * agents; a second agent's open tab follows an assignment and a note live. Past 50 conversations
 * the list loads the next page at its end. Screenshots (Hebrew, English, a 390 px phone) go to
 * /tmp/inbox-shots/ (INBOX_SHOTS to change).
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages } from "../../dashboard/src/i18n/messages";
import { launchChromium, newHebrewContext } from "./lib/chromium";
import { PAGE_OVERFLOW } from "./lib/screens";
import { fakeSession } from "./lib/shard";
import { openBusiness, sharedStack } from "./lib/shared-stack";
import type { LocalStack } from "./lib/stack";

const he = messages.he;
const en = messages.en;
const SHOTS = process.env.INBOX_SHOTS ?? "/tmp/inbox-shots";
const PASSWORD = "browser-pass-123";
const OWNER = "owner-inbox@example.com";
const AGENT = "agent-inbox@example.com";
const AGENT_NAME = "נועה הסוכנת";
const SECOND_AGENT = "agent2-inbox@example.com";
const SECOND_AGENT_NAME = "יואב הסוכן";
/** This file's client address (see lib/shared-stack.ts). */
const CLIENT_IP = "198.51.100.14";
let businessId = 0;
/** 052-765-4321 in Israel's national format. */
const CUSTOMER_JID = "972527654321@s.whatsapp.net";
const CUSTOMER = "רונית";
const POLL = { timeout: 20_000 };

let stack: LocalStack;
let browser: Browser;
let ownerContext: BrowserContext;
let agentContext: BrowserContext;
let owner: Page;
let agent: Page;
let conversationId = 0;

/** An element's computed background (typed by hand: this file compiles without the DOM library). */
const BACKGROUND = (el: unknown) =>
  (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el)
    .backgroundColor;

async function shot(p: Page, name: string) {
  await expect
    .poll(() => p.getByText(new RegExp(`^(${he["common.loading"]}|${en["common.loading"]})$`)).count(), POLL)
    .toBe(0);
  await p.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: false });
}

async function signIn(p: Page, email: string) {
  await p.goto(`${stack.baseUrl}/`);
  await p.getByLabel(he["auth.email"]).fill(email);
  await p.getByLabel(he["auth.password"]).fill(PASSWORD);
  await p.getByRole("button", { name: he["auth.signIn"] }).click();
  await p.getByRole("heading", { name: he["leads.title"] }).waitFor();
}

async function customerWrites(text: string) {
  await fakeSession(stack, businessId, "POST", "/inbound", {
    messages: [{ chatJid: CUSTOMER_JID, messageId: `in-${Date.now()}-${Math.random()}`, pushName: CUSTOMER, text }],
  });
}

async function sentToCustomer(): Promise<{ text?: string }[]> {
  return (await fakeSession(stack, businessId, "GET", "/sent")).sent as { text?: string }[];
}

/** Scrolls the conversation list to the end of its first page, where the button for the next one is. */
async function toListEnd(p: Page, loadMore: string) {
  await expect.poll(() => p.getByTestId("conversation").count(), POLL).toBe(50);
  await p.getByTestId("conversation-list").getByRole("button", { name: loadMore }).scrollIntoViewIfNeeded();
}

/** The conversation's row in the list (by its id). */
const row = (p: Page) => p.getByTestId("conversation-list").locator(`[data-conversation-id="${conversationId}"]`);

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  browser = await launchChromium();
  stack = sharedStack();
  businessId = await openBusiness(stack, {
    name: "סלון רונית",
    ownerEmail: OWNER,
    password: PASSWORD,
    clientIp: CLIENT_IP,
  });
  ownerContext = await newHebrewContext(browser, { clientIp: CLIENT_IP });
  owner = await ownerContext.newPage();
  await signIn(owner, OWNER);
  const headers = { origin: stack.baseUrl };
  for (const [email, name] of [
    [AGENT, AGENT_NAME],
    [SECOND_AGENT, SECOND_AGENT_NAME],
  ]) {
    const created = await owner.request.post(`${stack.baseUrl}/api/users`, {
      data: { email, name, role: "agent", password: PASSWORD },
      headers,
    });
    expect(created.status()).toBe(201);
  }
  // WhatsApp connected, as the owner does it: Connect on the WhatsApp page, and the phone scans.
  await owner.goto(`${stack.baseUrl}/whatsapp`);
  await owner.getByRole("button", { name: he["wa.connect"] }).click();
  await owner.getByRole("img", { name: he["wa.qrAlt"] }).waitFor();
  await fakeSession(stack, businessId, "POST", "/pair", { phoneNumber: "972541112244" });
  await owner.locator('[data-testid="wa-state"][data-state="open"]').waitFor({ timeout: POLL.timeout });
  agentContext = await newHebrewContext(browser, { clientIp: CLIENT_IP });
  agent = await agentContext.newPage();
  await signIn(agent, AGENT);
}, 420_000);

// The stack is shared by every browser test file (lib/global-stack.ts stops it).
afterAll(async () => {
  await browser?.close();
}, 60_000);

describe.sequential("working the inbox as a team", () => {
  it("the owner keeps canned replies in settings, with the template variables listed", async () => {
    await owner.goto(`${stack.baseUrl}/settings`);
    const card = owner.getByTestId("canned-replies-card");
    await card.getByRole("heading", { name: he["canned.title"] }).waitFor();
    await card.getByText(he["canned.empty"]).waitFor();
    const form = card.getByRole("form", { name: he["canned.new"] });
    // A shortcut the API refuses is named on its field.
    await form.getByLabel(he["canned.shortcut"]).fill("שעות פתיחה");
    await form.getByLabel(he["canned.body"]).fill("x");
    await form.getByRole("button", { name: he["canned.add"] }).click();
    await expect.poll(() => form.locator(".field-error").count(), POLL).toBeGreaterThan(0);

    await form.getByLabel(he["canned.shortcut"]).fill("hours");
    await form.getByLabel(he["canned.body"]).fill("שלום ");
    await form.getByRole("button", { name: "{first_name}" }).click();
    await form.getByLabel(he["canned.body"]).press("End");
    await form.getByLabel(he["canned.body"]).pressSequentially(", אנחנו פתוחים א׳–ה׳ 09:00–18:00.");
    expect(await form.getByLabel(he["canned.body"]).inputValue()).toBe(
      "שלום {first_name}, אנחנו פתוחים א׳–ה׳ 09:00–18:00.",
    );
    await form.getByRole("button", { name: he["canned.add"] }).click();
    await card.getByTestId("canned-row").filter({ hasText: "/hours" }).waitFor();
    // A second one, to show the popover filtering.
    await form.getByLabel(he["canned.shortcut"]).fill("address");
    await form.getByLabel(he["canned.body"]).fill("אנחנו ברחוב הרצל 12, תל אביב.");
    await form.getByRole("button", { name: he["canned.add"] }).click();
    await expect.poll(() => card.getByTestId("canned-row").count(), POLL).toBe(2);
    // Edit keeps the shortcut and changes the text.
    const addressRow = card.getByTestId("canned-row").filter({ hasText: "/address" });
    await addressRow.getByRole("button", { name: he["common.edit"] }).click();
    const editForm = card.getByRole("form", { name: he["canned.editing"].replace("{shortcut}", "address") });
    await editForm.getByLabel(he["canned.body"]).fill("אנחנו ברחוב הרצל 14, תל אביב.");
    await editForm.getByRole("button", { name: he["common.save"] }).click();
    await card.getByTestId("canned-row").filter({ hasText: "הרצל 14" }).waitFor();
  });

  it("an agent takes a customer's new conversation and finds it under Mine", async () => {
    const first = `שלום, אפשר לקבוע תור לתספורת ביום שלישי? ${Date.now()}`;
    await agent.goto(`${stack.baseUrl}/inbox`);
    await expect.poll(() => agent.getByTestId("live-status").getAttribute("data-live"), POLL).toBe("open");
    await customerWrites(first);
    const item = agent.getByTestId("conversation").filter({ hasText: CUSTOMER });
    await item.waitFor();
    conversationId = Number(await item.getAttribute("data-conversation-id"));
    expect(conversationId).toBeGreaterThan(0);

    // Not under Mine yet; under Unassigned.
    const views = agent.getByRole("group", { name: he["inbox.view.label"] });
    await views.getByRole("button", { name: he["inbox.view.mine"] }).click();
    await expect.poll(() => row(agent).count(), POLL).toBe(0);
    await views.getByRole("button", { name: he["inbox.view.unassigned"] }).click();
    await row(agent).waitFor();
    await row(agent).click();
    await agent.getByTestId("thread").getByText(first).waitFor();

    const assignee = agent.getByTestId("assignee");
    expect(await assignee.textContent()).toContain(he["inbox.unassigned"]);
    await assignee.getByRole("button", { name: he["inbox.assignToMe"] }).click();
    await expect.poll(() => assignee.textContent(), POLL).toContain(AGENT_NAME);
    // It leaves Unassigned and shows under Mine, with the agent's name on it.
    await expect.poll(() => row(agent).count(), POLL).toBe(0);
    await views.getByRole("button", { name: he["inbox.view.mine"] }).click();
    await row(agent).waitFor();
    expect(await row(agent).getByTestId("conversation-assignee").textContent()).toContain(AGENT_NAME);
  });

  it("a private note shows in the thread, set apart, and nothing reaches the customer", async () => {
    const before = (await sentToCustomer()).length;
    const noteText = `לקוחה ותיקה, לתת עדיפות לשעות הבוקר ${Date.now()}`;
    await agent.getByTestId("mode-note").click();
    await agent.getByLabel(he["inbox.noteLabel"]).fill(noteText);
    await agent.getByRole("button", { name: he["inbox.addNote"] }).click();
    const note = agent.getByTestId("thread").getByTestId("note").filter({ hasText: noteText });
    await note.waitFor();
    expect(await note.textContent()).toContain(he["inbox.note.label"]);
    expect(await note.textContent()).toContain(AGENT_NAME);
    // Visually apart from every message: its own (amber) background.
    const noteBg = await note.evaluate(BACKGROUND);
    const messageBg = await agent.getByTestId("thread").locator("li.bubble:not(.note)").first().evaluate(BACKGROUND);
    expect(noteBg).not.toBe(messageBg);
    expect(noteBg).toBe("rgb(255, 244, 214)");
    // Nothing was sent for it: the fake phone saw no new message, and none with its text.
    const sent = await sentToCustomer();
    expect(sent.length).toBe(before);
    expect(sent.some((m) => m.text?.includes("לקוחה ותיקה"))).toBe(false);
    // The owner's tab shows it too (live), as a note.
    await owner.goto(`${stack.baseUrl}/inbox/${conversationId}`);
    await owner.getByTestId("thread").getByTestId("note").filter({ hasText: noteText }).waitFor();
  });

  it("typing / opens the canned replies; the chosen one goes to the customer rendered, once", async () => {
    await agent.getByTestId("mode-reply").click();
    const box = agent.getByLabel(he["inbox.reply"]);
    await box.fill("");
    await box.pressSequentially("/");
    const popover = agent.getByTestId("canned-popover");
    await popover.waitFor();
    await expect.poll(() => popover.getByRole("option").count(), POLL).toBe(2);
    await shot(agent, "inbox-canned-he");
    // Filtered as one types; Escape closes it, and leaves the text alone.
    await box.pressSequentially("ho");
    await expect.poll(() => popover.getByRole("option").count(), POLL).toBe(1);
    await box.press("Escape");
    await expect.poll(() => popover.count(), POLL).toBe(0);
    expect(await box.inputValue()).toBe("/ho");
    // Typing again opens it; arrows and Enter pick.
    await box.press("Backspace");
    await box.press("Backspace");
    await expect.poll(() => popover.getByRole("option").count(), POLL).toBe(2);
    // Arrows move through the list (and wrap); the shortcuts come in order.
    const selected = () => popover.getByRole("option", { selected: true }).locator(".canned-shortcut").textContent();
    await expect.poll(selected, POLL).toBe("/address");
    await box.press("ArrowDown");
    await expect.poll(selected, POLL).toBe("/hours");
    await box.press("ArrowDown");
    await expect.poll(selected, POLL).toBe("/address");
    await box.press("ArrowUp");
    await expect.poll(selected, POLL).toBe("/hours");
    await box.press("Enter");
    const rendered = `שלום ${CUSTOMER}, אנחנו פתוחים א׳–ה׳ 09:00–18:00.`;
    await expect.poll(() => box.inputValue(), POLL).toBe(rendered);
    await expect.poll(() => popover.count(), POLL).toBe(0);
    await agent.getByRole("button", { name: he["inbox.send"] }).click();
    await agent
      .getByTestId("thread")
      .locator("li.bubble.from-me:not(.pending)", { hasText: rendered })
      .locator('[data-status="sent"], [data-status="delivered"], [data-status="read"]')
      .waitFor({ timeout: 30_000 });
    expect((await sentToCustomer()).filter((m) => m.text === rendered)).toHaveLength(1);
    // A click picks too.
    await box.pressSequentially("/addr");
    await popover.getByRole("option", { name: /address/ }).click();
    await expect.poll(() => box.inputValue(), POLL).toBe("אנחנו ברחוב הרצל 14, תל אביב.");
    await box.fill("");
  });

  it("resolving takes it out of the Open list; the customer's next message reopens it live", async () => {
    await agent.goto(`${stack.baseUrl}/inbox/${conversationId}?view=mine`);
    await row(agent).waitFor();
    const status = agent.locator(".thread-head").getByTestId("conversation-status");
    await expect.poll(() => status.getAttribute("data-status"), POLL).toBe("open");
    await agent.getByRole("button", { name: he["inbox.resolve"] }).click();
    await expect.poll(() => status.getAttribute("data-status"), POLL).toBe("resolved");
    // The list shows open conversations by default: it is gone from there...
    await expect.poll(() => row(agent).count(), POLL).toBe(0);
    // ...and is under Resolved, with its resolution time in the header.
    await agent.getByLabel(he["inbox.filter.status"]).selectOption("resolved");
    await row(agent).waitFor();
    await agent.getByTestId("conversation-times").getByText(he["inbox.resolution"]).waitFor();
    await agent.getByLabel(he["inbox.filter.status"]).selectOption("open");
    await expect.poll(() => row(agent).count(), POLL).toBe(0);

    // The customer writes again: the open page shows it back in the Open list, reopened, without a reload.
    const again = `עוד שאלה: יש חניה ליד? ${Date.now()}`;
    await customerWrites(again);
    await row(agent).waitFor();
    await expect.poll(() => status.getAttribute("data-status"), POLL).toBe("open");
    await agent.getByTestId("thread").getByText(again).waitFor();
  });

  it("snoozing until tomorrow morning shows when it comes back; mark pending and reopen", async () => {
    await agent.getByTestId("snooze").locator("summary").click();
    await agent.getByRole("button", { name: new RegExp(he["inbox.snooze.tomorrow"]) }).click();
    const status = agent.locator(".thread-head").getByTestId("conversation-status");
    await expect.poll(() => status.getAttribute("data-status"), POLL).toBe("snoozed");
    // "Snoozed until <tomorrow> 9:00" on the business's clock.
    expect(await status.textContent()).toMatch(/9:00/);
    await agent.getByRole("button", { name: he["inbox.reopen"] }).click();
    await expect.poll(() => status.getAttribute("data-status"), POLL).toBe("open");
    await agent.getByRole("button", { name: he["inbox.markPending"] }).click();
    await expect.poll(() => status.getAttribute("data-status"), POLL).toBe("pending");
    await agent.getByRole("button", { name: he["inbox.reopen"] }).click();
    await expect.poll(() => status.getAttribute("data-status"), POLL).toBe("open");
  });

  it("search finds the conversation by Hebrew message text (showing the hit) and by part of the phone", async () => {
    await agent.goto(`${stack.baseUrl}/inbox?status=all`);
    const search = agent.getByLabel(he["inbox.search"]);
    await search.fill("לתספורת");
    const hit = row(agent);
    await hit.getByTestId("conversation-match").waitFor();
    expect(await hit.getByTestId("conversation-match").textContent()).toContain("לתספורת");
    expect(await hit.locator("mark").first().textContent()).toBe("לתספורת");
    await search.fill("חתול-סגול-שלא-נכתב");
    await expect.poll(() => agent.getByTestId("conversation").count(), POLL).toBe(0);
    await agent.getByText(he["inbox.emptyFiltered"]).waitFor();
    await search.fill("7654321");
    await row(agent).waitFor();
    // The search is in the address: a reload keeps it.
    await expect.poll(() => agent.url(), POLL).toContain("q=7654321");
    await agent.reload();
    await row(agent).waitFor();
    expect(await agent.getByLabel(he["inbox.search"]).inputValue()).toBe("7654321");
  });

  it("the owner gives the conversation to any agent and filters the list by agent", async () => {
    await owner.goto(`${stack.baseUrl}/inbox/${conversationId}?status=all`);
    const select = owner.getByTestId("assignee-select");
    await select.waitFor();
    await expect.poll(() => select.locator("option:checked").textContent(), POLL).toBe(AGENT_NAME);
    // Unassign, then give it back to the agent.
    await select.selectOption({ label: he["inbox.unassigned"] });
    await expect.poll(() => row(owner).getByTestId("conversation-assignee").count(), POLL).toBe(0);
    await select.selectOption({ label: AGENT_NAME });
    await row(owner).getByTestId("conversation-assignee").waitFor();
    await owner.getByLabel(he["inbox.filter.agent"]).selectOption({ label: AGENT_NAME });
    await row(owner).waitFor();
    await expect.poll(() => owner.url(), POLL).toMatch(/assignee=\d+/);
  });

  it("a second agent's open tab sees the conversation given to them, and a new note, without a reload", async () => {
    const secondContext = await newHebrewContext(browser, { clientIp: CLIENT_IP });
    const second = await secondContext.newPage();
    try {
      await signIn(second, SECOND_AGENT);
      await second.goto(`${stack.baseUrl}/inbox/${conversationId}?status=all`);
      await expect.poll(() => second.getByTestId("live-status").getAttribute("data-live"), POLL).toBe("open");
      const assignee = second.getByTestId("assignee");
      await expect.poll(() => assignee.textContent(), POLL).toContain(AGENT_NAME);
      // Gone if the page reloads: what follows must arrive through the live hub alone.
      await second.evaluate("window.__sameDocument = true");

      // The owner gives it to the second agent: their header says it is theirs, and so does the list.
      await owner.goto(`${stack.baseUrl}/inbox/${conversationId}?status=all`);
      await owner.getByTestId("assignee-select").selectOption({ label: SECOND_AGENT_NAME });
      await expect
        .poll(() => assignee.textContent(), POLL)
        .toContain(he["inbox.meName"].replace("{name}", SECOND_AGENT_NAME));
      await assignee.getByRole("button", { name: he["inbox.unassign"] }).waitFor();
      await expect
        .poll(() => row(second).getByTestId("conversation-assignee").textContent(), POLL)
        .toContain(SECOND_AGENT_NAME);

      // The first agent leaves the team a note: it shows in the second agent's thread, as a note.
      const noteText = `יואב, הלקוחה ביקשה שתחזור אליה אחרי 16:00 ${Date.now()}`;
      await agent.goto(`${stack.baseUrl}/inbox/${conversationId}?status=all`);
      await agent.getByTestId("mode-note").click();
      await agent.getByLabel(he["inbox.noteLabel"]).fill(noteText);
      await agent.getByRole("button", { name: he["inbox.addNote"] }).click();
      const note = second.getByTestId("thread").getByTestId("note").filter({ hasText: noteText });
      await note.waitFor({ timeout: POLL.timeout });
      expect(await note.textContent()).toContain(AGENT_NAME);

      // And given back to the first agent, it leaves the second's hands the same way.
      await owner.getByTestId("assignee-select").selectOption({ label: AGENT_NAME });
      await expect.poll(() => assignee.textContent(), POLL).toContain(AGENT_NAME);
      await expect
        .poll(() => row(second).getByTestId("conversation-assignee").textContent(), POLL)
        .toContain(AGENT_NAME);
      expect(await second.evaluate("window.__sameDocument === true")).toBe(true);
    } finally {
      await secondContext.close();
    }
  });

  it("past 50 conversations, Load more brings the next page (the view kept), a second-page conversation opens, and live changes keep both pages", {
    timeout: 180_000,
  }, async () => {
    // Sixty more customers write at once (one request to the fake phone), each a minute apart an
    // hour ago: older than the team's conversation, so the list's order is known.
    const BULK = 60;
    const hourAgo = Math.floor(Date.now() / 1000) - 3600;
    const jid = (i: number) => `97250310${String(i).padStart(4, "0")}@s.whatsapp.net`;
    const nameOf = (i: number) => `לקוח בדיקה ${i}`;
    await fakeSession(stack, businessId, "POST", "/inbound", {
      messages: Array.from({ length: BULK }, (_, k) => {
        const i = k + 1;
        return {
          chatJid: jid(i),
          messageId: `bulk-${i}-${Date.now()}`,
          pushName: nameOf(i),
          text: `שאלה על מחירים, לקוח ${i}`,
          timestamp: hourAgo - i * 60,
        };
      }),
    });
    // Their ids, by customer, once the edge has them all.
    const idOf = new Map<string, number>();
    await expect
      .poll(async () => {
        const res = await owner.request.get(`${stack.baseUrl}/api/whatsapp/conversations?view=unassigned&limit=100`);
        const body = (await res.json()) as { conversations: { id: number; chatJid: string }[] };
        for (const c of body.conversations) idOf.set(c.chatJid, c.id);
        return body.conversations.length;
      }, POLL)
      .toBe(BULK);
    const bulkId = (i: number) => idOf.get(jid(i))!;

    const list = agent.getByTestId("conversation-list");
    const rows = list.getByTestId("conversation");
    const loadMore = list.getByRole("button", { name: he["inbox.loadMore"] });
    const status = list.getByTestId("load-more").locator(".load-more-status");
    const listedIds = async () =>
      Promise.all((await rows.all()).map(async (r) => Number(await r.getAttribute("data-conversation-id"))));

    // All open conversations: the team's one first, then the newest 49 of the sixty.
    await agent.goto(`${stack.baseUrl}/inbox`);
    await expect.poll(() => rows.count(), POLL).toBe(50);
    await expect.poll(() => status.textContent(), POLL).toBe(he["inbox.shownSoFar"].replace("{count}", "50"));
    expect((await listedIds())[0]).toBe(conversationId);
    await loadMore.click();
    await expect.poll(() => rows.count(), POLL).toBe(BULK + 1);
    await expect.poll(() => status.textContent(), POLL).toBe(he["inbox.shownAll"].replace("{count}", "61"));
    expect(await loadMore.count()).toBe(0);
    // Focus went to the first row the button brought (customer 50), so a keyboard goes on from there...
    const focused = () => agent.evaluate("document.activeElement?.getAttribute('data-conversation-id')");
    await expect.poll(focused, POLL).toBe(String(bulkId(50)));
    // ...and opens it.
    await agent.keyboard.press("Enter");
    await agent.getByTestId("thread").getByText("שאלה על מחירים, לקוח 50").waitFor();
    await expect.poll(() => agent.url(), POLL).toContain(`/inbox/${bulkId(50)}`);
    expect(await rows.count()).toBe(BULK + 1);

    // Unassigned: the same sixty without the team's conversation, 50 and then 10; the view stays.
    await agent
      .getByRole("group", { name: he["inbox.view.label"] })
      .getByRole("button", { name: he["inbox.view.unassigned"] })
      .click();
    await expect.poll(() => agent.url(), POLL).toContain("view=unassigned");
    await expect.poll(() => rows.count(), POLL).toBe(50);
    await loadMore.click();
    await expect.poll(() => rows.count(), POLL).toBe(BULK);
    const sixty = Array.from({ length: BULK }, (_, k) => bulkId(k + 1));
    expect(await listedIds()).toEqual(sixty);
    expect(await list.getByTestId("conversation-assignee").count()).toBe(0);

    // Customer 55 (second page) writes: live, it moves to the top. Both pages are read again, each
    // from the fresh page before it, so the list still holds each of the sixty exactly once.
    await fakeSession(stack, businessId, "POST", "/inbound", {
      messages: [
        { chatJid: jid(55), messageId: `bulk-55-again-${Date.now()}`, pushName: nameOf(55), text: "עוד משהו" },
      ],
    });
    await expect.poll(async () => (await listedIds())[0], POLL).toBe(bulkId(55));
    expect(await listedIds()).toEqual([bulkId(55), ...sixty.filter((id) => id !== bulkId(55))]);
  });

  it("screenshots: Hebrew and English desktop, and a 390 px phone that never scrolls sideways", {
    timeout: 300_000,
  }, async () => {
    // A note in view and the canned popover open, in Hebrew, with the first-response time (a reply
    // to the customer's latest message)...
    await agent.goto(`${stack.baseUrl}/inbox/${conversationId}?status=all`);
    await agent.getByTestId("thread").getByTestId("note").first().waitFor();
    await agent.getByLabel(he["inbox.reply"]).fill("יש חניה ברחוב, ובחניון הכחול ממול.");
    await agent.getByRole("button", { name: he["inbox.send"] }).click();
    await agent.getByTestId("conversation-times").getByText(he["inbox.firstResponse"]).waitFor();
    await agent.getByLabel(he["inbox.reply"]).pressSequentially("/");
    await agent.getByTestId("canned-popover").getByRole("option").first().waitFor();
    await shot(agent, "inbox-note-canned-he");
    await agent.getByLabel(he["inbox.reply"]).fill("");
    await agent.getByTestId("snooze").locator("summary").click();
    await shot(agent, "inbox-snooze-he");
    await agent.keyboard.press("Escape");
    // The end of the list's first page, with the button for the next.
    await agent.goto(`${stack.baseUrl}/inbox/${conversationId}`);
    await toListEnd(agent, he["inbox.loadMore"]);
    await shot(agent, "inbox-list-end-he");
    // Pressed from the keyboard: the first new row has focus; at the end, all are counted.
    await agent.getByRole("button", { name: he["inbox.loadMore"] }).focus();
    await agent.keyboard.press("Enter");
    await expect.poll(() => agent.getByTestId("conversation").count(), POLL).toBe(61);
    await shot(agent, "inbox-list-more-he");
    await agent.getByTestId("load-more").scrollIntoViewIfNeeded();
    await shot(agent, "inbox-list-all-he");

    // ...and in English (left to right), for the owner (the admin's assignee picker).
    await owner.getByRole("button", { name: "English" }).first().click();
    await owner.goto(`${stack.baseUrl}/inbox/${conversationId}?status=all`);
    await owner.getByTestId("thread").getByTestId("note").first().waitFor();
    await owner.getByLabel(en["inbox.reply"]).pressSequentially("/");
    await owner.getByTestId("canned-popover").getByRole("option").first().waitFor();
    expect(await owner.evaluate("document.documentElement.dir")).toBe("ltr");
    await shot(owner, "inbox-note-canned-en");
    await owner.getByLabel(en["inbox.reply"]).fill("");
    await owner.goto(`${stack.baseUrl}/inbox/${conversationId}`);
    await toListEnd(owner, en["inbox.loadMore"]);
    await shot(owner, "inbox-list-end-en");
    await owner.goto(`${stack.baseUrl}/settings`);
    await owner.getByTestId("canned-replies-card").scrollIntoViewIfNeeded();
    await shot(owner, "settings-canned-en");
    await owner.getByRole("button", { name: "עברית" }).first().click();
    await owner.getByRole("heading", { name: he["settings.title"] }).waitFor();
    await owner.getByTestId("canned-replies-card").scrollIntoViewIfNeeded();
    await shot(owner, "settings-canned-he");

    // A phone: the list, the thread with the note and the popover, and the settings card.
    const phone = await ownerContext.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    const noOverflow = async (what: string) =>
      expect(await phone.evaluate(PAGE_OVERFLOW), `${what} on a 390 px phone`).toEqual({
        scrollsSideways: false,
        outside: [],
      });
    await phone.goto(`${stack.baseUrl}/inbox?status=all`);
    await row(phone).waitFor();
    await shot(phone, "inbox-list-phone-he");
    await noOverflow("the conversation list");
    await phone.goto(`${stack.baseUrl}/inbox`);
    await toListEnd(phone, he["inbox.loadMore"]);
    await shot(phone, "inbox-list-end-phone-he");
    await noOverflow("the end of the conversation list");
    await phone.goto(`${stack.baseUrl}/inbox/${conversationId}?status=all`);
    await phone.getByTestId("thread").getByTestId("note").first().waitFor();
    await phone.getByLabel(he["inbox.reply"]).pressSequentially("/");
    await phone.getByTestId("canned-popover").getByRole("option").first().waitFor();
    await shot(phone, "inbox-note-canned-phone-he");
    await noOverflow("the thread with the canned replies open");
    await phone.getByLabel(he["inbox.reply"]).fill("");
    await phone.getByTestId("snooze").locator("summary").click();
    await shot(phone, "inbox-snooze-phone-he");
    await noOverflow("the snooze menu");
    await phone.goto(`${stack.baseUrl}/settings`);
    await phone.getByTestId("canned-replies-card").scrollIntoViewIfNeeded();
    await shot(phone, "settings-canned-phone-he");
    await noOverflow("the settings page");
    await phone.close();
  });
});
