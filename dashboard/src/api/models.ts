/**
 * Shapes the API answers with, taken from the generated contract (contracts/api/schema.ts) rather
 * than written by hand: when a route's response changes, `npm run api:generate` changes these.
 */
import type { components, paths } from "../../../contracts/api/schema";

type Schemas = components["schemas"];
/** A route's JSON answer for status `S`. */
export type JsonOf<P extends keyof paths, M extends keyof paths[P], S extends number = 200> = paths[P][M] extends {
  responses: { [K in S]: { content: { "application/json": infer T } } };
}
  ? T
  : never;
/** A route's JSON request body. */
export type BodyOf<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  requestBody?: { content: { "application/json": infer T } };
}
  ? T
  : never;
/** A route's query parameters. */
export type QueryOf<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  parameters: { query?: infer Q };
}
  ? NonNullable<Q>
  : never;

export type CallLog = Schemas["CallLog"];
export type Campaign = Schemas["Campaign"];
export type BroadcastListItem = Schemas["BroadcastListItem"];
export type BroadcastWithProgress = Schemas["BroadcastWithProgress"];
export type BroadcastProgress = Schemas["BroadcastProgress"];
export type ScheduledMessage = Schemas["ScheduledMessage"];
export type Appointment = Schemas["Appointment"];
export type Report = Schemas["Report"];
export type ShardHealth = Schemas["ShardHealth"];
export type ShardAssignment = Schemas["ShardAssignment"];
export type Business = Schemas["Business"];
export type CallCapacity = JsonOf<"/api/calls/capacity", "get">;
export type CampaignDetail = JsonOf<"/api/campaigns/{id}", "get">;
export type CampaignPreview = JsonOf<"/api/campaigns/preview", "post">;
export type BroadcastPreview = JsonOf<"/api/broadcasts/preview", "post">;
export type CreateCampaignBody = NonNullable<
  paths["/api/campaigns"]["post"]["requestBody"]
>["content"]["application/json"];
export type Audience = CreateCampaignBody["audience"];
export type PlatformCalls = JsonOf<"/api/admin/calls", "get">;
export type PlatformShards = JsonOf<"/api/admin/shards", "get">;
export type PlatformFlags = JsonOf<"/api/admin/feature-flags", "get">;
export type FeatureFlags = Schemas["FeatureFlags"];
