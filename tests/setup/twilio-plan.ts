/**
 * The fake Twilio of a test run: where it listens and the credentials it accepts. Shared by
 * vitest.config.ts (which hands them to the Worker as TWILIO_* bindings) and the global setup
 * (which starts the Twilio simulator, scripts/twilio-simulator/, on that port), through one environment variable, as
 * test-database.ts does for Postgres.
 */
import { randomBytes } from "node:crypto";
import { freePort } from "../../scripts/lib/embedded-postgres";

export interface FakeTwilioPlan {
  port: number;
  baseUrl: string;
  accountSid: string;
  authToken: string;
  /** PUBLIC_HOST of the Worker under test: the host Twilio signs webhook URLs with. */
  publicHost: string;
}

const PLAN_VARIABLE = "PROSAAS_TEST_TWILIO_PLAN";

export async function fakeTwilioPlan(): Promise<FakeTwilioPlan> {
  const existing = process.env[PLAN_VARIABLE];
  if (existing) return JSON.parse(existing) as FakeTwilioPlan;
  const port = await freePort();
  const plan: FakeTwilioPlan = {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    accountSid: `AC${randomBytes(16).toString("hex")}`,
    authToken: randomBytes(16).toString("hex"),
    publicHost: "calls.edge.test",
  };
  process.env[PLAN_VARIABLE] = JSON.stringify(plan);
  return plan;
}
