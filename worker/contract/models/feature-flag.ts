import { z } from "@hono/zod-openapi";

export const flagKey = z.string().regex(/^[a-z][a-z0-9_]{1,63}$/, "must be a snake_case flag name");

/** A flag's effective value for a business and where it comes from (services/feature-flags.ts). */
export const featureFlagModel = z
  .strictObject({ enabled: z.boolean(), source: z.enum(["business", "platform", "default"]) })
  .openapi("FeatureFlag");

export const featureFlagsResponseModel = z
  .strictObject({ flags: z.record(z.string(), featureFlagModel) })
  .openapi("FeatureFlags");
