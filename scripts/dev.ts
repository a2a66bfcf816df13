/**
 * `npm run dev`: the whole platform on this machine.
 *   1. Postgres: DATABASE_URL if set, else an embedded PostgreSQL 17 with data in .data/postgres
 *      (kept across restarts).
 *   2. The Neon-compatible WebSocket proxy in front of it (the Worker uses Neon's driver).
 *   3. Migrations.
 *   4. WhatsApp shard node(s) (shard-node/, LOCAL_SHARDS of them), their data in .data/shard-N.
 *   5. The Twilio simulator (scripts/twilio-simulator/) when no Twilio credentials are set.
 *   6. `wrangler dev` (Worker, Durable Objects, Queues, R2, all local; their state in
 *      LOCAL_DATA_DIR/wrangler), with the Worker settings given in the shell passed on as `--var`s
 *      (`.dev.vars` is read by wrangler itself).
 *   7. Cron triggers, fired on their schedules (wrangler dev does not fire them).
 * Once the Worker answers, `.data/dev-state.json` tells other tools (bootstrap, db:migrate) where
 * the live database is. Ctrl-C (or SIGTERM) stops every child, then the proxy, then Postgres.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { deriveShardSecret } from "../contracts/shard-signing";
import { startDashboardDev } from "./lib/dashboard-dev";
import { startCronTriggers, wranglerCrons } from "./lib/dev-cron";
import { readLiveDevState, removeDevState, runningPostgresPort, shardKeyFile, writeDevState } from "./lib/dev-state";
import { type LocalPostgres, startEmbeddedPostgres } from "./lib/embedded-postgres";
import { childProcessEnv, needsLocalProxy, readDevVars, readLocalEnv, workerSettingsFromShell } from "./lib/local-env";
import { runMigrations } from "./lib/migrate";
import { type NeonWsProxy, startNeonWsProxy } from "./lib/neon-ws-proxy";
import { type FakeTwilio, startFakeTwilio } from "./twilio-simulator/server";

const env = readLocalEnv();
const workerUrl = `http://127.0.0.1:${env.WORKER_PORT}`;
const children: ChildProcess[] = [];
let pg: LocalPostgres | null = null;
let proxy: NeonWsProxy | null = null;
let simulator: FakeTwilio | null = null;
let cron: { stop(): void } | null = null;
let stateWritten = false;
let stopping = false;

function say(line: string): void {
  console.log(`[dev] ${line}`);
}

async function shutdown(code: number): Promise<never> {
  if (stopping) process.exit(code);
  stopping = true;
  say("stopping…");
  cron?.stop();
  if (stateWritten) await removeDevState(env.LOCAL_DATA_DIR);
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill("SIGKILL"), 8_000);
          child.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill("SIGINT");
        }),
    ),
  );
  await simulator?.close();
  await proxy?.close();
  await pg?.stop().catch(() => {});
  say("stopped");
  process.exit(code);
}

/** A random secret kept in the data dir, so restarts (and the shards' signed events) agree on it. */
async function localSecret(file: string): Promise<string> {
  try {
    return (await readFile(file, "utf8")).trim();
  } catch {
    const secret = randomBytes(32).toString("hex");
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `${secret}\n`, { mode: 0o600 });
    return secret;
  }
}

