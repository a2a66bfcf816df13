/**
 * A WebSocket-to-TCP proxy that speaks the protocol of Neon's own `wsproxy`, so the
 * `@neondatabase/serverless` driver (the one production uses against Neon) can reach a plain local
 * Postgres. The driver opens `ws://<proxy>/v2?address=<host>:<port>` and then speaks the Postgres
 * wire protocol inside binary WebSocket frames.
 *
 * Only loopback targets are allowed: this is a development/test tool and must never become an open
 * relay to the network.
 */

import type { AddressInfo } from "node:net";
import net from "node:net";
import { type WebSocket, WebSocketServer } from "ws";

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

export interface NeonWsProxy {
  /** `host:port` to put into `neonConfig.wsProxy`. */
  address: string;
  port: number;
  close(): Promise<void>;
}

function parseTarget(url: string | undefined): { host: string; port: number } | null {
  if (!url) return null;
  const parsed = new URL(url, "http://proxy.local");
  if (parsed.pathname !== "/v2") return null;
  const address = parsed.searchParams.get("address");
  const match = address?.match(/^(.+):(\d{1,5})$/);
  if (!match) return null;
  const host = match[1]!;
  const port = Number(match[2]);
  if (!LOOPBACK_HOSTS.has(host) || port < 1 || port > 65_535) return null;
  return { host: host.replace(/^\[|\]$/g, ""), port };
}

function pipe(ws: WebSocket, socket: net.Socket): void {
  // Postgres → browser/worker. Pause the TCP side while the WebSocket buffer drains (backpressure).
  socket.on("data", (chunk) => {
    ws.send(chunk, { binary: true }, () => {
      if (socket.isPaused() && ws.bufferedAmount < 1 << 20) socket.resume();
    });
    if (ws.bufferedAmount >= 1 << 20) socket.pause();
  });
  // Worker → Postgres. `write` returning false means the kernel buffer is full: stop reading frames.
  ws.on("message", (data: Buffer) => {
    if (!socket.write(data)) {
      ws.pause();
      socket.once("drain", () => ws.resume());
    }
  });
  const closeBoth = () => {
    socket.destroy();
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close();
  };
  socket.on("close", closeBoth);
  socket.on("error", closeBoth);
  ws.on("close", closeBoth);
  ws.on("error", closeBoth);
}

export async function startNeonWsProxy(opts: { port?: number; host?: string } = {}): Promise<NeonWsProxy> {
  const host = opts.host ?? "127.0.0.1";
  const wss = new WebSocketServer({ host, port: opts.port ?? 0, perMessageDeflate: false });
  wss.on("connection", (ws, request) => {
    const target = parseTarget(request.url);
    if (!target) {
      ws.close(1008, "address must be a loopback host:port");
      return;
    }
    const socket = net.connect(target.port, target.host);
    socket.setNoDelay(true);
    // Frames that arrive before the TCP connection is up are queued by the socket itself.
    pipe(ws, socket);
  });
  await new Promise<void>((resolve, reject) => {
    wss.once("listening", resolve);
    wss.once("error", reject);
  });
  const { port } = wss.address() as AddressInfo;
  return {
    address: `${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}
