/**
 * Runs the shard as a real child process (`node --import tsx src/main.ts`, one process, so a
 * SIGKILL hits the process that holds the database), talks to it over HTTP on loopback.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { TEST_SECRET } from "./config.js";
import { waitFor } from "./fake-wa-server.js";

const SHARD_NODE_DIR = fileURLToPath(new URL("../..", import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface ShardProcess {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
  request(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
    // biome-ignore lint/suspicious/noExplicitAny: parsed JSON, read by assertions
  ): Promise<{ status: number; body: any }>;
  exited: Promise<number | null>;
}

export async function startShardProcess(env: Record<string, string>): Promise<ShardProcess> {
  const port = Number(env.BAILEYS_PORT ?? (await freePort()));
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: SHARD_NODE_DIR,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      BAILEYS_HOST: "127.0.0.1",
      SHARD_SECRET: TEST_SECRET,
      SHARD_SESSION_DRIVER: "fake",
      LOG_LEVEL: "warn",
      ...env,
      BAILEYS_PORT: String(port),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const baseUrl = `http://127.0.0.1:${port}`;
  const request: ShardProcess["request"] = async (method, path, body, headers) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: headers ?? { authorization: `Bearer ${TEST_SECRET}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  let dead = false;
  void exited.then(() => {
    dead = true;
  });
  await waitFor(
    async () => {
      if (dead) throw new Error(`shard process exited during startup:\n${out}`);
      try {
        return (await fetch(`${baseUrl}/health`)).ok;
      } catch {
        return false;
      }
    },
    // Loading Baileys through tsx can take most of a minute on a busy 2-core machine.
    60_000,
    50,
  );
  return { child, baseUrl, output: () => out, request, exited };
}
