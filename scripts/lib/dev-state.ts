/**
 * What a running `npm run dev` tells other local tools (`npm run bootstrap`, `npm run db:migrate`):
 * a small JSON file in LOCAL_DATA_DIR with the live database URL and proxy, written once the stack
 * is up and removed when it stops. A tool that finds it (and its process alive) uses that database
 * instead of starting a second Postgres on the same data folder.
 */
import { readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";

export interface DevState {
  pid: number;
  databaseUrl: string;
  /** The Neon WebSocket proxy in front of it (host:port), when one runs. */
  wsProxy?: string;
  workerUrl: string;
  twilioSimulatorUrl?: string;
  shardSecretFile?: string;
  startedAt: string;
}

export const devStateFile = (dataDir: string) => path.resolve(dataDir, "dev-state.json");

export async function writeDevState(dataDir: string, state: DevState): Promise<void> {
  // It holds the database URL (with its password): readable by this user only.
  await writeFile(devStateFile(dataDir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

export async function removeDevState(dataDir: string): Promise<void> {
  await rm(devStateFile(dataDir), { force: true });
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The state of a dev runner that is still running; null when there is none (or it died). */
export function readLiveDevState(dataDir: string): DevState | null {
  let state: DevState;
  try {
    state = JSON.parse(readFileSync(devStateFile(dataDir), "utf8")) as DevState;
  } catch {
    return null;
  }
  return Number.isInteger(state.pid) && isProcessAlive(state.pid) ? state : null;
}

/**
 * A Postgres already running on `pgDataDir` (its postmaster.pid names a live process): its port.
 * Starting a second server on the same folder would fail (or, with another folder, silently
 * create an empty cluster), so tools use the running one.
 */
export function runningPostgresPort(pgDataDir: string): number | null {
  let lines: string[];
  try {
    lines = readFileSync(path.join(pgDataDir, "postmaster.pid"), "utf8").split("\n");
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return Number.isInteger(pid) && pid > 0 && isProcessAlive(pid) && Number.isInteger(port) && port > 0 ? port : null;
}

/**
 * Where the dev runner keeps shard N's own key (derived from the master secret the Worker holds,
 * contracts/shard-signing.ts): the bearer token for that shard's routes, `/_fake/*` included.
 */
export function shardKeyFile(dataDir: string, shard: number): string {
  return path.resolve(dataDir, `shard-${shard}-key`);
}
