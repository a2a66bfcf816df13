/**
 * `npm run dev` as a user runs it, as a child process: `tsx scripts/dev.ts` on free ports with a
 * temp LOCAL_DATA_DIR, the fake WhatsApp driver and the Twilio simulator (quick calls: every call
 * answered by a person, short rings and talks). Ready once /ready says so and the runner wrote its
 * dev-state.json (the cron triggers start then).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { shardKeyFile } from "../../scripts/lib/dev-state";
import { freePort } from "../../scripts/lib/embedded-postgres";

export const ROOT = path.resolve(import.meta.dirname, "../..");

export interface DevStack {
  dataDir: string;
  workerUrl: string;
  simulatorUrl: string;
  shardUrl: string;
  metricsToken: string;
  /** Everything the runner and its children printed so far. */
  output(): string;
  shardSecret(): string;
  stop(): Promise<void>;
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ""}`,
  );
}

/** The environment of a child tool: this one's, without settings that would point it elsewhere. */
export function hermeticEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(DATABASE_URL|NEON_WS_PROXY|PUBLIC_HOST|METRICS_TOKEN|TWILIO_.*|LOCAL_.*|PROSAAS_TEST_.*)$/.test(key))
      delete env[key];
  }
  return { ...env, ...extra };
}

export async function startDevStack(opts: { dataDir?: string } = {}): Promise<DevStack> {
  const dataDir = opts.dataDir ?? (await mkdtemp(path.join(tmpdir(), "prosaas-e2e-")));
  const [workerPort, pgPort, proxyPort, shardPort, simulatorPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const metricsToken = `e2e-metrics-${Math.random().toString(36).slice(2)}`;
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "scripts/dev.ts"], {
    cwd: ROOT,
    // Its own process group: if the runner dies, its children can still be found and stopped.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: hermeticEnv({
      LOCAL_DATA_DIR: dataDir,
      WORKER_PORT: String(workerPort),
      LOCAL_PG_PORT: String(pgPort),
      LOCAL_WS_PROXY_PORT: String(proxyPort),
      SHARD_BASE_PORT: String(shardPort),
      LOCAL_SHARDS: "1",
      LOCAL_SHARD_DRIVER: "fake",
      LOCAL_TWILIO_SIMULATOR_PORT: String(simulatorPort),
      LOCAL_TWILIO_RING_MS: "300",
      LOCAL_TWILIO_TALK_MS: "500",
      LOCAL_TWILIO_NO_ANSWER_RATE: "0",
      LOCAL_TWILIO_BUSY_RATE: "0",
      LOCAL_TWILIO_FAILED_RATE: "0",
      LOCAL_TWILIO_MACHINE_RATE: "0",
      // A Worker setting given in the shell, as a user would: the runner must pass it on.
      METRICS_TOKEN: metricsToken,
      // No wrangler update check or hotkeys in a test.
      WRANGLER_SEND_METRICS: "false",
      CI: "true",
    }),
  });
  let out = "";
  child.stdout?.on("data", (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const workerUrl = `http://127.0.0.1:${workerPort}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {}
      }, 30_000);
      await exited;
      clearTimeout(timer);
    }
  };
  try {
    await waitFor(
      "the dev stack's /ready and dev-state.json",
      async () => {
        if (child.exitCode !== null) throw new Error(`npm run dev exited (${child.exitCode}):\n${out.slice(-3000)}`);
        if (!existsSync(path.join(dataDir, "dev-state.json"))) return undefined;
        const res = await fetch(`${workerUrl}/ready`);
        return res.ok ? true : undefined;
      },
      240_000,
    );
  } catch (err) {
    await stop();
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- output ---\n${out.slice(-4000)}`);
  }
  return {
    dataDir,
    workerUrl,
    simulatorUrl: `http://127.0.0.1:${simulatorPort}`,
    shardUrl: `http://127.0.0.1:${shardPort}`,
    metricsToken,
    output: () => out,
    /** Shard 1's own key: the bearer token for its routes, `/_fake/*` included. */
    shardSecret: () => readFileSync(shardKeyFile(dataDir, 1), "utf8").trim(),
    stop,
  };
}

/** Runs `npm run bootstrap` (tsx scripts/bootstrap.ts) to its end: exit code and output. */
export function runBootstrap(args: string[], env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/bootstrap.ts", ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: hermeticEnv(env),
    });
    let output = "";
    child.stdout?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    child.stderr?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    child.once("exit", (code) => resolve({ code: code ?? 1, output }));
  });
}
