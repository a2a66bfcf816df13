import { describe, expect, it } from "vitest";
import { backoffDelay, decideOnDisconnect } from "../src/sessions/reconnect-policy.js";

const config = { baseMs: 1000, maxMs: 60_000 };
const decide = (code: number | undefined, attempt = 0, wasShowingQr = false, random = () => 0.5) =>
  decideOnDisconnect(code, { attempt, wasShowingQr, config, random });

describe("reconnect policy by disconnect code", () => {
  it("401 logged out: wipe and stop", () => {
    expect(decide(401)).toEqual({ action: "logged_out", reason: "logged out (401)" });
  });

  it("515 restart required: reconnect at once", () => {
    expect(decide(515, 3)).toEqual({ action: "reconnect_now", reason: "restart required (515)" });
  });

  it("408 and 428 back off, exponentially, with jitter, up to the cap", () => {
    const d0 = decide(408, 0);
    const d3 = decide(428, 3);
    const d20 = decide(428, 20);
    expect(d0).toMatchObject({ action: "backoff", reason: "timed out (408)", delayMs: 750 });
    expect(d3).toMatchObject({ action: "backoff", reason: "connection closed (428)", delayMs: 6000 });
    expect(d20).toMatchObject({ action: "backoff", delayMs: 45_000 });
  });

  it("jitter spreads delays between half and all of the exponential step", () => {
    expect(backoffDelay(2, config, () => 0)).toBe(2000);
    expect(backoffDelay(2, config, () => 0.999999)).toBe(4000);
    expect(backoffDelay(50, config, () => 1)).toBe(60_000);
  });

  it("unknown codes and plain network loss back off too", () => {
    expect(decide(undefined)).toMatchObject({ action: "backoff", reason: "connection lost" });
    expect(decide(500)).toMatchObject({ action: "backoff", reason: "bad session (500)" });
    expect(decide(599)).toMatchObject({ action: "backoff", reason: "disconnected (599)" });
  });

  it("440 replaced, 403 forbidden, 411 mismatch: stop rather than fight over the credentials", () => {
    expect(decide(440).action).toBe("stop");
    expect(decide(403).action).toBe("stop");
    expect(decide(411).action).toBe("stop");
  });

  it("a QR nobody scanned (408 while showing it) stops instead of cycling codes forever", () => {
    expect(decide(408, 0, true)).toEqual({ action: "stop", reason: "QR code expired without a scan (408)" });
  });
});
