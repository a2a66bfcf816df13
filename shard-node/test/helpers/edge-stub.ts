/**
 * A local stand-in for the edge's event intake (`POST /internal/shards/events`): a real HTTP server
 * on 127.0.0.1 that verifies the signature the way the Worker does (contracts/shard-signing.ts),
 * validates the body against the contract, stores each event once by id and counts duplicates.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type ShardEvent, shardEvent, shardEventDelivery } from "../../../contracts/shard-events.js";
import {
  SHARD_ID_HEADER,
  SHARD_SIGNATURE_HEADER,
  SHARD_TIMESTAMP_HEADER,
  verifyShardPayload,
} from "../../../contracts/shard-signing.js";

export interface EdgeStub {
  url: string;
  /** Unique events by id, in the order first received. */
  events: Map<string, ShardEvent>;
  duplicates: number;
  requests: number;
  rejectedSignatures: number;
  /** While set, every request is answered with this status (e.g. 500) and nothing is stored. */
  failWith: number | undefined;
  /** Deliveries holding one of these event ids are refused with 400. */
  refuseIds: Set<string>;
  /** Deliveries refused with 400 (an invalid or refused event inside). */
  refusals: number;
  close(): Promise<void>;
}

export async function startEdgeStub(
  secret: string,
  opts: { port?: number /** Answers each request this much later (a slow edge). */; delayMs?: number } = {},
): Promise<EdgeStub> {
  const stub: EdgeStub = {
    url: "",
    events: new Map(),
    duplicates: 0,
    requests: 0,
    rejectedSignatures: 0,
    failWith: undefined,
    refuseIds: new Set(),
    refusals: 0,
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      stub.requests++;
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      if (stub.failWith !== undefined) {
        res.writeHead(stub.failWith).end("edge unavailable");
        return;
      }
      const body = Buffer.concat(chunks).toString("utf8");
      const check = await verifyShardPayload({
        secret,
        shardId: Number(req.headers[SHARD_ID_HEADER]),
        timestampHeader: req.headers[SHARD_TIMESTAMP_HEADER] as string | undefined,
        signatureHeader: req.headers[SHARD_SIGNATURE_HEADER] as string | undefined,
        body,
        nowSeconds: Math.floor(Date.now() / 1000),
        maxSkewSeconds: 300,
      });
      if (!check.ok) {
        stub.rejectedSignatures++;
        res.writeHead(401).end(check.reason);
        return;
      }
      const parsed = shardEventDelivery.safeParse(JSON.parse(body));
      if (!parsed.success) {
        res.writeHead(400).end(JSON.stringify(parsed.error.issues));
        return;
      }
      // Strict like an edge that refuses a whole delivery for one event it cannot take (what the
      // shard's dead lane guards against): any invalid or refused event → 400, nothing stored.
      const events: ShardEvent[] = [];
      for (const raw of parsed.data.events) {
        const event = shardEvent.safeParse(raw);
        if (!event.success || stub.refuseIds.has(event.data.id)) {
          stub.refusals++;
          res.writeHead(400).end(JSON.stringify({ error: { code: "validation_failed", message: "event refused" } }));
          return;
        }
        events.push(event.data);
      }
      for (const event of events) {
        if (stub.events.has(event.id)) stub.duplicates++;
        else stub.events.set(event.id, event);
      }
      res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  stub.url = `http://127.0.0.1:${port}/internal/shards/events`;
  stub.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return stub;
}
