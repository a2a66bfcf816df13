import type { JobHandler } from "../handler";
import type { JobType } from "../jobs";
import { purgeExpiredSessions } from "./purge-expired-sessions";

/** One handler per job type; the type system makes a missing one a compile error. */
export const jobHandlers: { [T in JobType]: JobHandler<T> } = {
  "maintenance.purge_expired_sessions": purgeExpiredSessions,
};
