/**
 * `npm run dev`: the whole platform on this machine.
 *   1. Postgres: DATABASE_URL if set, else an embedded PostgreSQL 17 with data in .data/postgres
 *      (kept across restarts).
 *   2. The Neon-compatible WebSocket proxy in front of it (the Worker uses Neon's driver).
 *   3. Migrations.
 *   4. WhatsApp shard node(s) (shard-node/, LOCAL_SHARDS of them), their data in .data/shard-N.
 *   5. `wrangler dev` (Worker, Durable Objects, Queues, Cron, all local).
 * Ctrl-C (or SIGTERM) stops every child, then the proxy, then Postgres.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { startDashboardDev } from "./lib/dashboard-dev";
import { type LocalPostgres, startEmbeddedPostgres } from "./lib/embedded-postgres";
import { childProcessEnv, needsLocalProxy, readLocalEnv } from "./lib/local-env";
import { runMigrations } from "./lib/migrate";
import { type NeonWsProxy, startNeonWsProxy } from "./lib/neon-ws-proxy";

const env = readLocalEnv();
const children: ChildProcess[] = [];
let pg: LocalPostgres | null = null;
let proxy: NeonWsProxy | null = null;
let stopping = false;

function say(line: string): void {
  console.log(`[dev] ${line}`);
}

async function shutdown(code: number): Promise<never> {
  if (stopping) process.exit(code);
  stopping = true;
  say("stopping…");
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

process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

try {
  if (env.DATABASE_URL) {
    say(`using DATABASE_URL at ${new URL(env.DATABASE_URL).host}`);
  } else {
    const dataDir = path.join(env.LOCAL_DATA_DIR, "postgres");
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

  // Shard nodes: they call the Worker's event endpoint; the Worker reaches them on loopback.
  const shardSecret = await localSecret(path.join(env.LOCAL_DATA_DIR, "shard-secret"));
  const shardVars: Record<string, string> = {
    SHARD_SECRET: shardSecret,
    BAILEYS_NUM_SHARDS: String(Math.max(1, env.LOCAL_SHARDS)),
  };
  for (let n = 1; n <= env.LOCAL_SHARDS; n++) {
    const port = env.SHARD_BASE_PORT + n - 1;
    const shard = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: path.resolve("shard-node"),
      stdio: "inherit",
      env: childProcessEnv({
        BAILEYS_SHARD_ID: String(n),
        BAILEYS_HOST: "127.0.0.1",
        BAILEYS_PORT: String(port),
        SHARD_SECRET: shardSecret,
        SHARD_SESSION_DRIVER: env.LOCAL_SHARD_DRIVER,
        SHARD_DATA_DIR: path.resolve(env.LOCAL_DATA_DIR, `shard-${n}`),
        EDGE_EVENTS_URL: `http://127.0.0.1:${env.WORKER_PORT}/internal/shards/events`,
      }),
    });
    children.push(shard);
    shardVars[`BAILEYS_SHARD_${n}_URL`] = `http://127.0.0.1:${port}`;
    say(`WhatsApp shard ${n} (${env.LOCAL_SHARD_DRIVER} driver) on http://127.0.0.1:${port}`);
  }

  children.push(await startDashboardDev());
  const vars = { DATABASE_URL: databaseUrl, NEON_WS_PROXY: wsProxy ?? "", ENVIRONMENT: "development", ...shardVars };
  const wrangler = spawn(
    path.resolve("node_modules/.bin/wrangler"),
    [
      "dev",
      "--port",
      String(env.WORKER_PORT),
      "--ip",
      "127.0.0.1",
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
  say(`Worker: http://127.0.0.1:${env.WORKER_PORT} (try /ready)`);
} catch (err) {
  console.error(err);
  await shutdown(1);
}
