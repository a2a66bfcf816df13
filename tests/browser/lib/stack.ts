/**
 * The real local stack, started the way a developer starts it: `npx tsx scripts/dev.ts` (embedded
 * Postgres + proxy, migrations, a shard node with the fake WhatsApp driver, the dashboard build,
 * wrangler dev) on free ports with its own data directory; ready when /ready answers 200.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { shardKeyFile } from "../../../scripts/lib/dev-state";

const root = path.resolve(import.meta.dirname, "../../..");

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Where a running stack is: plain data, so a global setup can hand it to the test files. */
export interface StackAddresses {
  baseUrl: string;
  /** Shard N's URL is SHARD_BASE_PORT + N - 1 (the runner's layout). */
  shardBasePort: number;
  shards: number;
  twilioUrl: string;
  dataDir: string;
  databaseUrl: string;
}

export interface LocalStack {
  baseUrl: string;
  shardUrl: string;
  /** Shard N's URL (the runner puts shard N on SHARD_BASE_PORT + N - 1). */
  shardUrlOf: (shard: number) => string;
  /** How many shards it runs (1..shards). */
  shards: number;
  /** Shard N's own HMAC secret (the bearer token for its routes). */
  shardSecretOf: (shard: number) => Promise<string>;
  /** The Twilio simulator (scripts/twilio-simulator/): its console and `/__control/*` API. */
  twilioUrl: string;
  dataDir: string;
  databaseUrl: string;
  /** The shard's HMAC secret (the fake driver's routes sit behind it). */
  shardSecret: () => Promise<string>;
  /** What the stack printed (for failure messages). */
  output: () => string;
  stop: () => Promise<void>;
}

export async function startLocalStack(
  opts: {
    readyTimeoutMs?: number;
    /** WhatsApp shard nodes to start (ports follow the first); default 1. */
    shards?: number;
    /** More settings for the runner and the Worker (e.g. TWILIO_CALLS_PER_SECOND). */
    env?: Record<string, string>;
  } = {},
): Promise<LocalStack & { addresses: StackAddresses }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), "prosaas-browser-"));
  const [workerPort, pgPort, proxyPort] = [await freePort(), await freePort(), await freePort()];
  // Shard ports are SHARD_BASE_PORT + n - 1; one shard here.
  const shardPort = await freePort();
  // Its own simulator port: the default (8790) would collide with another stack on this machine.
  const twilioPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOCAL_DATA_DIR: dataDir,
    WORKER_PORT: String(workerPort),
    LOCAL_PG_PORT: String(pgPort),
    LOCAL_WS_PROXY_PORT: String(proxyPort),
    SHARD_BASE_PORT: String(shardPort),
    LOCAL_SHARDS: String(opts.shards ?? 1),
    LOCAL_SHARD_DRIVER: "fake",
    LOCAL_TWILIO_SIMULATOR_PORT: String(twilioPort),
    NO_COLOR: "1",
    ...opts.env,
  };
  delete env.DATABASE_URL;
  delete env.NEON_WS_PROXY;
  let log = "";
  const child: ChildProcess = spawn("npx", ["tsx", "scripts/dev.ts"], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so stopping it is a Ctrl-C in its terminal: SIGINT to the whole group
    // (npx does not pass signals on to tsx).
    detached: true,
  });
  child.stdout?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const baseUrl = `http://127.0.0.1:${workerPort}`;

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      const group = -child.pid;
      process.kill(group, "SIGINT");
      // Wait until every process of the group (wrangler, shard, Postgres, vite) is gone.
      const alive = () => {
        try {
          process.kill(group, 0);
          return true;
        } catch {
          return false;
        }
      };
      const until = Date.now() + 20_000;
      while (alive() && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
      if (alive()) process.kill(group, "SIGKILL");
      await exited;
    }
    await rm(dataDir, { recursive: true, force: true }).catch(() => {});
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 360_000);
  let ready = false;
  while (!ready) {
    if (child.exitCode !== null) throw new Error(`scripts/dev.ts exited (${child.exitCode}) before ready:\n${log}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the local stack was not ready in time:\n${log.slice(-4000)}`);
    }
    ready = await fetch(`${baseUrl}/ready`)
      .then((r) => r.ok)
      .catch(() => false);
    if (!ready) await new Promise((r) => setTimeout(r, 500));
  }
  const addresses: StackAddresses = {
    baseUrl,
    shardBasePort: shardPort,
    shards: opts.shards ?? 1,
    twilioUrl: `http://127.0.0.1:${twilioPort}`,
    dataDir,
    databaseUrl: `postgres://postgres:postgres@127.0.0.1:${pgPort}/prosaas`,
  };
  return { ...attachLocalStack(addresses), output: () => log, stop };
}

/** A stack another process started (the browser tests' global setup): its addresses, no control over it. */
export function attachLocalStack(addresses: StackAddresses): LocalStack & { addresses: StackAddresses } {
  const { baseUrl, shardBasePort, shards, twilioUrl, dataDir, databaseUrl } = addresses;
  const shardSecretOf = async (shard: number) => (await readFile(shardKeyFile(dataDir, shard), "utf8")).trim();
  return {
    addresses,
    baseUrl,
    shardUrl: `http://127.0.0.1:${shardBasePort}`,
    shardUrlOf: (shard) => `http://127.0.0.1:${shardBasePort + shard - 1}`,
    shards,
    shardSecretOf,
    twilioUrl,
    dataDir,
    databaseUrl,
    // Shard 1's own key (the bearer token for its routes, /_fake/* included).
    shardSecret: () => shardSecretOf(1),
    output: () => "(started by the browser tests' global setup: see its output above)",
    stop: async () => {},
  };
}

/**
 * `npm run bootstrap` against the running stack's database: the first system admin, and with
 * `business` a first business and its owner.
 */
export async function bootstrap(
  stack: LocalStack,
  args: { adminEmail: string; password: string; business?: { name: string; ownerEmail: string } },
): Promise<void> {
  const businessArgs = args.business
    ? ["--business", args.business.name, "--owner-email", args.business.ownerEmail, "--owner-password", args.password]
    : [];
  const child = spawn(
    "npm",
    [
      "run",
      "--silent",
      "bootstrap",
      "--",
      "--admin-email",
      args.adminEmail,
      "--admin-password",
      args.password,
      ...businessArgs,
    ],
    {
      cwd: root,
      env: { ...process.env, DATABASE_URL: stack.databaseUrl, LOCAL_DATA_DIR: stack.dataDir },
      stdio: "pipe",
    },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`bootstrap failed (${code}):\n${out}`);
}
