/**
 * Our WebCrypto verifier (worker/calls/twilio-signature.ts) against Twilio's official library:
 * the same signature byte for byte, the same accept/refuse decisions. Runs in Node because the
 * `twilio` package is Node-only; the verifier is plain WebCrypto, so it runs here unchanged.
 */
import { createHash, randomBytes } from "node:crypto";
import twilio from "twilio";
import { describe, expect, it } from "vitest";
import {
  type TwilioParams,
  twilioSignature,
  urlPortVariants,
  verifyTwilioSignature,
} from "../../worker/calls/twilio-signature";

const TOKEN = "12345678901234567890123456789012";

interface Case {
  name: string;
  url: string;
  params: TwilioParams;
}

const cases: Case[] = [
  {
    name: "a status callback form",
    url: "https://api.example.com/twilio/voice/status?callLogId=42",
    params: { CallSid: `CA${"a".repeat(32)}`, CallStatus: "completed", SequenceNumber: "3", CallDuration: "17" },
  },
  {
    name: "unicode (Hebrew) values and keys that sort by code unit",
    url: "https://api.example.com/twilio/voice/incoming",
    params: { From: "+972501234567", CallerName: "דני כהן", a: "1", B: "2", Z: "ü", _x: "" },
  },
  {
    name: "repeated parameters (duplicates removed, values sorted)",
    url: "https://api.example.com/twilio/voice/status",
    params: { StatusCallbackEvent: ["ringing", "initiated", "ringing", "completed"], To: "+15005550006" },
  },
  {
    name: "characters that need URL encoding on the wire",
    url: "https://api.example.com/twilio/voice/recording?x=a%20b&y=1",
    params: {
      RecordingUrl: "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1?a=1&b=2",
      Note: "a+b = c & d",
    },
  },
  { name: "no parameters", url: "https://api.example.com/twilio/voice/status", params: {} },
  {
    name: "a URL with an explicit port",
    url: "https://api.example.com:8443/twilio/voice/status",
    params: { CallSid: "CA1", CallStatus: "ringing" },
  },
];

describe("Twilio signature: same bytes as the official library", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const ours = await twilioSignature(TOKEN, c.url, c.params);
      expect(ours).toBe(twilio.getExpectedTwilioSignature(TOKEN, c.url, c.params));
      expect(await verifyTwilioSignature({ authToken: TOKEN, url: c.url, params: c.params, signature: ours })).toBe(
        true,
      );
      expect(twilio.validateRequest(TOKEN, ours, c.url, c.params)).toBe(true);
    });
  }

  it("agrees on 300 random parameter sets", async () => {
    const alphabet = ["a", "Z", "_", "-", "0", " ", "&", "=", "+", "ש", "é", "😀", "%", "?"];
    const word = () =>
      Array.from({ length: 1 + (randomBytes(1)[0]! % 8) }, () => alphabet[randomBytes(1)[0]! % alphabet.length]).join(
        "",
      );
    for (let i = 0; i < 300; i++) {
      const params: TwilioParams = {};
      for (let k = 0; k < randomBytes(1)[0]! % 6; k++) {
        params[word()] = randomBytes(1)[0]! % 4 === 0 ? [word(), word(), word()] : word();
      }
      const url = `https://h${i}.example.com/p/${encodeURIComponent(word())}?q=${encodeURIComponent(word())}`;
      expect(await twilioSignature(TOKEN, url, params)).toBe(twilio.getExpectedTwilioSignature(TOKEN, url, params));
    }
  });
});

describe("Twilio signature: port variants, as the library accepts them", () => {
  it("lists the URL with and without the default port", () => {
    expect(urlPortVariants("https://a.example/x?y=1")).toEqual([
      "https://a.example/x?y=1",
      "https://a.example:443/x?y=1",
    ]);
    expect(urlPortVariants("https://a.example:443/x")).toEqual(["https://a.example:443/x", "https://a.example/x"]);
    expect(urlPortVariants("http://a.example/x")).toEqual(["http://a.example/x", "http://a.example:80/x"]);
  });

  it("accepts a signature made over the URL with :443 when we know it without, and the reverse", async () => {
    const params = { CallSid: "CA1", CallStatus: "ringing" };
    const withPort = twilio.getExpectedTwilioSignature(
      TOKEN,
      "https://api.example.com:443/twilio/voice/status",
      params,
    );
    const withoutPort = twilio.getExpectedTwilioSignature(TOKEN, "https://api.example.com/twilio/voice/status", params);
    const check = (url: string, signature: string) =>
      verifyTwilioSignature({ authToken: TOKEN, url, params, signature });
    expect(await check("https://api.example.com/twilio/voice/status", withPort)).toBe(true);
    expect(await check("https://api.example.com:443/twilio/voice/status", withoutPort)).toBe(true);
    expect(twilio.validateRequest(TOKEN, withPort, "https://api.example.com/twilio/voice/status", params)).toBe(true);
    // A different port is a different URL.
    const other = twilio.getExpectedTwilioSignature(TOKEN, "https://api.example.com:8443/twilio/voice/status", params);
    expect(await check("https://api.example.com/twilio/voice/status", other)).toBe(false);
    expect(twilio.validateRequest(TOKEN, other, "https://api.example.com/twilio/voice/status", params)).toBe(false);
  });
});

