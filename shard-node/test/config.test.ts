import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/config.js";

const required = {
  SHARD_SECRET: "a-long-enough-secret",
  EDGE_EVENTS_URL: "https://edge.example.com/internal/shards/events",
};

describe("shard config", () => {
  it("has the documented defaults", () => {
    const c = parseConfig(required);
    expect(c).toMatchObject({
      BAILEYS_SHARD_ID: 1,
      BAILEYS_PORT: 3300,
      SHARD_MAX_SESSIONS: 200,
      SHARD_SESSION_DRIVER: "baileys",
      WA_WEBSOCKET_URL: "wss://web.whatsapp.com/ws/chat",
      SQLITE_SYNCHRONOUS: "FULL",
      METRICS_ENABLED: true,
    });
    expect(c.METRICS_TOKEN).toBeUndefined();
  });

  it("names every bad variable and never echoes a value", () => {
    let error: unknown;
    try {
      parseConfig({ SHARD_SECRET: "short-secret", EDGE_EVENTS_URL: "ftp://x", BAILEYS_PORT: "nope" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { issues, message } = error as ConfigError;
    expect(issues.map((i) => i.variable).sort()).toEqual(["BAILEYS_PORT", "EDGE_EVENTS_URL", "SHARD_SECRET"]);
    expect(message).not.toContain("short-secret");
  });

  it("reads numbers, booleans and an empty METRICS_TOKEN as unset", () => {
    const c = parseConfig({
      ...required,
      BAILEYS_SHARD_ID: "3",
      SHARD_MAX_SESSIONS: "50",
      METRICS_ENABLED: "false",
      METRICS_TOKEN: " ",
      WA_WEBSOCKET_URL: "ws://127.0.0.1:9999/ws/chat",
    });
    expect(c).toMatchObject({ BAILEYS_SHARD_ID: 3, SHARD_MAX_SESSIONS: 50, METRICS_ENABLED: false });
    expect(c.METRICS_TOKEN).toBeUndefined();
    expect(c.WA_WEBSOCKET_URL).toBe("ws://127.0.0.1:9999/ws/chat");
  });

  it("refuses a backoff cap below its base", () => {
    expect(() => parseConfig({ ...required, RECONNECT_BASE_MS: "5000", RECONNECT_MAX_MS: "1000" })).toThrow(
      /RECONNECT_MAX_MS/,
    );
  });

  it("is the only module that reads process.env", () => {
    const srcDir = fileURLToPath(new URL("../src", import.meta.url));
    const offenders = (readdirSync(srcDir, { recursive: true }) as string[])
      .filter((f) => f.endsWith(".ts") && f !== "config.ts")
      .filter((f) => /process\.env\b/.test(readFileSync(join(srcDir, f), "utf8")));
    expect(offenders).toEqual([]);
  });
});
