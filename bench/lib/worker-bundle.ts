/**
 * What the Worker benchmarks share: bundling a Worker entry with wrangler itself (the same bundler
 * and nodejs_compat handling as a deploy), and an embedded Postgres in a throwaway directory.
 * Each benchmark builds its own Miniflare from these (bindings differ).
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import { freePort, type LocalPostgres, startEmbeddedPostgres } from "../../scripts/lib/embedded-postgres";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** The compatibility settings of wrangler.toml, for Miniflare. */
export const COMPATIBILITY = { compatibilityDate: "2026-04-20", compatibilityFlags: ["nodejs_compat"] };

/**
 * Bundles `entry` (relative to the repository root) into `outdir` with `wrangler deploy --dry-run`
 * and returns the bundled module's path.
 */
export function bundleWorker(opts: { entry: string; outdir: string; name: string }): string {
  const wrangler = spawnSync(
    process.execPath,
    [
      path.join(ROOT, "node_modules/wrangler/bin/wrangler.js"),
      "deploy",
      path.resolve(ROOT, opts.entry),
      "--dry-run",
      "--outdir",
      opts.outdir,
      "--name",
      opts.name,
    ],
    { cwd: ROOT, encoding: "utf8" },
  );
  if (wrangler.status !== 0) throw new Error(`wrangler bundle failed:\n${wrangler.stdout}\n${wrangler.stderr}`);
  return path.join(opts.outdir, `${path.basename(opts.entry, path.extname(opts.entry))}.js`);
}

/**
 * An embedded PostgreSQL 17 in its own temp dir under `storageDir` (as root, Postgres runs as
 * `postgres`, which must reach the data dir's parent: a fresh dir per server). `stop` removes it.
 */
export async function startTempPostgres(opts: {
  storageDir: string;
  database: string;
  settings?: Record<string, string>;
}): Promise<LocalPostgres> {
  const dir = await mkdtemp(path.join(opts.storageDir, "prosaas-bench-pg-"));
  const server = await startEmbeddedPostgres({
    dataDir: path.join(dir, "data"),
    port: await freePort(),
    database: opts.database,
    settings: opts.settings,
  });
  return {
    ...server,
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
