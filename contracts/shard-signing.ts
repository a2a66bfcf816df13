/**
 * Request signing between shard nodes and the edge.
 *
 * Shard → edge events: `X-Shard-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`
 * with `X-Shard-Timestamp: <unix seconds>` and `X-Shard-Id: <n>`. Signing the timestamp with the
 * body lets the edge refuse old or replayed deliveries without keeping every signature forever.
 * Verification uses `crypto.subtle.verify`, which compares in constant time.
 */
export const SHARD_ID_HEADER = "x-shard-id";
export const SHARD_TIMESTAMP_HEADER = "x-shard-timestamp";
export const SHARD_SIGNATURE_HEADER = "x-shard-signature";
const VERSION_PREFIX = "v1=";

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

export async function signShardPayload(secret: string, timestamp: number, body: string): Promise<string> {
  const key = await hmacKey(secret);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${body}`));
  return `${VERSION_PREFIX}${toHex(mac)}`;
}

export type ShardSignatureCheck =
  | { ok: true }
  | { ok: false; reason: "missing_signature" | "bad_timestamp" | "stale_timestamp" | "bad_signature" };

/** Verifies a signed delivery. `maxSkewSeconds` bounds how old (or how far ahead) a timestamp may be. */
export async function verifyShardPayload(opts: {
  secret: string;
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
  const valid = await crypto.subtle.verify("HMAC", key, mac, encoder.encode(`${timestamp}.${opts.body}`));
  return valid ? { ok: true } : { ok: false, reason: "bad_signature" };
}
