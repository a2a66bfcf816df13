/**
 * The Twilio simulator: one fake of Twilio for tests, benchmarks and `npm run dev`. It serves
 * Twilio's REST API on 127.0.0.1 in its wire format: form-encoded POSTs, Basic auth with the
 * account SID and auth token, JSON call resources, Twilio-shaped error bodies
 * (`{ code, message, more_info, status }`). The Worker reaches it through TWILIO_API_BASE_URL, so
 * the real fetch path runs. With `flow` settings, calls move on and send signed status callbacks
 * (call-flow.ts); without them (tests), a call stays as created until a test moves it.
 *
 *   POST /2010-04-01/Accounts/{Sid}/Calls.json          create a call (records it; answers queued)
 *   GET  /2010-04-01/Accounts/{Sid}/Calls/{CallSid}.json a call's status (404 for unknown calls)
 *   GET  /2010-04-01/Accounts/{Sid}/Recordings/{RecordingSid}.mp3   recording media (byte ranges)
 *
 * Control API (under /__control, JSON; the page at `/` uses it):
 *   GET  /__control/calls?to=+1...        calls created (with the parameters Twilio received)
 *   POST /__control/calls/{CallSid}/{action}  answer | machine | end | fail | busy | no-answer:
 *                                         move the call now (its callbacks are sent)
 *   GET  /__control/settings, PATCH /__control/settings   the call-flow settings (delays, rates)
 *   POST /__control/calls/{CallSid}       { status } or { httpStatus }: what status lookups answer
 *   POST /__control/create-errors         { to, httpStatus, code, message, times? }: createCall to `to` fails so
 *                                         (every time, or only the next `times` calls)
 *   GET  /__control/lookups/{CallSid}     { count } of status lookups of that call
 */

import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { CALL_ACTIONS, type CallAction, CallFlow, type CallFlowSettings, defaultCallFlowSettings } from "./call-flow";
import { consolePage, publicCall, updateSettings } from "./console";
import { fakeRecordingBytes } from "./recording-bytes";

export interface FakeTwilioCall {
  sid: string;
  to: string;
  from: string;
  status: string;
  /** Every form parameter as received; repeated keys keep all their values. */
  params: Record<string, string | string[]>;
  createdAt: string;
  answeredBy?: "human" | "machine_start";
  startedAt?: Date;
  endedAt?: Date;
  duration?: number;
  /** Status callbacks sent for this call, and how the Worker answered each. */
  callbacks: { status: string; httpStatus: number | null; error?: string; at: string }[];
}

export interface FakeTwilio {
  url: string;
  port: number;
  /** The live call-flow settings (change them with the control API or here). */
  settings: CallFlowSettings;
  /** Waits until the status callbacks already on their way were answered. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

interface ErrorScript {
  httpStatus: number;
  code: number;
  message: string;
  /** How many more creates fail; undefined: all of them. */
  times?: number;
}

function twilioError(res: http.ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }));
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function callResource(accountSid: string, call: FakeTwilioCall, status = call.status) {
  return {
    sid: call.sid,
    account_sid: accountSid,
    to: call.to,
    from: call.from,
    status,
    direction: "outbound-api",
    // A call scripted to completed without being answered here still has a duration, as Twilio's would.
    duration: status === "completed" ? String(call.duration ?? 42) : null,
    answered_by: call.answeredBy ?? null,
    start_time: call.startedAt?.toUTCString() ?? null,
    end_time: call.endedAt?.toUTCString() ?? null,
    date_created: call.createdAt,
    api_version: "2010-04-01",
    uri: `/2010-04-01/Accounts/${accountSid}/Calls/${call.sid}.json`,
  };
}

