/**
 * The browser tests' global setup: ONE local stack (scripts/dev.ts with two fake WhatsApp shards
 * and the Twilio simulator) and its first system admin, shared by every browser test file. Each
 * file opens its own business on it (./shared-stack.ts), so files never see each other's data.
 * Starting a stack takes a minute on these machines; one per file cost minutes of `npm test`.
 */
import type { TestProject } from "vitest/node";
import { bootstrap, type StackAddresses, startLocalStack } from "./stack";

declare module "vitest" {
  export interface ProvidedContext {
    browserStack: StackAddresses;
  }
}

/** The stack's first system admin (bootstrap), who opens each file's business. */
export const SYSTEM_ADMIN = { email: "admin@example.com", password: "browser-admin-pass-123" };

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Twilio's calls per second up from its default of 1, so the campaign journeys' calls do not
  // take a minute each to place.
  const stack = await startLocalStack({ shards: 2, env: { TWILIO_CALLS_PER_SECOND: "20" } });
  try {
    await bootstrap(stack, { adminEmail: SYSTEM_ADMIN.email, password: SYSTEM_ADMIN.password });
  } catch (err) {
    await stack.stop();
    throw err;
  }
  project.provide("browserStack", stack.addresses);
  return () => stack.stop();
}