describe("Twilio signature: JSON bodies (bodySHA256)", () => {
  const body = JSON.stringify({ CallSid: "CA1", CallStatus: "completed", note: "שלום" });
  const hash = createHash("sha256").update(body).digest("hex");
  const url = `https://api.example.com/twilio/voice/status?bodySHA256=${hash}`;
  const signature = twilio.getExpectedTwilioSignature(TOKEN, url, {});

  it("accepts the body Twilio signed, as the library does", async () => {
    expect(twilio.validateRequestWithBody(TOKEN, signature, url, body)).toBe(true);
    expect(await verifyTwilioSignature({ authToken: TOKEN, url, params: {}, body, signature })).toBe(true);
  });

  it("refuses a changed body, as the library does", async () => {
    const changed = body.replace("completed", "canceled");
    expect(twilio.validateRequestWithBody(TOKEN, signature, url, changed)).toBe(false);
    expect(await verifyTwilioSignature({ authToken: TOKEN, url, params: {}, body: changed, signature })).toBe(false);
  });

  it("refuses a body whose hash was swapped into the URL (the URL is what is signed)", async () => {
    const changed = body.replace("completed", "canceled");
    const forgedUrl = `https://api.example.com/twilio/voice/status?bodySHA256=${createHash("sha256").update(changed).digest("hex")}`;
    expect(twilio.validateRequestWithBody(TOKEN, signature, forgedUrl, changed)).toBe(false);
    expect(
      await verifyTwilioSignature({ authToken: TOKEN, url: forgedUrl, params: {}, body: changed, signature }),
    ).toBe(false);
  });
});

describe("Twilio signature: refusals", () => {
  const url = "https://api.example.com/twilio/voice/status?callLogId=7";
  const params = { CallSid: "CA1", CallStatus: "completed", SequenceNumber: "3" };
  const good = twilio.getExpectedTwilioSignature(TOKEN, url, params);
  const refusedByBoth = async (input: {
    url?: string;
    params?: TwilioParams;
    signature?: string | null;
    token?: string;
  }) => {
    const u = input.url ?? url;
    const p = input.params ?? params;
    const s = input.signature === undefined ? good : input.signature;
    const t = input.token ?? TOKEN;
    expect(twilio.validateRequest(t, s ?? "", u, p as Record<string, string>)).toBe(false);
    expect(await verifyTwilioSignature({ authToken: t, url: u, params: p, signature: s })).toBe(false);
  };

  it("a tampered parameter", () => refusedByBoth({ params: { ...params, CallStatus: "in-progress" } }));
  it("an added parameter", () => refusedByBoth({ params: { ...params, Extra: "1" } }));
  it("a removed parameter", () => refusedByBoth({ params: { CallSid: "CA1", CallStatus: "completed" } }));
  it("the wrong auth token", () => refusedByBoth({ token: "00000000000000000000000000000000" }));
  it("a different path", () => refusedByBoth({ url: "https://api.example.com/twilio/voice/incoming?callLogId=7" }));
  it("a different query", () => refusedByBoth({ url: "https://api.example.com/twilio/voice/status?callLogId=8" }));
  it("a different host", () => refusedByBoth({ url: "https://evil.example.com/twilio/voice/status?callLogId=7" }));
  it("http instead of https", () => refusedByBoth({ url: "http://api.example.com/twilio/voice/status?callLogId=7" }));
  it("a missing header", () => refusedByBoth({ signature: null }));
  it("an empty header", () => refusedByBoth({ signature: "" }));
  it("a header that is not base64", () => refusedByBoth({ signature: "not base64 !!" }));
  it("a truncated signature", () => refusedByBoth({ signature: good.slice(0, 20) }));
});
