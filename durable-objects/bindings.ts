/**
 * The bindings and settings the Durable Objects themselves use: each other's namespaces and the
 * raw settings that worker/config.ts interprets. The Worker's Env (worker/env.ts) is a superset;
 * nothing here imports it, so the objects do not depend on the Worker.
 */

import type { SendLimits } from "./business/host";
import type { BusinessObject } from "./business-do";
import type { CallCapacityDO } from "./call-capacity-do";

/** The platform call cap and the raw settings: what a business's call leases reach. */
export interface PlatformCallsBindings {
  CALL_CAPACITY_DO: DurableObjectNamespace<CallCapacityDO>;
  readonly [setting: string]: unknown;
}

/** `Settings`: what the host's BusinessDO caches (the Worker's settings view; the objects need SendLimits). */
export interface DurableObjectBindings<Settings extends SendLimits = SendLimits> extends PlatformCallsBindings {
  BUSINESS_DO: DurableObjectNamespace<BusinessObject<Settings>>;
}
