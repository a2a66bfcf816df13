/**
 * Looking at pages: screenshots once a page has settled (into test-artifacts/, for a person to open
 * in Hebrew, English and at phone width), and the check that a page does not scroll sideways.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Page } from "playwright-core";
import { expect } from "vitest";
import { messages } from "../../../dashboard/src/i18n/messages";

export const ARTIFACTS = path.resolve(import.meta.dirname, "../../../test-artifacts");

const LOADING = new RegExp(`^(${messages.he["common.loading"]}|${messages.en["common.loading"]})$`);

/** A screenshot once the page has settled: no "loading" text left, no request in flight. */
export async function shot(p: Page, name: string): Promise<void> {
  await expect.poll(() => p.getByText(LOADING).count(), { timeout: 30_000 }).toBe(0);
  // A page holding the live hub's WebSocket may never be fully idle: settle for what it reaches.
  await p.waitForLoadState("networkidle", { timeout: 10_000 }).catch(() => {});
  await mkdir(ARTIFACTS, { recursive: true });
  await p.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: false });
}

/**
 * Whether the page scrolls sideways, and which elements stick out of the viewport. Evaluated in the
 * browser (a string, since this file is typed for Node). Content clipped by its own scrolling box (a
 * wide table in .table-wrap) does not count, nor is an element wholly off-screen on purpose (the
 * skip link until focused).
 */
export const PAGE_OVERFLOW = `(() => {
  const root = document.documentElement;
  const clippedByAncestor = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible") return true;
    }
    return false;
  };
  const outside = [...document.querySelectorAll("body *")]
    .filter((el) => {
      const r = el.getBoundingClientRect();
      const partlyOut = (r.right > root.clientWidth + 0.5 && r.left < root.clientWidth) || (r.left < -0.5 && r.right > 0);
      return r.width > 0 && partlyOut && !clippedByAncestor(el);
    })
    .slice(0, 5)
    .map((el) => el.tagName.toLowerCase() + "." + el.className + " (" + Math.round(el.getBoundingClientRect().width) + " px)");
  return { scrollsSideways: root.scrollWidth > root.clientWidth, outside };
})()`;
