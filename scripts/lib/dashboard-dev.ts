/**
 * The dashboard for `npm run dev`: `vite build --watch` into dashboard/dist, which wrangler serves
 * as the Worker's static assets at http://127.0.0.1:<WORKER_PORT>/. Each save rebuilds in about a
 * second; reload the page to see it. Resolves once the first build is on disk (wrangler needs the
 * folder to exist), with the watcher as a child process for the runner to stop.
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { childProcessEnv } from "./local-env";

export async function startDashboardDev(): Promise<ChildProcess> {
  // The API reference's viewer script rides along in the dashboard's public folder.
  await import("../copy-docs-viewer");
  const vite = path.resolve("node_modules/vite/bin/vite.js");
  const child = spawn(process.execPath, [vite, "build", "--watch", "--config", "dashboard/vite.config.ts"], {
    stdio: ["ignore", "pipe", "pipe"],
    // The same (minified, production React) build as `npm run build`, even when started from a
    // test runner that set NODE_ENV=test, which Vite would otherwise honour.
    env: childProcessEnv({ NODE_ENV: "production", NO_COLOR: "1" }),
  });
  return new Promise<ChildProcess>((resolve, reject) => {
    let ready = false;
    const onOutput = (chunk: Buffer) => {
      const text = chunk.toString();
      for (const line of text.split("\n")) if (line.trim()) console.log(`[dashboard] ${line}`);
      if (!ready && /built in/.test(text)) {
        ready = true;
        console.log("[dashboard] built into dashboard/dist; rebuilding on change");
        resolve(child);
      }
    };
    child.stdout.on("data", onOutput);
    child.stderr.on("data", onOutput);
    child.once("exit", (code) => {
      if (!ready)
        reject(new Error(`the dashboard build failed (vite exited ${code}); see the [dashboard] lines above`));
    });
  });
}
