import { and, isNotNull, lt, or } from "drizzle-orm";
import { sessions } from "../../db/schema";
import type { JobHandler } from "../handler";

/** Deletes sessions that expired or were revoked more than `graceHours` ago. Idempotent. */
export const purgeExpiredSessions: JobHandler<"maintenance.purge_expired_sessions"> = async (job, { db }) => {
  const cutoff = new Date(Date.now() - job.graceHours * 3600_000);
  await db()
    .delete(sessions)
    .where(or(lt(sessions.expiresAt, cutoff), and(isNotNull(sessions.revokedAt), lt(sessions.revokedAt, cutoff))));
  return undefined;
};
