/** Recognising Postgres errors through drizzle's wrapper (the driver error is the `cause`). */
interface PgError {
  code?: string;
  constraint?: string;
}

function pgErrorOf(err: unknown): PgError | null {
  let current: unknown = err;
  for (let depth = 0; current && depth < 4; depth++) {
    const candidate = current as PgError & { cause?: unknown };
    if (typeof candidate.code === "string" && /^[0-9A-Z]{5}$/.test(candidate.code)) return candidate;
    current = candidate.cause;
  }
  return null;
}

/** A unique-constraint violation (23505), optionally on a named constraint/index. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const pg = pgErrorOf(err);
  return pg?.code === "23505" && (constraint === undefined || pg.constraint === constraint);
}
