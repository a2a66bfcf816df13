/**
 * Reads a Twilio webhook only after its X-Twilio-Signature checks out. The URL checked is the one
 * Twilio was given — https://PUBLIC_HOST + path + query — never one rebuilt from request headers
 * (Host and X-Forwarded-* are whatever the sender says). Form bodies are the norm; JSON bodies are
 * accepted when the URL carries bodySHA256. Refusals are 403 `invalid_signature`, counted, logged,
 * and nothing else happens.
 */
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { ConfigError, requirePublicHost } from "../config";
import { ApiError } from "../errors";
import { log } from "../lib/log";
import { twilioSignatureFailures } from "../metrics/calls";
import { type TwilioParams, verifyTwilioSignature } from "./twilio-signature";

/** The public URL of this request as Twilio knows it. */
export function publicRequestUrl(publicHost: string, requestUrl: string): string {
  const { pathname, search } = new URL(requestUrl);
  return `https://${publicHost}${pathname}${search}`;
}

/** Verified parameters, one value per key (the first, for a repeated key). */
export async function verifiedTwilioParams(c: Context<AppEnv>, route: string): Promise<Record<string, string>> {
  const config = c.get("config");
  if (!config.TWILIO_AUTH_TOKEN) {
    throw new ConfigError([
      { variable: "TWILIO_AUTH_TOKEN", message: "is not set; Twilio webhooks cannot be verified" },
    ]);
  }
  const url = publicRequestUrl(requirePublicHost(config), c.req.url);
  const body = await c.req.text();
  const isJson = (c.req.header("content-type") ?? "").toLowerCase().startsWith("application/json");

  const params: TwilioParams = {};
  let flat: Record<string, string> = {};
  if (isJson) {
    try {
      const parsed = JSON.parse(body) as unknown;
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
        flat = Object.fromEntries(
          Object.entries(parsed as Record<string, unknown>)
            .filter(([, v]) => v !== null && typeof v !== "object")
            .map(([k, v]) => [k, String(v)]),
        );
      }
    } catch {
      // Checked below: a body that is not JSON fails the bodySHA256 check or the handler's validation.
    }
  } else {
    for (const [key, value] of new URLSearchParams(body)) {
      const existing = params[key];
      if (existing === undefined) params[key] = value;
      else params[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
      flat[key] ??= value;
    }
  }

  const ok = await verifyTwilioSignature({
    authToken: config.TWILIO_AUTH_TOKEN,
    url,
    params,
    body,
    signature: c.req.header("x-twilio-signature"),
  });
  // A JSON body is only trusted through bodySHA256; without it there is nothing signed about the body.
  if (!ok || (isJson && !new URL(url).searchParams.has("bodySHA256"))) {
    twilioSignatureFailures.inc({ route });
    log.warn("twilio webhook refused: bad or missing signature", {
      requestId: c.get("requestId"),
      route,
      hasSignature: Boolean(c.req.header("x-twilio-signature")),
    });
    throw new ApiError("invalid_signature", "X-Twilio-Signature is missing or does not match this request");
  }
  return flat;
}
