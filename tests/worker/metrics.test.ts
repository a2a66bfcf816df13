import { describe, expect, it } from "vitest";
import { call, callWithSettings, errorOf } from "./helpers";

const TOKEN = "metrics-token-for-tests-0123456789";

describe("GET /metrics", () => {
  it("is 404 when no token is configured (metrics off)", async () => {
    const res = await call("/metrics", { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(404);
  });

  it("is 404 when METRICS_ENABLED is false even with a token", async () => {
    const res = await callWithSettings({ METRICS_ENABLED: "false", METRICS_TOKEN: TOKEN }, "/metrics", {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(404);
  });

  it("is 401 with a wrong or missing token", async () => {
    const wrong = await callWithSettings({ METRICS_TOKEN: TOKEN }, "/metrics", {
      headers: { Authorization: "Bearer nope" },
    });
    expect(wrong.status).toBe(401);
    expect((await errorOf(wrong)).code).toBe("unauthorized");
    const missing = await callWithSettings({ METRICS_TOKEN: TOKEN }, "/metrics");
    expect(missing.status).toBe(401);
  });

  it("serves Prometheus text with request counts by route and status", async () => {
    await callWithSettings({ METRICS_TOKEN: TOKEN }, "/health");
    await callWithSettings({ METRICS_TOKEN: TOKEN }, "/no/such/route");
    const res = await callWithSettings({ METRICS_TOKEN: TOKEN }, "/metrics", {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    expect(text).toContain("# TYPE prosaas_http_requests_total counter");
    expect(text).toMatch(
      /prosaas_http_requests_total\{method="GET",route="\/health",status="200",isolate="[^"]+"\} [1-9]/,
    );
    expect(text).toMatch(
      /prosaas_http_requests_total\{method="GET",route="unmatched",status="404",isolate="[^"]+"\} [1-9]/,
    );
  });
});
