/**
 * The live-updates hub of one business: holds every signed-in tab's WebSocket (hibernation API,
 * so idle sockets cost no duration) and fans out the changes the Worker publishes after its writes
 * commit. Each change gets a cursor from a counter in this object's SQLite storage; the last
 * HISTORY changes are kept so a tab that reconnects with `?since=<cursor>` gets what it missed
 * (or a `resync` when it is older than that).
 *
 * The Worker route (worker/routes/live.ts) authenticates the session and checks the tenant before
 * it forwards the upgrade here: this object trusts whoever the Worker hands it.
 */
import { DurableObject } from "cloudflare:workers";
import type { LiveChange, LiveEvent, LiveFrame } from "../worker/live/events";
import type { DurableObjectBindings } from "./bindings";

const HISTORY = 500;

export class LiveHubDO extends DurableObject<DurableObjectBindings> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: DurableObjectBindings) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS event (cursor INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)");
    // Answered by the runtime without waking the object: keeps idle tabs' sockets alive cheaply.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** The upgrade, already authorised by the Worker. `?since=` is the tab's last cursor. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server);
    const sinceParam = new URL(request.url).searchParams.get("since");
    const since = sinceParam !== null && /^\d{1,15}$/.test(sinceParam) ? Number(sinceParam) : null;
    for (const frame of this.catchUp(since)) server.send(JSON.stringify(frame));
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Stores the change with the next cursor and sends it to every open tab. */
  publish(change: LiveChange): number {
    const body = JSON.stringify(change);
    const row = this.sql.exec<{ cursor: number }>("INSERT INTO event (body) VALUES (?) RETURNING cursor", body).one();
    this.sql.exec("DELETE FROM event WHERE cursor <= ?", row.cursor - HISTORY);
    const frame = JSON.stringify({ ...change, cursor: row.cursor } satisfies LiveEvent);
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(frame);
      } catch {
        // A socket closing right now: its tab reconnects and catches up by cursor.
      }
    }
    return row.cursor;
  }

  /** How many tabs are connected (for tests and metrics). */
  connections(): number {
    return this.ctx.getWebSockets().length;
  }

  private latestCursor(): number {
    return this.sql.exec<{ c: number | null }>("SELECT max(cursor) AS c FROM event").one().c ?? 0;
  }

  /** What a (re)connecting tab needs: `hello`, then what it missed, or `resync` if too much. */
  private catchUp(since: number | null): LiveFrame[] {
    const latest = this.latestCursor();
    const frames: LiveFrame[] = [{ type: "hello", cursor: latest }];
    if (since === null || since >= latest) return frames;
    const oldest = this.sql.exec<{ c: number | null }>("SELECT min(cursor) AS c FROM event").one().c ?? latest + 1;
    if (since < oldest - 1) return [...frames, { type: "resync", cursor: latest }];
    for (const row of this.sql.exec<{ cursor: number; body: string }>(
      "SELECT cursor, body FROM event WHERE cursor > ? ORDER BY cursor",
      since,
    )) {
      frames.push({ ...(JSON.parse(row.body) as LiveChange), cursor: row.cursor });
    }
    return frames;
  }

  override webSocketMessage(): void {
    // Tabs only listen; pings are answered by the auto-response above.
  }

  override webSocketClose(ws: WebSocket, code: number): void {
    try {
      ws.close(code === 1005 ? 1000 : code, "closing");
    } catch {
      // already closed
    }
  }
}
