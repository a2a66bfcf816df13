const encoder = new TextEncoder();

/**
 * Compares two secrets without leaking where they differ: both sides are HMACed with a random
 * per-call key and the digests compared by `crypto.subtle.verify`, so time depends on neither
 * length nor content.
 */
export async function timingSafeEqualStrings(a: string, b: string): Promise<boolean> {
  const key = (await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ])) as CryptoKey;
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(a));
  return crypto.subtle.verify("HMAC", key, mac, encoder.encode(b));
}
