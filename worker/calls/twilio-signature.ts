/**
 * X-Twilio-Signature verification with WebCrypto (the `twilio` package is Node-only).
 *
 * Twilio signs HMAC-SHA1(auth token) over the full URL it was configured with (query included),
 * followed by each POST parameter as key + value, keys sorted, a repeated key's values
 * de-duplicated and sorted; base64. For JSON bodies the URL carries `bodySHA256` (hex SHA-256 of
 * the body): the URL alone is signed and the body must hash to that value. Like Twilio's library we
 * accept the URL with and without the scheme's default port. The comparison is
 * `crypto.subtle.verify`, which is constant time. tests/node/twilio-signature.test.ts checks this
 * module against the official library byte for byte.
 */
const encoder = new TextEncoder();

export type TwilioParams = Record<string, string | string[]>;

/** The exact string Twilio signs for `url` and form `params`. */
export function signedPayload(url: string, params: TwilioParams): string {
  let data = url;
  for (const key of Object.keys(params).sort()) {
    const value = params[key]!;
    for (const v of Array.isArray(value) ? [...new Set(value)].sort() : [value]) data += key + v;
  }
  return data;
}

function hmacKey(authToken: string, usage: "sign" | "verify"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(authToken), { name: "HMAC", hash: "SHA-1" }, false, [usage]);
}

/** The signature Twilio would send (tests and tooling; verification uses `verifyTwilioSignature`). */
export async function twilioSignature(authToken: string, url: string, params: TwilioParams): Promise<string> {
  const mac = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(authToken, "sign"),
    encoder.encode(signedPayload(url, params)),
  );
  return btoa(String.fromCharCode(...new Uint8Array(mac)));
}

/** The URL as given, plus the same URL with the default port added (if absent) or removed (if present). */
export function urlPortVariants(url: string): string[] {
  const m = /^(https?:\/\/)([^/?#]*)(.*)$/i.exec(url);
  if (!m) return [url];
  const [, scheme, authority, rest] = m as unknown as [string, string, string, string];
  const port = /:\d+$/.exec(authority);
  if (port) return [url, scheme + authority.slice(0, port.index) + rest];
  return [url, `${scheme}${authority}${scheme.toLowerCase() === "https://" ? ":443" : ":80"}${rest}`];
}

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function verifyTwilioSignature(input: {
  authToken: string;
  /** The public URL Twilio was given (https://PUBLIC_HOST + path + query), never one rebuilt from request headers. */
  url: string;
  /** Form parameters; ignored (treated as none) when the URL carries bodySHA256. */
  params: TwilioParams;
  /** The raw body: required for bodySHA256 (JSON) requests. */
  body?: string;
  signature: string | null | undefined;
}): Promise<boolean> {
  if (!input.signature) return false;
  let signature: Uint8Array;
  try {
    signature = Uint8Array.from(atob(input.signature), (ch) => ch.charCodeAt(0));
  } catch {
    return false;
  }
  let params = input.params;
  const bodyHash = new URL(input.url).searchParams.get("bodySHA256");
  if (bodyHash !== null) {
    // The hash is public (anyone can hash the body); what protects it is that the signed URL carries it.
    if (input.body === undefined || (await sha256Hex(input.body)) !== bodyHash) return false;
    params = {};
  }
  const key = await hmacKey(input.authToken, "verify");
  for (const url of urlPortVariants(input.url)) {
    if (await crypto.subtle.verify("HMAC", key, signature, encoder.encode(signedPayload(url, params)))) return true;
  }
  return false;
}
