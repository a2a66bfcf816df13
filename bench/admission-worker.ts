/**
 * The Worker the admission benchmark runs in Miniflare: the real BusinessDO and CallCapacityDO,
 * driven from inside workerd through worker/calls/admission.ts (the path production takes).
 *   GET /throughput?ops=&concurrency=&businesses=&base=  reserve+release cycles, latency per cycle, and the
 *                                                        requests that reached CallCapacityDO meanwhile
 *   GET /violations?attempts=&business=                  N simultaneous reserves for one business
 *   GET /platform-violations?attempts=&businesses=&base= N simultaneous reserves spread over many businesses
 */
import { callAdmission, platformCallSnapshot } from "../worker/calls/admission";
import type { Env } from "../worker/env";

// The Worker's own classes (the BusinessDO with its host). RateLimiterDO and LiveHubDO are bound
// in wrangler.toml, which bundles this entry; unused here.
export { BusinessDO, CallCapacityDO, LiveHubDO, RateLimiterDO } from "../worker/durable-objects";

const int = (url: URL, name: string, fallback: number) => Number(url.searchParams.get(name) ?? fallback);

async function throughput(env: Env, url: URL) {
  const ops = int(url, "ops", 2000);
  const concurrency = int(url, "concurrency", 20);
  const businesses = int(url, "businesses", 20);
  const base = int(url, "base", 1);
  const latencies: number[] = [];
  let next = 0;
  let admitted = 0;
  let refused = 0;
  const before = (await platformCallSnapshot(env)).requests;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < ops; i = next++) {
        const admission = callAdmission(env, base + (i % businesses));
        const t = performance.now();
        const r = await admission.reserve({ kind: "outbound", source: "direct" });
        if (r.ok) {
          await admission.release(r.lease.leaseId);
          admitted++;
        } else refused++;
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const after = (await platformCallSnapshot(env)).requests;
  const platformRequests = {
    acquire: after.acquire - before.acquire,
    releaseMany: after.releaseMany - before.releaseMany,
    reclaimRounds: after.reclaimRounds - before.reclaimRounds,
  };
  return { ops, concurrency, elapsedMs, latencies, admitted, refused, platformRequests };
}

async function violations(env: Env, url: URL) {
  const attempts = int(url, "attempts", 200);
  const admission = callAdmission(env, int(url, "business", 1_000_000));
  const results = await Promise.all(
    Array.from({ length: attempts }, () => admission.reserve({ kind: "outbound", source: "bulk" })),
  );
  const leases = results.flatMap((r) => (r.ok ? [r.lease] : []));
  await Promise.all(leases.map((l) => admission.release(l.leaseId)));
  return { attempts, admitted: leases.length, cap: leases[0]?.businessCap ?? null };
}

/** `attempts` reserves at once, spread over `businesses` businesses (each under its own cap): the platform cap must hold. */
async function platformViolations(env: Env, url: URL) {
  const attempts = int(url, "attempts", 200);
  const businesses = int(url, "businesses", 100);
  const base = int(url, "base", 2_000_000);
  const results = await Promise.all(
    Array.from({ length: attempts }, async (_, i) => {
      const businessId = base + (i % businesses);
      return { businessId, r: await callAdmission(env, businessId).reserve({ kind: "outbound", source: "bulk" }) };
    }),
  );
  const admitted = results.flatMap(({ businessId, r }) => (r.ok ? [{ businessId, lease: r.lease }] : []));
  const limit = admitted[0]?.lease.platformCap ?? null;
  await Promise.all(admitted.map(({ businessId, lease }) => callAdmission(env, businessId).release(lease.leaseId)));
  return { attempts, admitted: admitted.length, limit };
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/throughput") return Response.json(await throughput(env, url));
    if (url.pathname === "/violations") return Response.json(await violations(env, url));
    if (url.pathname === "/platform-violations") return Response.json(await platformViolations(env, url));
    return new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
