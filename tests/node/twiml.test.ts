/**
 * Our TwiML (worker/calls/twiml.ts, voice-prompts.ts) against Twilio's own VoiceResponse: the same
 * document byte for byte, escaping included, so what callers hear is what Twilio parses.
 */
import twilio from "twilio";
import { describe, expect, it } from "vitest";
import { dial, hangup, record, say, twimlResponse } from "../../worker/calls/twiml";
import { sayGreeting, sayPrompt } from "../../worker/calls/voice-prompts";

const { VoiceResponse } = twilio.twiml;

describe("TwiML builder", () => {
  it("escapes text and attributes exactly as Twilio's library does", () => {
    const text = `Tom & Jerry's <b>"show"</b> > 3 \r\n\tשלום`;
    const url = `https://calls.example.com/twilio/voice/recording?a=1&b="2"&c=<3>\t\n`;
    const ref = new VoiceResponse();
    ref.say({ language: "en-US" }, text);
    ref.record({ action: url, maxLength: 120, playBeep: true, recordingStatusCallback: url });
    ref.hangup();
    expect(
      twimlResponse(
        say(text, { language: "en-US" }),
        record({ action: url, maxLength: 120, playBeep: true, recordingStatusCallback: url }),
        hangup(),
      ),
    ).toBe(ref.toString());
  });

  it("builds the forward answer (greeting + Dial)", () => {
    const ref = new VoiceResponse();
    ref.say({ language: "he-IL", voice: "Google.he-IL-Standard-A" }, "שלום, הגעתם למספרה של דנה.");
    ref.dial({ timeout: 60 }, "+972501234567");
    expect(twimlResponse(sayGreeting("he", "מספרה של דנה", null), dial("+972501234567", { timeout: 60 }))).toBe(
      ref.toString(),
    );
  });

  it("builds the at-capacity refusal in Hebrew and in English", () => {
    for (const lang of ["he", "en"] as const) {
      const ours = twimlResponse(sayPrompt(lang, "atCapacity"), hangup());
      const prompt = sayPrompt(lang, "atCapacity");
      const ref = new VoiceResponse();
      ref.say(prompt.attrs as { language: "he-IL" }, prompt.children[0] as string);
      ref.hangup();
      expect(ours).toBe(ref.toString());
    }
    expect(twimlResponse(sayPrompt("he", "atCapacity"))).toContain('language="he-IL" voice="Google.he-IL-Standard-A"');
    expect(twimlResponse(sayPrompt("en", "atCapacity"))).toContain('language="en-US"');
  });

  it("drops characters XML cannot carry instead of producing a document Twilio rejects", () => {
    expect(twimlResponse(say("a\u0000b\u0007c"))).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Say>abc</Say></Response>',
    );
  });

  it("uses the business's own greeting when it has one", () => {
    const ours = twimlResponse(sayGreeting("en", "Acme", "  Thanks for calling Acme & Co.  "));
    expect(ours).toContain('<Say language="en-US">Thanks for calling Acme &amp; Co.</Say>');
  });
});
