/**
 * Puts the API reference viewer (@scalar/api-reference's standalone bundle, from npm) into the
 * Worker's static assets, where /docs loads it (worker/contract/document.ts DOCS_VIEWER_SCRIPT):
 * a CDN cannot be reached offline or from tests, and the page should not depend on one anyway.
 * It goes into the dashboard's `public/` folder (git-ignored), which Vite copies into the assets
 * on every build, watch rebuilds included.
 */
import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { DOCS_VIEWER_SCRIPT } from "../worker/contract/document";

const ROOT = path.resolve(import.meta.dirname, "..");
const assetsDir = path.resolve(ROOT, process.argv[2] ?? "dashboard/public");
// The package exports no path to its browser bundle; it is a file of the installed package.
const source = path.join(ROOT, "node_modules/@scalar/api-reference/dist/browser/standalone.js");
const target = path.join(assetsDir, DOCS_VIEWER_SCRIPT);
await mkdir(path.dirname(target), { recursive: true });
await copyFile(source, target);
console.log(`API reference viewer → ${path.relative(ROOT, target)}`);
