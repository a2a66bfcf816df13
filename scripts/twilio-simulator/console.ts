/**
 * The simulator's console: a page at `/` listing simulated calls (refreshed every 2 s) with
 * buttons to answer, answer as a machine, end or fail each, and the call-flow settings, changed
 * through the same JSON control API tests use.
 */
import { z } from "zod";
import type { CallFlowSettings, FlowCall } from "./call-flow";

/** A call as the control API shows it (everything, dates as ISO strings). */
export function publicCall<C extends FlowCall & { createdAt: string }>(call: C) {
  return {
    ...call,
    startedAt: call.startedAt?.toISOString() ?? null,
    endedAt: call.endedAt?.toISOString() ?? null,
  };
}

const rate = z.number().min(0).max(1);
const ms = z.number().int().min(0).max(3_600_000);
const settingsPatch = z
  .object({
    auto: z.boolean(),
    initiateMs: ms,
    ringMs: ms,
    talkMs: ms,
    machineTalkMs: ms,
    noAnswerMs: ms,
    noAnswerRate: rate,
    busyRate: rate,
    failedRate: rate,
    machineRate: rate,
    terminalCallbacksOnly: z.boolean(),
  })
  .partial()
  .strict();

/** Applies a JSON patch to the live settings; returns the reason when it is refused (nothing changed). */
export function updateSettings(settings: CallFlowSettings, body: string): string | null {
  let parsed: z.ZodSafeParseResult<z.infer<typeof settingsPatch>>;
  try {
    parsed = settingsPatch.safeParse(JSON.parse(body));
  } catch {
    return "body must be JSON";
  }
  if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
  const next = { ...settings, ...parsed.data };
  if (next.noAnswerRate + next.busyRate + next.failedRate + next.machineRate > 1) {
    return "noAnswerRate + busyRate + failedRate + machineRate must not exceed 1";
  }
  Object.assign(settings, parsed.data);
  return null;
}

export function consolePage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Twilio simulator</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 1.5rem; color: #1f2937; }
  table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
  th, td { text-align: start; padding: .35rem .6rem; border-bottom: 1px solid #e5e7eb; }
  code { font-size: 12px; }
  button { margin-inline-end: .25rem; }
  .terminal { color: #6b7280; }
  pre { background: #f3f4f6; padding: .6rem; }
</style>
</head>
<body>
<h1>Twilio simulator</h1>
<p>Calls the Worker placed through this simulator. Buttons move a call now and send its signed status callbacks.
JSON: <code>GET /__control/calls</code>, <code>POST /__control/calls/{CallSid}/{answer|machine|end|fail|busy|no-answer}</code>,
<code>GET|PATCH /__control/settings</code>.</p>
<h2>Settings</h2>
<pre id="settings"></pre>
<h2>Calls</h2>
<table>
<thead><tr><th>CallSid</th><th>to</th><th>from</th><th>status</th><th>answered by</th><th>callbacks</th><th></th></tr></thead>
<tbody id="calls"></tbody>
</table>
<script>
const ACTIONS = ["answer", "machine", "end", "fail", "busy", "no-answer"];
const TERMINAL = ["completed", "busy", "failed", "no-answer", "canceled"];
function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
async function act(sid, action) {
  const res = await fetch("/__control/calls/" + sid + "/" + action, { method: "POST" });
  if (!res.ok) alert((await res.json()).error);
  refresh();
}
async function refresh() {
  const [calls, settings] = await Promise.all([
    fetch("/__control/calls").then((r) => r.json()),
    fetch("/__control/settings").then((r) => r.json()),
  ]);
  document.getElementById("settings").textContent = JSON.stringify(settings, null, 2);
  const body = document.getElementById("calls");
  body.replaceChildren(...calls.reverse().map((call) => {
    const tr = document.createElement("tr");
    if (TERMINAL.includes(call.status)) tr.className = "terminal";
    tr.append(cell(call.sid), cell(call.to), cell(call.from), cell(call.status), cell(call.answeredBy || ""),
      cell(call.callbacks.map((c) => c.status + " " + (c.httpStatus ?? "✗")).join(", ")));
    const td = document.createElement("td");
    if (!TERMINAL.includes(call.status)) for (const action of ACTIONS) {
      const b = document.createElement("button");
      b.textContent = action;
      b.onclick = () => act(call.sid, action);
      td.append(b);
    }
    tr.append(td);
    return tr;
  }));
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
`;
}
