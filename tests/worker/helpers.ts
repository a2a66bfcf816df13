import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { app } from "../../worker/app";
import { getConfig } from "../../worker/config";
import { type DbHandle, openDb } from "../../worker/db/client";

export const BASE = "https://edge.test";

/** A request through the deployed Worker entry (the same path production traffic takes). */
export function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

/** A request to the app with some settings changed (a new env object gets its own parsed config). */
export async function callWithSettings(
  settings: Record<string, string>,
  path: string,
  init?: RequestInit,
): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`${BASE}${path}`, init), { ...env, ...settings }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** A database handle for arranging and checking state; close it in afterAll. */
export function testDb(): DbHandle {
  return openDb(getConfig(env));
}

export async function errorOf(res: Response): Promise<{ code: string; message: string; details?: unknown }> {
  const body = (await res.json()) as { error: { code: string; message: string; details?: unknown } };
  return body.error;
}

/** The request was refused as invalid input, with `field` among the fields the error names. */
export async function expectFieldRefused(res: Response, field: string, label: string): Promise<void> {
  expect(res.status, label).toBe(400);
  const error = await errorOf(res);
  expect(error.code, label).toBe("validation_failed");
  expect(
    (error.details as { fields: { field: string }[] }).fields.map((f) => f.field),
    label,
  ).toContain(field);
}
