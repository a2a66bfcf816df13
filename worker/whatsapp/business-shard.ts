/**
 * Which shard serves a business right now, with the fencing token to present to it. The
 * BusinessDO holds the assignment (so a move is serialised with everything else of the business);
 * on first use it is seeded from Postgres (`businesses.whatsapp_shard`) or the hash.
 */

import type { Assignment } from "../../durable-objects/business/shard-assignment";
import type { Config } from "../config";
import type { Database } from "../db/client";
import type { Env } from "../env";
import { businessStub } from "../services/settings";
import { ShardClient } from "./shard-client";
import { assignedShard, shardForBusiness, shardUrl } from "./shard-router";

export interface BusinessShard {
  shard: number;
  url: string;
  fencingToken: number;
  move: Assignment["move"];
  client: ShardClient;
}

/** The business's assignment, seeded on first use (the edge's event intake checks senders against it). */
export async function businessAssignment(
  db: Database,
  env: Env,
  config: Config,
  businessId: number,
): Promise<Assignment> {
  const stub = businessStub(env, businessId);
  const assignment = await stub.shardAssignment(businessId);
  if (assignment) return assignment;
  const routed = shardForBusiness(config, businessId, await assignedShard(db, businessId));
  return (await stub.shardAssignment(businessId, routed))!;
}

export async function businessShard(
  db: Database,
  env: Env,
  config: Config,
  businessId: number,
): Promise<BusinessShard> {
  const assignment = await businessAssignment(db, env, config, businessId);
  const url = shardUrl(config, assignment.shard);
  return {
    shard: assignment.shard,
    url,
    fencingToken: assignment.fencingToken,
    move: assignment.move,
    client: ShardClient.forConfig(config, assignment.shard),
  };
}
