/**
 * Request signing between shard nodes and the edge, and the per-shard keys.
 *
 * Each shard has its own key: the bearer for edge → shard calls and the HMAC key for its events,
 * so one shard's key cannot speak for another shard (or for the businesses another shard holds).
 *
 * Shard → edge events: `X-Shard-Signature: v2=<hex HMAC-SHA256(key, "<timestamp>.<shard id>.<raw body>")>`
 * with `X-Shard-Timestamp: <unix seconds>` and `X-Shard-Id: <n>`. The shard id is signed, so a
 * delivery cannot be replayed under another shard's name; the timestamp lets the edge refuse old
 * or replayed deliveries without keeping every signature forever. Verification uses
 * `crypto.subtle.verify`, which compares in constant time.
 */
export const SHARD_ID_HEADER = "x-shard-id";
export const SHARD_TIMESTAMP_HEADER = "x-shard-timestamp";
export const SHARD_SIGNATURE_HEADER = "x-shard-signature";
const VERSION_PREFIX = "v2=";

const encoder = new TextEncoder();

async function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

function toHex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(hex: string): Uint8Array | null {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * Shard N's key derived from one master secret: hex HMAC-SHA256(master, "prosaas-shard-key:v1:N").
 * The edge can then hold one secret for every shard while each shard is given only its own key
 * (knowing shard 2's key tells nothing about shard 1's or the master). An explicit
 * `SHARD_{N}_SECRET` on the edge replaces the derived key, e.g. to rotate one shard.
 */
export async function deriveShardSecret(master: string, shardId: number): Promise<string> {
  const key = await hmacKey(master);
  return toHex(await crypto.subtle.sign("HMAC", key, encoder.encode(`prosaas-shard-key:v1:${shardId}`)));
}

const signedText = (timestamp: number, shardId: number, body: string) => `${timestamp}.${shardId}.${body}`;

export async function signShardPayload(
  secret: string,
  delivery: { shardId: number; timestamp: number; body: string },
): Promise<string> {
  const key = await hmacKey(secret);
  const mac = await crypto.subtle.sign(
    "HMAC",
    key,
    encoder.encode(signedText(delivery.timestamp, delivery.shardId, delivery.body)),
  );
  return `${VERSION_PREFIX}${toHex(mac)}`;
}

/** `X-Shard-Id` as a shard number, or null when it is not one. */
export function parseShardIdHeader(value: string | null | undefined): number | null {
  if (!value || !/^[1-9]\d{0,5}$/.test(value)) return null;
  return Number(value);
}

export type ShardSignatureCheck =
  | { ok: true }
  | { ok: false; reason: "missing_signature" | "bad_timestamp" | "stale_timestamp" | "bad_signature" };

/** Verifies a signed delivery. `maxSkewSeconds` bounds how old (or how far ahead) a timestamp may be. */
export async function verifyShardPayload(opts: {
  secret: string;
  /** The sending shard, from `X-Shard-Id`: part of what is signed. */
  shardId: number;
  timestampHeader: string | null | undefined;
  signatureHeader: string | null | undefined;
  body: string;
  nowSeconds: number;
  maxSkewSeconds: number;
}): Promise<ShardSignatureCheck> {
  const { timestampHeader, signatureHeader } = opts;
  if (!signatureHeader || !timestampHeader) return { ok: false, reason: "missing_signature" };
  if (!/^\d{1,12}$/.test(timestampHeader)) return { ok: false, reason: "bad_timestamp" };
  const timestamp = Number(timestampHeader);
  if (Math.abs(opts.nowSeconds - timestamp) > opts.maxSkewSeconds) return { ok: false, reason: "stale_timestamp" };
  if (!signatureHeader.startsWith(VERSION_PREFIX)) return { ok: false, reason: "bad_signature" };
  const mac = fromHex(signatureHeader.slice(VERSION_PREFIX.length));
  if (mac?.length !== 32) return { ok: false, reason: "bad_signature" };
  const key = await hmacKey(opts.secret);
  const valid = await crypto.subtle.verify(
    "HMAC",
    key,
    mac,
    encoder.encode(signedText(timestamp, opts.shardId, opts.body)),
  );
  return valid ? { ok: true } : { ok: false, reason: "bad_signature" };
}