/** Waits until the Worker answers /health (wrangler builds and starts it), or wrangler exits. */
async function waitForWorker(wrangler: ChildProcess): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (wrangler.exitCode !== null || wrangler.signalCode !== null) throw new Error("wrangler dev exited");
    try {
      // The first request builds the Worker in workerd: it can take many seconds on a busy machine.
      const res = await fetch(`${workerUrl}/health`, { signal: AbortSignal.timeout(60_000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the Worker did not answer ${workerUrl}/health within 3 minutes`);
}

process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

try {
  const running = readLiveDevState(env.LOCAL_DATA_DIR);
  if (running) {
    throw new Error(
      `npm run dev is already running on ${path.resolve(env.LOCAL_DATA_DIR)} (pid ${running.pid}, ${running.workerUrl}); stop it first or use another LOCAL_DATA_DIR`,
    );
  }
  if (env.DATABASE_URL) {
    say(`using DATABASE_URL at ${new URL(env.DATABASE_URL).host}`);
  } else {
    const dataDir = path.join(env.LOCAL_DATA_DIR, "postgres");
    const port = runningPostgresPort(dataDir);
    if (port !== null) {
      throw new Error(
        `a PostgreSQL server already runs on ${path.resolve(dataDir)} (port ${port}); stop it first (is another npm run dev or bootstrap running?)`,
      );
    }
    say(`starting embedded PostgreSQL on 127.0.0.1:${env.LOCAL_PG_PORT} (data: ${dataDir})`);
    pg = await startEmbeddedPostgres({ dataDir, port: env.LOCAL_PG_PORT, database: "prosaas" });
  }
  const databaseUrl = env.DATABASE_URL ?? pg!.url;
  let wsProxy = env.NEON_WS_PROXY;
  if (needsLocalProxy(databaseUrl, wsProxy)) {
    proxy = await startNeonWsProxy({ port: env.LOCAL_WS_PROXY_PORT });
    wsProxy = proxy.address;
    say(`Neon WebSocket proxy on ${proxy.address}`);
  }
  await runMigrations({ databaseUrl, wsProxy });
  say("migrations applied");

  // Worker settings: the shell's (any name worker/config.ts knows) over wrangler.toml and .dev.vars;
  // the runner's own (database, shards, simulator) over those.
  const fromShell = workerSettingsFromShell();
  const devVars = readDevVars();
  const runnerOwned = new Set(["DATABASE_URL", "NEON_WS_PROXY"]);
  const vars: Record<string, string> = { ENVIRONMENT: "development", ...fromShell };

  // Shard nodes: they call the Worker's event endpoint; the Worker reaches them on loopback.
  const shardSecretFile = path.resolve(env.LOCAL_DATA_DIR, "shard-secret");
  if (env.LOCAL_SHARDS > 0) {
    const shardSecret = await localSecret(shardSecretFile);
    for (const key of Object.keys(vars))
      if (/^(SHARD_SECRET|BAILEYS_NUM_SHARDS|BAILEYS_SHARD_\d+_URL)$/.test(key)) runnerOwned.add(key);
    runnerOwned.add("SHARD_SECRET").add("BAILEYS_NUM_SHARDS");
    vars.SHARD_SECRET = shardSecret;
    vars.BAILEYS_NUM_SHARDS = String(env.LOCAL_SHARDS);
    for (let n = 1; n <= env.LOCAL_SHARDS; n++) {
      const port = env.SHARD_BASE_PORT + n - 1;
      const shardKey = await deriveShardSecret(shardSecret, n);
      const keyFile = shardKeyFile(env.LOCAL_DATA_DIR, n);
      await writeFile(keyFile, shardKey, { mode: 0o600 });
      const shard = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
        cwd: path.resolve("shard-node"),
        stdio: "inherit",
        env: childProcessEnv({
          BAILEYS_SHARD_ID: String(n),
          BAILEYS_HOST: "127.0.0.1",
          BAILEYS_PORT: String(port),
          // Each shard gets only its own key, derived from the master the Worker holds.
          SHARD_SECRET: shardKey,
          SHARD_SESSION_DRIVER: env.LOCAL_SHARD_DRIVER,
          SHARD_DATA_DIR: path.resolve(env.LOCAL_DATA_DIR, `shard-${n}`),
          EDGE_EVENTS_URL: `${workerUrl}/internal/shards/events`,
        }),
      });
      children.push(shard);
      vars[`BAILEYS_SHARD_${n}_URL`] = `http://127.0.0.1:${port}`;
      runnerOwned.add(`BAILEYS_SHARD_${n}_URL`);
      say(`WhatsApp shard ${n} (${env.LOCAL_SHARD_DRIVER} driver) on http://127.0.0.1:${port}`);
      say(`shard ${n} key (Bearer token for its routes, /_fake/* included): ${keyFile}`);
    }
  }

  // Twilio: the simulator unless real credentials are set (shell or .dev.vars), or LOCAL_TWILIO_SIMULATOR says.
  const twilioSet = (key: string) => Boolean(fromShell[key] ?? devVars[key]?.trim());
  const useSimulator =
    env.LOCAL_TWILIO_SIMULATOR === "on" ||
    (env.LOCAL_TWILIO_SIMULATOR === "auto" && !twilioSet("TWILIO_ACCOUNT_SID") && !twilioSet("TWILIO_AUTH_TOKEN"));
  if (useSimulator) {
    const accountSid = `AC${randomBytes(16).toString("hex")}`;
    const authToken = randomBytes(16).toString("hex");
    simulator = await startFakeTwilio({
      accountSid,
      authToken,
      port: env.LOCAL_TWILIO_SIMULATOR_PORT,
      flow: {
        auto: env.LOCAL_TWILIO_AUTO,
        ringMs: env.LOCAL_TWILIO_RING_MS,
        talkMs: env.LOCAL_TWILIO_TALK_MS,
        noAnswerRate: env.LOCAL_TWILIO_NO_ANSWER_RATE,
        busyRate: env.LOCAL_TWILIO_BUSY_RATE,
        failedRate: env.LOCAL_TWILIO_FAILED_RATE,
        machineRate: env.LOCAL_TWILIO_MACHINE_RATE,
      },
      // Callback URLs say https://PUBLIC_HOST/…; like Cloudflare's edge in production, the TLS ends
      // before the Worker, so they are delivered to it over plain http, signed for the URL as given.
      callbackOrigin: workerUrl,
      log: (line) => say(`twilio simulator: ${line}`),
    });
    for (const key of ["TWILIO_API_BASE_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"]) runnerOwned.add(key);
    vars.TWILIO_API_BASE_URL = simulator.url;
    vars.TWILIO_ACCOUNT_SID = accountSid;
    vars.TWILIO_AUTH_TOKEN = authToken;
    vars.PUBLIC_HOST = fromShell.PUBLIC_HOST ?? devVars.PUBLIC_HOST ?? `127.0.0.1:${env.WORKER_PORT}`;
    say(`Twilio simulator on ${simulator.url} (calls, console page; LOCAL_TWILIO_SIMULATOR=off for real Twilio)`);
  } else if (!twilioSet("PUBLIC_HOST")) {
    say("real Twilio credentials set, PUBLIC_HOST not: calls need a public https host that reaches this Worker");
  }

  const ignored = Object.keys(fromShell).filter((key) => runnerOwned.has(key));
  if (ignored.length > 0) say(`ignored from the shell (the runner sets them): ${ignored.join(", ")}`);
  const passed = Object.keys(fromShell).filter((key) => !runnerOwned.has(key));
  if (passed.length > 0) say(`Worker settings from the shell: ${passed.join(", ")}`);

  // The dashboard, rebuilt on every change into the assets folder wrangler dev serves.
  children.push(await startDashboardDev());
  Object.assign(vars, { DATABASE_URL: databaseUrl, NEON_WS_PROXY: wsProxy ?? "" });
  const wrangler = spawn(
    path.resolve("node_modules/.bin/wrangler"),
    [
      "dev",
      // Serves /__scheduled inside the Worker, which the runner's cron triggers call.
      "--test-scheduled",
      "--port",
      String(env.WORKER_PORT),
      "--ip",
      "127.0.0.1",
      // Durable Objects, queues and R2 live next to this stack's Postgres, not in the checkout's
      // shared .wrangler/state: another LOCAL_DATA_DIR (a test stack, a fresh database) must not
      // inherit call leases, shard assignments or send schedules that belong to other data.
      "--persist-to",
      path.join(env.LOCAL_DATA_DIR, "wrangler"),
      ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ],
    { stdio: "inherit" },
  );
  children.push(wrangler);
  wrangler.on("exit", (code) => {
    if (!stopping) {
      say(`wrangler exited (${code}); stopping the rest`);
      void shutdown(code ?? 1);
    }
  });

  await waitForWorker(wrangler);
  const crons = wranglerCrons();
  cron = startCronTriggers({ crons, workerUrl, log: say });
  say(`cron triggers fired here on their schedules (UTC): ${crons.join(", ")}`);
  await writeDevState(env.LOCAL_DATA_DIR, {
    pid: process.pid,
    databaseUrl,
    wsProxy,
    workerUrl,
    twilioSimulatorUrl: simulator?.url,
    shardSecretFile: env.LOCAL_SHARDS > 0 ? shardSecretFile : undefined,
    startedAt: new Date().toISOString(),
  });
  stateWritten = true;
  say(`Worker: ${workerUrl} (try /ready); first use: open it, or npm run bootstrap`);
} catch (err) {
  console.error(`[dev] ${err instanceof Error ? err.message : String(err)}`);
  await shutdown(1);
}
