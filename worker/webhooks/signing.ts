/**
 * Standard Webhooks signing (https://www.standardwebhooks.com), with the spec's reference
 * implementation (`standardwebhooks`): `webhook-id`, `webhook-timestamp` (Unix seconds of this
 * attempt) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`). During a
 * secret rotation's overlap the header carries one signature per live secret, space-separated, so
 * a receiver verifies with either the old or the new secret.
 */
import { Webhook } from "standardwebhooks";

/** A new signing secret in the spec's `whsec_<base64>` form (24 random bytes, as Svix makes them). */
export function newSigningSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

export function signedHeaders(
  secrets: readonly string[],
  msgId: string,
  at: Date,
  body: string,
): Record<"webhook-id" | "webhook-timestamp" | "webhook-signature", string> {
  return {
    "webhook-id": msgId,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": secrets.map((secret) => new Webhook(secret).sign(msgId, at, body)).join(" "),
  };
}
