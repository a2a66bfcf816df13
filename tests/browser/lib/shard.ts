/** The fake WhatsApp driver's test seam on the shard (shard-node/src/http/routes/fake-driver.ts). */
import type { LocalStack } from "./stack";

export async function fakeShard(
  stack: LocalStack,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  /** Which shard (with several); default 1. */
  shard = 1,
) {
  const res = await fetch(`${stack.shardUrlOf(shard)}/_fake${path}`, {
    method,
    headers: { authorization: `Bearer ${await stack.shardSecretOf(shard)}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`fake shard ${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<Record<string, unknown>>;
}

/**
 * The fake driver's route for a business's session, on whichever shard holds it (the stack runs
 * several and the platform picks one per business; a system admin may move it). `path` follows
 * `/sessions/{businessId}`.
 */
export async function fakeSession(
  stack: LocalStack,
  businessId: number,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
) {
  let lastError: unknown;
  for (let shard = 1; shard <= stack.shards; shard++) {
    try {
      return await fakeShard(stack, method, `/sessions/${businessId}${path}`, body, shard);
    } catch (err) {
      if (!String(err).includes("session_not_found")) throw err;
      lastError = err;
    }
  }
  throw lastError;
}
