/**
 * Webhook requests signed by the official `twilio` library (Node-only), handed to the workerd
 * tests with vitest's provide/inject, so the routes are proven to accept what Twilio really sends,
 * not just what our own verifier computes.
 */
import { createHash, randomBytes } from "node:crypto";
import twilio from "twilio";
import type { FakeTwilioPlan } from "./twilio-plan";

export interface TwilioVector {
  name: "incoming-unknown-number" | "status-json-body" | "status-signed-with-port";
  /** Path and query the request is sent to. */
  path: string;
  contentType: string;
  body: string;
  signature: string;
  /** The CallSid inside the body. */
  callSid: string;
}

export function twilioSignatureVectors(plan: FakeTwilioPlan): TwilioVector[] {
  const sid = () => `CA${randomBytes(16).toString("hex")}`;
  const base = `https://${plan.publicHost}`;

  const incomingSid = sid();
  const incoming = {
    AccountSid: plan.accountSid,
    ApiVersion: "2010-04-01",
    CallSid: incomingSid,
    CallStatus: "ringing",
    Caller: "+972501234567",
    Direction: "inbound",
    From: "+972501234567",
    To: "+15559990000",
  };

  const jsonSid = sid();
  const jsonBody = JSON.stringify({ CallSid: jsonSid, CallStatus: "completed", SequenceNumber: 3 });
  const jsonPath = `/twilio/voice/status?bodySHA256=${createHash("sha256").update(jsonBody).digest("hex")}`;

  const portSid = sid();
  const port = { CallSid: portSid, CallStatus: "ringing", SequenceNumber: "1" };

  return [
    {
      name: "incoming-unknown-number",
      path: "/twilio/voice/incoming",
      contentType: "application/x-www-form-urlencoded",
      body: new URLSearchParams(incoming).toString(),
      signature: twilio.getExpectedTwilioSignature(plan.authToken, `${base}/twilio/voice/incoming`, incoming),
      callSid: incomingSid,
    },
    {
      name: "status-json-body",
      path: jsonPath,
      contentType: "application/json",
      body: jsonBody,
      signature: twilio.getExpectedTwilioSignature(plan.authToken, `${base}${jsonPath}`, {}),
      callSid: jsonSid,
    },
    {
      name: "status-signed-with-port",
      path: "/twilio/voice/status",
      contentType: "application/x-www-form-urlencoded",
      body: new URLSearchParams(port).toString(),
      signature: twilio.getExpectedTwilioSignature(
        plan.authToken,
        `https://${plan.publicHost}:443/twilio/voice/status`,
        port,
      ),
      callSid: portSid,
    },
  ];
}