export async function startFakeTwilio(opts: {
  accountSid: string;
  authToken: string;
  port?: number;
  /** Called for every call created. */
  onCreate?: (call: FakeTwilioCall) => void;
  /** Called for every status a call moves to (after its creation). */
  onStatus?: (call: FakeTwilioCall, status: string) => void;
  /** How calls move on by themselves (delays, outcome rates); default: they do not (tests). */
  flow?: Partial<CallFlowSettings>;
  /** Deliver status callbacks to this origin (e.g. http://127.0.0.1:8787) instead of the URL's own. */
  callbackOrigin?: string;
  log?: (line: string) => void;
}): Promise<FakeTwilio> {
  const settings: CallFlowSettings = { ...defaultCallFlowSettings, ...opts.flow };
  const flow = new CallFlow({
    settings,
    accountSid: opts.accountSid,
    authToken: opts.authToken,
    callbackOrigin: opts.callbackOrigin,
    onStatus: opts.onStatus as ((call: unknown, status: string) => void) | undefined,
    log: opts.log ?? (() => {}),
  });
  const calls = new Map<string, FakeTwilioCall>();
  const statusScripts = new Map<string, { status?: string; httpStatus?: number }>();
  const createErrors = new Map<string, ErrorScript>();
  const lookups = new Map<string, number>();
  const expectedAuth = `Basic ${Buffer.from(`${opts.accountSid}:${opts.authToken}`).toString("base64")}`;
  const accountPath = `/2010-04-01/Accounts/${opts.accountSid}`;

  // ---- Unknown create outcomes (issue 10 #6), self-contained: ----
  //   POST /__control/create-cut { to, times? }  createCall to `to` creates the call, answers 201 and
  //        cuts the connection halfway through the body (every time, or the next `times` calls);
  //   GET  {account}/Calls.json?To=&From=        Twilio's call list (newest first), which the lease
  //        sweep uses to find a call whose create was never answered.
  const createCuts = new Map<string, { times?: number }>();
  async function unknownOutcomes(req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method === "POST" && url.pathname === "/__control/create-cut") {
      const body = JSON.parse(await readBody(req)) as { to: string; times?: number };
      createCuts.set(body.to, { times: body.times });
      json(res, 200, { ok: true });
      return true;
    }
    if (url.pathname !== `${accountPath}/Calls.json` || req.headers.authorization !== expectedAuth) return false;
    if (req.method === "GET") {
      const to = url.searchParams.get("To");
      const from = url.searchParams.get("From");
      const list = [...calls.values()]
        .filter((c) => (!to || c.to === to) && (!from || c.from === from))
        .reverse()
        .map((c) => callResource(opts.accountSid, c, statusScripts.get(c.sid)?.status ?? c.status));
      json(res, 200, { calls: list, page: 0, page_size: 50, next_page_uri: null });
      return true;
    }
    if (req.method !== "POST" || createCuts.size === 0) return false;
    const raw = await readBody(req);
    const params = new URLSearchParams(raw);
    const cut = createCuts.get(params.get("To") ?? "");
    if (!cut) {
      // Not scripted: the ordinary create, with the body handed on.
      const replay = Object.assign(Readable.from([Buffer.from(raw)]), {
        method: req.method,
        url: req.url,
        headers: req.headers,
      });
      await handle(replay as unknown as http.IncomingMessage, res);
      return true;
    }
    if (cut.times !== undefined && --cut.times <= 0) createCuts.delete(params.get("To")!);
    const call: FakeTwilioCall = {
      sid: `CA${randomBytes(16).toString("hex")}`,
      to: params.get("To")!,
      from: params.get("From") ?? "",
      status: "queued",
      params: Object.fromEntries(
        [...new Set(params.keys())].map((k) => {
          const all = params.getAll(k);
          return [k, all.length === 1 ? all[0]! : all];
        }),
      ),
      createdAt: new Date().toUTCString(),
      callbacks: [],
    };
    calls.set(call.sid, call);
    const body = JSON.stringify(callResource(opts.accountSid, call));
    res.writeHead(201, { "Content-Type": "application/json", "Content-Length": String(body.length) });
    res.write(body.slice(0, body.length >> 1), () => res.socket?.destroy());
    opts.onCreate?.(call);
    return true;
  }

  const server = http.createServer((req, res) => {
    unknownOutcomes(req, res)
      .then((handled) => (handled ? undefined : handle(req, res)))
      .catch((err: unknown) => {
        if (!res.headersSent) twilioError(res, 500, 20500, `fake twilio: ${String(err)}`);
      });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = url.pathname;

    if (req.method === "GET" && path === "/") {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      return void res.end(consolePage());
    }
    if (path.startsWith("/__control/")) {
      if (req.method === "GET" && path === "/__control/calls") {
        const to = url.searchParams.get("to");
        return json(res, 200, [...calls.values()].filter((c) => !to || c.to === to).map(publicCall));
      }
      const action = /^\/__control\/calls\/([^/]+)\/([a-z-]+)$/.exec(path);
      if (req.method === "POST" && action) {
        const call = calls.get(action[1]!);
        if (!call) return json(res, 404, { error: "no such call" });
        if (!CALL_ACTIONS.includes(action[2] as CallAction)) {
          return json(res, 400, { error: `action must be one of ${CALL_ACTIONS.join(", ")}` });
        }
        const refused = flow.act(call, action[2] as CallAction);
        return refused ? json(res, 409, { error: refused }) : json(res, 200, publicCall(call));
      }
      if (path === "/__control/settings" && req.method === "GET") return json(res, 200, settings);
      if (path === "/__control/settings" && req.method === "PATCH") {
        const refused = updateSettings(settings, await readBody(req));
        return refused ? json(res, 400, { error: refused }) : json(res, 200, settings);
      }
      const script = /^\/__control\/calls\/([^/]+)$/.exec(path);
      if (req.method === "POST" && script) {
        statusScripts.set(script[1]!, JSON.parse(await readBody(req)) as { status?: string; httpStatus?: number });
        return json(res, 200, { ok: true });
      }
      if (req.method === "POST" && path === "/__control/create-errors") {
        const body = JSON.parse(await readBody(req)) as ErrorScript & { to: string };
        createErrors.set(body.to, {
          httpStatus: body.httpStatus,
          code: body.code,
          message: body.message,
          times: body.times,
        });
        return json(res, 200, { ok: true });
      }
      const lookup = /^\/__control\/lookups\/([^/]+)$/.exec(path);
      if (req.method === "GET" && lookup) return json(res, 200, { count: lookups.get(lookup[1]!) ?? 0 });
      return json(res, 404, { error: "no such control endpoint" });
    }

    if (!path.startsWith("/2010-04-01/Accounts/"))
      return twilioError(res, 404, 20404, "The requested resource was not found");
    if (req.headers.authorization !== expectedAuth || !path.startsWith(`${accountPath}/`)) {
      return twilioError(res, 401, 20003, "Authenticate");
    }

    if (req.method === "POST" && path === `${accountPath}/Calls.json`) {
      if (!String(req.headers["content-type"]).startsWith("application/x-www-form-urlencoded")) {
        return twilioError(res, 400, 20001, "Expected a form-encoded body");
      }
      const params: Record<string, string | string[]> = {};
      for (const [k, v] of new URLSearchParams(await readBody(req))) {
        const existing = params[k];
        params[k] = existing === undefined ? v : Array.isArray(existing) ? [...existing, v] : [existing, v];
      }
      const to = typeof params.To === "string" ? params.To : "";
      const from = typeof params.From === "string" ? params.From : "";
      if (!to) return twilioError(res, 400, 21201, "No 'To' number is specified");
      if (!from) return twilioError(res, 400, 21213, "No 'From' number is specified");
      if (!params.Url && !params.Twiml && !params.ApplicationSid) {
        return twilioError(res, 400, 21205, "Url parameter is required.");
      }
      const scripted = createErrors.get(to);
      if (scripted) {
        if (scripted.times !== undefined && --scripted.times <= 0) createErrors.delete(to);
        return twilioError(res, scripted.httpStatus, scripted.code, scripted.message);
      }
      if (!/^\+[1-9]\d{6,14}$/.test(to))
        return twilioError(res, 400, 21211, `The 'To' number ${to} is not a valid phone number.`);
      const call: FakeTwilioCall = {
        sid: `CA${randomBytes(16).toString("hex")}`,
        to,
        from,
        status: "queued",
        params,
        createdAt: new Date().toUTCString(),
        callbacks: [],
      };
      calls.set(call.sid, call);
      json(res, 201, callResource(opts.accountSid, call));
      opts.onCreate?.(call);
      flow.start(call);
      return;
    }

    // Recording media (as Twilio serves it: audio/mpeg, byte ranges honoured). The bytes are a
    // deterministic function of the SID so tests can check exactly what was streamed.
    const recording = new RegExp(`^${accountPath}/Recordings/(RE[0-9a-f]{32})\\.mp3$`).exec(path);
    if (req.method === "GET" && recording) {
      const media = Buffer.from(fakeRecordingBytes(recording[1]!));
      const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ""));
      if (range) {
        const start = Number(range[1]);
        const end = range[2] ? Math.min(Number(range[2]), media.length - 1) : media.length - 1;
        if (start >= media.length || start > end) {
          res.writeHead(416, { "Content-Range": `bytes */${media.length}` });
          return void res.end();
        }
        res.writeHead(206, {
          "Content-Type": "audio/mpeg",
          "Content-Length": String(end - start + 1),
          "Content-Range": `bytes ${start}-${end}/${media.length}`,
          "Accept-Ranges": "bytes",
        });
        return void res.end(media.subarray(start, end + 1));
      }
      res.writeHead(200, {
        "Content-Type": "audio/mpeg",
        "Content-Length": String(media.length),
        "Accept-Ranges": "bytes",
      });
      return void res.end(media);
    }

    const fetchCall = new RegExp(`^${accountPath}/Calls/([^/]+)\\.json$`).exec(path);
    if (req.method === "GET" && fetchCall) {
      const sid = fetchCall[1]!;
      lookups.set(sid, (lookups.get(sid) ?? 0) + 1);
      const script = statusScripts.get(sid);
      if (script?.httpStatus) return twilioError(res, script.httpStatus, 20500, "Internal Server Error (scripted)");
      const call = calls.get(sid);
      if (!call && !script?.status) {
        return twilioError(res, 404, 20404, `The requested resource ${path} was not found`);
      }
      const known = call ?? {
        sid,
        to: "",
        from: "",
        status: script!.status!,
        params: {},
        createdAt: new Date().toUTCString(),
        callbacks: [],
      };
      return json(res, 200, callResource(opts.accountSid, known, script?.status ?? known.status));
    }

    return twilioError(res, 405, 20004, "Method not allowed");
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    settings,
    settle: () => flow.settle(),
    close: () =>
      new Promise<void>((resolve) => {
        flow.stop();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
