/**
 * Where a webhook may be sent (SSRF guard). In production a subscription's URL must be https and
 * its host must not be, or resolve to, a private, loopback, link-local, shared (CGNAT), multicast
 * or reserved address; the check runs when the URL is saved and again before every attempt
 * (DNS can change). Names are resolved with DNS-over-HTTPS (WEBHOOK_DNS_RESOLVER_URL); a name that
 * cannot be resolved is refused (fail closed). Outside production, loopback is allowed so local
 * receivers and tests work. Deliveries also never follow redirects (./deliver.ts), so a public URL
 * cannot bounce a request inward.
 */
import type { Config } from "../config";

export type TargetCheck = { ok: true } | { ok: false; reason: string };

const BLOCKED_SUFFIXES = [".localhost", ".local", ".internal", ".home.arpa", ".lan"];

function ipv4Bytes(host: string): number[] | null {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return null;
  const bytes = parts.map(Number);
  return bytes.every((b) => b <= 255) ? bytes : null;
}

function privateIpv4([a, b, c]: number[]): string | null {
  if (a === undefined || b === undefined || c === undefined) return null;
  if (a === 0) return "unspecified (0.0.0.0/8)";
  if (a === 10) return "private (10.0.0.0/8)";
  if (a === 127) return "loopback (127.0.0.0/8)";
  if (a === 169 && b === 254) return "link-local (169.254.0.0/16)";
  if (a === 172 && b >= 16 && b <= 31) return "private (172.16.0.0/12)";
  if (a === 192 && b === 168) return "private (192.168.0.0/16)";
  if (a === 100 && b >= 64 && b <= 127) return "shared address space (100.64.0.0/10)";
  if (a === 192 && b === 0 && c === 0) return "IETF protocol assignments (192.0.0.0/24)";
  if (a === 198 && (b === 18 || b === 19)) return "benchmarking (198.18.0.0/15)";
  if (a >= 224) return "multicast or reserved (224.0.0.0/3)";
  return null;
}

/** An IPv6 address as 8 groups, or null. */
function ipv6Groups(host: string): number[] | null {
  if (!host.includes(":")) return null;
  let text = host;
  // A trailing dotted IPv4 (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const bytes = ipv4Bytes(v4[1]!);
    if (!bytes) return null;
    text = `${text.slice(0, -v4[1]!.length)}${((bytes[0]! << 8) | bytes[1]!).toString(16)}:${((bytes[2]! << 8) | bytes[3]!).toString(16)}`;
  }
  const [head, tail, extra] = text.split("::");
  if (extra !== undefined) return null;
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const missing = 8 - h.length - t.length;
  if (tail === undefined ? missing !== 0 : missing < 0) return null;
  const groups = [...h, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...t];
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return null;
  return groups.map((g) => Number.parseInt(g, 16));
}

function privateIpv6(g: number[]): string | null {
  if (g.every((x) => x === 0)) return "unspecified (::)";
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return "loopback (::1)";
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d): judge the IPv4 inside.
  const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0);
  if (mapped || nat64) {
    const inner = privateIpv4([g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff]);
    return inner ? `${inner} inside IPv6` : null;
  }
  if ((g[0]! & 0xfe00) === 0xfc00) return "unique local (fc00::/7)";
  if ((g[0]! & 0xffc0) === 0xfe80) return "link-local (fe80::/10)";
  if ((g[0]! & 0xff00) === 0xff00) return "multicast (ff00::/8)";
  return null;
}

/** Why this IP address literal is not a public unicast address, or null if it is. */
export function nonPublicAddress(address: string): string | null {
  const host = address.replace(/^\[|\]$/g, "");
  const v4 = ipv4Bytes(host);
  if (v4) return privateIpv4(v4);
  const v6 = ipv6Groups(host);
  if (v6) return privateIpv6(v6);
  return null;
}

function isIpLiteral(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  return ipv4Bytes(bare) !== null || ipv6Groups(bare) !== null;
}

/** The checks that need no network: scheme, credentials, and the host as written. */
export function checkWebhookUrl(raw: string, config: Config): TargetCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "is not a URL" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return { ok: false, reason: "must be an http(s) URL" };
  if (url.username || url.password) return { ok: false, reason: "must not carry credentials" };
  if (config.ENVIRONMENT !== "production") return { ok: true };
  if (url.protocol !== "https:") return { ok: false, reason: "must be https" };
  // WHATWG URL parsing already turned 2130706433, 0x7f.1 and friends into dotted form.
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  if (host === "localhost" || BLOCKED_SUFFIXES.some((s) => host.endsWith(s)))
    return { ok: false, reason: `host ${host} is a local name` };
  const literal = nonPublicAddress(host);
  if (literal) return { ok: false, reason: `host ${host} is a ${literal} address` };
  if (!host.includes(".") && !isIpLiteral(host)) return { ok: false, reason: `host ${host} is not a public name` };
  return { ok: true };
}

interface DohAnswer {
  Status: number;
  Answer?: { type: number; data: string }[];
}

/** The URL check, then (production, names only) every A/AAAA record the name resolves to. */
export async function checkWebhookTarget(
  raw: string,
  config: Config,
  fetcher: typeof fetch = fetch,
): Promise<TargetCheck> {
  const basic = checkWebhookUrl(raw, config);
  if (!basic.ok || config.ENVIRONMENT !== "production") return basic;
  const host = new URL(raw).hostname.replace(/\.$/, "");
  if (isIpLiteral(host)) return basic;
  const addresses: string[] = [];
  for (const type of ["A", "AAAA"]) {
    let answer: DohAnswer;
    try {
      const res = await fetcher(`${config.WEBHOOK_DNS_RESOLVER_URL}?name=${encodeURIComponent(host)}&type=${type}`, {
        headers: { accept: "application/dns-json" },
        signal: AbortSignal.timeout(5_000),
      });
      if (!res.ok) return { ok: false, reason: `could not resolve ${host} (resolver answered ${res.status})` };
      answer = (await res.json()) as DohAnswer;
    } catch (err) {
      return { ok: false, reason: `could not resolve ${host} (${err instanceof Error ? err.message : String(err)})` };
    }
    for (const record of answer.Answer ?? []) if (record.type === 1 || record.type === 28) addresses.push(record.data);
  }
  if (addresses.length === 0) return { ok: false, reason: `${host} does not resolve to an address` };
  for (const address of addresses) {
    const why = nonPublicAddress(address);
    if (why) return { ok: false, reason: `${host} resolves to ${address}, a ${why} address` };
  }
  return { ok: true };
}
