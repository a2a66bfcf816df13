import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startNeonWsProxy } from "../../scripts/lib/neon-ws-proxy";

const proxy = await startNeonWsProxy();
afterAll(() => proxy.close());

function closeCode(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on("close", (code) => resolve(code));
    ws.on("error", reject);
  });
}

describe("Neon WebSocket proxy", () => {
  it("refuses to relay to anything but loopback (never an open relay)", async () => {
    expect(await closeCode(`ws://${proxy.address}/v2?address=10.0.0.1:5432`)).toBe(1008);
    expect(await closeCode(`ws://${proxy.address}/v2?address=example.com:5432`)).toBe(1008);
    expect(await closeCode(`ws://${proxy.address}/other?address=127.0.0.1:5432`)).toBe(1008);
  });
});
