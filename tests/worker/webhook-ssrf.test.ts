/**
 * SSRF: in production a webhook may not point (or resolve) at private, loopback, link-local or
 * other non-public addresses, and a delivery re-checks before every attempt. Outside production,
 * loopback is allowed (the local receiver of the other webhook tests).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getConfig, parseConfig } from "../../worker/config";
import { attemptDelivery } from "../../worker/webhooks/deliver";
import { checkWebhookTarget, checkWebhookUrl } from "../../worker/webhooks/target-guard";
import { sink } from "./webhook-fixtures";

const production = parseConfig({ ENVIRONMENT: "production" });

/** A DNS-over-HTTPS resolver that answers each name with the given addresses. */
function resolver(answers: Record<string, string[]> | "down"): typeof fetch {
  return (async (input: RequestInfo | URL) => {
    if (answers === "down") throw new Error("connection refused");
    const url = new URL(String(input));
    const name = url.searchParams.get("name")!;
    const type = url.searchParams.get("type") === "AAAA" ? 28 : 1;
    const records = (answers[name] ?? []).filter((a) => (type === 28) === a.includes(":"));
    return Response.json({ Status: 0, Answer: records.map((data) => ({ type, data })) });
  }) as typeof fetch;
}

describe("in production", () => {
  it.each([
    "https://127.0.0.1/hook",
    "https://127.1.2.3:8443/hook",
    "https://10.0.0.5/hook",
    "https://172.20.1.1/hook",
    "https://192.168.1.10/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/hook",
    "https://0.0.0.0/hook",
    "https://[::1]/hook",
    "https://[fd00::1]/hook",
    "https://[fe80::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[64:ff9b::a00:1]/hook",
    "https://2130706433/hook",
    "https://0x7f.0.0.1/hook",
    "https://localhost/hook",
    "https://printer.local/hook",
    "https://db.internal/hook",
    "https://intranet/hook",
    "http://hooks.example.com/plain-http",
    "https://user:pw@hooks.example.com/creds",
  ])("refuses %s", async (url) => {
    const result = await checkWebhookTarget(url, production, resolver({}));
    expect(result.ok).toBe(false);
  });

  it("refuses a public-looking name that resolves to a private address, and one the resolver cannot answer", async () => {
    const dns = resolver({ "rebind.example.com": ["10.1.2.3"], "v6.example.com": ["93.184.216.34", "::1"] });
    expect(await checkWebhookTarget("https://rebind.example.com/h", production, dns)).toMatchObject({ ok: false });
    expect(await checkWebhookTarget("https://v6.example.com/h", production, dns)).toMatchObject({ ok: false });
    expect(await checkWebhookTarget("https://nowhere.example.com/h", production, dns)).toMatchObject({ ok: false });
    expect(await checkWebhookTarget("https://hooks.example.com/h", production, resolver("down"))).toMatchObject({
      ok: false,
    });
  });

  it("accepts a public https URL", async () => {
    const dns = resolver({ "hooks.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"] });
    expect(await checkWebhookTarget("https://hooks.example.com/h", production, dns)).toEqual({ ok: true });
    expect(checkWebhookUrl("https://93.184.216.34/h", production)).toEqual({ ok: true });
  });

  it("a delivery to a loopback receiver is refused before any request leaves", async () => {
    const target = sink("ssrf");
    const result = await attemptDelivery(
      production,
      {
        url: target.url,
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        previousSecret: null,
        previousSecretExpiresAt: null,
      },
      { eventId: "msg_ssrf", body: "{}" },
    );
    expect(result.ok).toBe(false);
    expect(result.error).toContain("target refused");
    expect(await target.requests()).toHaveLength(0);
  });
});

describe("outside production", () => {
  it("allows loopback, so local receivers work", () => {
    expect(checkWebhookUrl("http://127.0.0.1:9999/hook", getConfig(env))).toEqual({ ok: true });
    expect(checkWebhookUrl("ftp://127.0.0.1/hook", getConfig(env)).ok).toBe(false);
  });
});
