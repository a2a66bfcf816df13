/**
 * What a browser test file gets from the shared stack (./global-stack.ts): the stack's addresses
 * and a business of its own, created by the system admin through the platform API as an operator
 * would. Each file also plays its own client address (CF-Connecting-IP, which Cloudflare's edge
 * sets and Miniflare keeps when present), so one file's sign-ins never spend another's per-address
 * sign-in budget.
 */
import { inject } from "vitest";
import { SYSTEM_ADMIN } from "./global-stack";
import { attachLocalStack, type LocalStack } from "./stack";

export { SYSTEM_ADMIN };

export function sharedStack(): LocalStack {
  return attachLocalStack(inject("browserStack"));
}

/** Headers a file's requests carry: its own client address. */
export function clientHeaders(clientIp: string): Record<string, string> {
  return { "CF-Connecting-IP": clientIp };
}

/** Signs the system admin in from `clientIp`; returns its session cookie. */
export async function systemAdminCookie(stack: LocalStack, clientIp: string): Promise<string> {
  const res = await fetch(`${stack.baseUrl}/api/auth/login`, {
    method: "POST",
    headers: { origin: stack.baseUrl, "content-type": "application/json", ...clientHeaders(clientIp) },
    body: JSON.stringify({ email: SYSTEM_ADMIN.email, password: SYSTEM_ADMIN.password }),
  });
  if (!res.ok) throw new Error(`system admin sign-in: ${res.status} ${await res.text()}`);
  return res.headers.get("set-cookie")!.split(";")[0]!;
}

/** A new business with its owner (POST /api/admin/businesses); returns the business's id. */
export async function openBusiness(
  stack: LocalStack,
  args: { name: string; ownerEmail: string; ownerName?: string; password: string; clientIp: string },
): Promise<number> {
  const cookie = await systemAdminCookie(stack, args.clientIp);
  const res = await fetch(`${stack.baseUrl}/api/admin/businesses`, {
    method: "POST",
    headers: { origin: stack.baseUrl, "content-type": "application/json", cookie, ...clientHeaders(args.clientIp) },
    body: JSON.stringify({
      name: args.name,
      owner: { email: args.ownerEmail, name: args.ownerName ?? args.name, password: args.password },
    }),
  });
  if (res.status !== 201) throw new Error(`creating business ${args.name}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { business: { id: number } }).business.id;
}
