const encoder = new TextEncoder();

/**
 * Compares two secrets without leaking where they differ: `a` is HMACed with a random per-call key
 * and `crypto.subtle.verify` checks `b` against it, so time depends on neither length nor content.
 */
export async function timingSafeEqual(a: string | Uint8Array, b: string | Uint8Array): Promise<boolean> {
  const bytes = (v: string | Uint8Array) => (typeof v === "string" ? encoder.encode(v) : v);
  const key = (await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ])) as CryptoKey;
  const mac = await crypto.subtle.sign("HMAC", key, bytes(a));
  return crypto.subtle.verify("HMAC", key, mac, bytes(b));
}
