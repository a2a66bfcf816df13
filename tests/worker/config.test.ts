import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig, requirePublicHost } from "../../worker/config";
import { callWithSettings, errorOf } from "./helpers";

describe("configuration", () => {
  it("has the old system's defaults when nothing is set", () => {
    const config = parseConfig({});
    expect(config.BAILEYS_NUM_SHARDS).toBe(1);
    expect(config.BAILEYS_PORT).toBe(3300);
    expect(config.MAX_CONCURRENT_CALLS).toBe(50);
    expect(config.BUSINESS_CALL_CAP_DEFAULT).toBe(3);
    expect(config.METRICS_ENABLED).toBe(true);
    expect(config.METRICS_TOKEN).toBeUndefined();
    expect(config.PUBLIC_HOST).toBeUndefined();
    expect(config.shardUrlOverrides.size).toBe(0);
  });

  it("reads overrides, including BAILEYS_SHARD_{N}_URL", () => {
    const config = parseConfig({
      MAX_CONCURRENT_CALLS: "80",
      METRICS_ENABLED: "false",
      BAILEYS_NUM_SHARDS: "3",
      BAILEYS_SHARD_2_URL: "http://10.0.0.2:3300/",
    });
    expect(config.MAX_CONCURRENT_CALLS).toBe(80);
    expect(config.METRICS_ENABLED).toBe(false);
    expect(config.BAILEYS_NUM_SHARDS).toBe(3);
    expect(config.shardUrlOverrides.get(2)).toBe("http://10.0.0.2:3300");
  });

  it("treats an empty value as unset", () => {
    expect(parseConfig({ MAX_CONCURRENT_CALLS: "", PUBLIC_HOST: " " }).MAX_CONCURRENT_CALLS).toBe(50);
  });

  it("names every bad variable", () => {
    let error: unknown;
    try {
      parseConfig({
        MAX_CONCURRENT_CALLS: "lots",
        METRICS_ENABLED: "maybe",
        BAILEYS_SHARD_2_URL: "not a url",
        PUBLIC_HOST: "https://x.com/path",
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const variables = (error as ConfigError).issues.map((i) => i.variable).sort();
    expect(variables).toEqual(["BAILEYS_SHARD_2_URL", "MAX_CONCURRENT_CALLS", "METRICS_ENABLED", "PUBLIC_HOST"]);
  });

  it("fails fast where PUBLIC_HOST is needed and missing", () => {
    expect(() => requirePublicHost(parseConfig({}))).toThrow(/PUBLIC_HOST/);
    expect(requirePublicHost(parseConfig({ PUBLIC_HOST: "api.example.com" }))).toBe("api.example.com");
  });

  it("a bad setting in the Worker's env is a clear 500 naming the variable, not a crash", async () => {
    const res = await callWithSettings({ MAX_CONCURRENT_CALLS: "-5" }, "/health");
    expect(res.status).toBe(500);
    const error = await errorOf(res);
    expect(error.code).toBe("config_invalid");
    expect(error.message).toContain("MAX_CONCURRENT_CALLS");
  });
});
