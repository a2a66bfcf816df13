/**
 * Fixtures for the calls tests: businesses with a Twilio number and call settings, Twilio-signed
 * webhook requests, and the control API of the fake Twilio (scripts/twilio-simulator/).
 *
 * Webhook signatures here are computed with WebCrypto independently of the Worker's verifier;
 * tests/node/twilio-signature.test.ts proves that algorithm equals the official library's, and
 * twilio-webhooks.test.ts also replays requests signed by the library itself.
 */
import { env } from "cloudflare:workers";
import type { FakeTwilioCall } from "../../scripts/twilio-simulator/server";
import type { Database } from "../../worker/db/client";
import { businesses, businessSettings } from "../../worker/db/schema";
import { call } from "./helpers";

export const TWILIO_BASE = env.TWILIO_API_BASE_URL as string;
export const TWILIO_TOKEN = env.TWILIO_AUTH_TOKEN as string;
export const PUBLIC_HOST = env.PUBLIC_HOST as string;

const hex = (bytes: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");

export const randomCallSid = () => `CA${hex(16)}`;

/** A phone number no other test uses (businesses.twilio_number is unique across the suite). */
export function uniqueNumber(): string {
  return `+1555${String(crypto.getRandomValues(new Uint32Array(1))[0]! % 10_000_000).padStart(7, "0")}`;
}

export interface CallBusinessFixture {
  id: number;
  twilioNumber: string;
}

export async function createCallBusiness(
  db: Database,
  opts: {
    locale?: string;
    name?: string;
    outboundCallCap?: number;
    inboundCallAction?: { type: "forward"; to: string } | { type: "voicemail" };
    greetingText?: string;
  } = {},
): Promise<CallBusinessFixture> {
  const twilioNumber = uniqueNumber();
  const [b] = await db
    .insert(businesses)
    .values({ name: opts.name ?? "Calls test business", locale: opts.locale ?? "he-IL", twilioNumber })
    .returning({ id: businesses.id });
  await db.insert(businessSettings).values({
    businessId: b!.id,
    outboundCallCap: opts.outboundCallCap ?? 3,
    inboundCallAction: opts.inboundCallAction ?? null,
    greetingText: opts.greetingText ?? null,
  });
  return { id: b!.id, twilioNumber };
}

async function hmacSha1Base64(key: string, data: string): Promise<string> {
  const k = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(key),
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(data)));
  return btoa(String.fromCharCode(...mac));
}

/** Twilio's signature: URL + each key+value, keys sorted (no repeated keys in these tests). */
export function signTwilio(url: string, params: Record<string, string>, token = TWILIO_TOKEN): Promise<string> {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, k) => acc + k + params[k], url);
  return hmacSha1Base64(token, data);
}

/**
 * POSTs a Twilio webhook form to the Worker, signed over https://PUBLIC_HOST + path (what Twilio
 * does), unless `signature` overrides it (null: no header).
 */
export async function postTwilio(
  path: string,
  params: Record<string, string>,
  opts: { signature?: string | null; signedUrl?: string; token?: string } = {},
): Promise<Response> {
  const signature =
    opts.signature === undefined
      ? await signTwilio(opts.signedUrl ?? `https://${PUBLIC_HOST}${path}`, params, opts.token)
      : opts.signature;
  const headers: Record<string, string> = { "Content-Type": "application/x-www-form-urlencoded" };
  if (signature !== null) headers["X-Twilio-Signature"] = signature;
  return call(path, { method: "POST", headers, body: new URLSearchParams(params).toString() });
}

/** The fake Twilio's control API. */
export const fakeTwilio = {
  async calls(to: string): Promise<FakeTwilioCall[]> {
    const res = await fetch(`${TWILIO_BASE}/__control/calls?to=${encodeURIComponent(to)}`);
    return (await res.json()) as FakeTwilioCall[];
  },
  /** What status lookups of this call answer: a status, or an HTTP error. */
  async script(callSid: string, script: { status: string } | { httpStatus: number }): Promise<void> {
    await fetch(`${TWILIO_BASE}/__control/calls/${callSid}`, { method: "POST", body: JSON.stringify(script) });
  },
  /** createCall to `to` fails with this error: every time, or only the next `times` calls. */
  async failCreate(
    to: string,
    error: { httpStatus: number; code: number; message: string; times?: number },
  ): Promise<void> {
    await fetch(`${TWILIO_BASE}/__control/create-errors`, { method: "POST", body: JSON.stringify({ to, ...error }) });
  },
  /** createCall to `to` creates the call, answers 201 and cuts the connection mid-body (an unknown outcome). */
  async cutCreate(to: string, times?: number): Promise<void> {
    await fetch(`${TWILIO_BASE}/__control/create-cut`, { method: "POST", body: JSON.stringify({ to, times }) });
  },
  async lookups(callSid: string): Promise<number> {
    const res = await fetch(`${TWILIO_BASE}/__control/lookups/${callSid}`);
    return ((await res.json()) as { count: number }).count;
  },
};

/** Requests signed by the official twilio library in the global setup (tests/setup/twilio-vectors.ts). */
export interface TwilioVector {
  name: "incoming-unknown-number" | "status-json-body" | "status-signed-with-port";
  path: string;
  contentType: string;
  body: string;
  signature: string;
  callSid: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    twilioVectors: TwilioVector[];
  }
}
