/**
 * Structured logs: one JSON object per line, which Workers Logs indexes by field. Never log
 * secrets or message bodies; ids and reasons are enough to follow a request.
 *
 * Errors are the usual leak: drizzle's query error carries the SQL and every parameter (message
 * texts, emails, password hashes), and Postgres' own messages quote values ("invalid input syntax
 * for type integer: ..."). `safeErrorMessage` is the one way an error becomes text for a log line
 * or a column users can read; `log` applies it to every field, so a caller's `String(err)` or
 * `err.message` cannot slip a query through.
 */
type Fields = Record<string, unknown>;

const MAX_TEXT = 500;
const DRIZZLE_QUERY = "Failed query:";

interface PgLike {
  code?: unknown;
  cause?: unknown;
}

/** The SQLSTATE of a Postgres error anywhere in the cause chain, if any. */
function sqlStateOf(err: unknown): string | null {
  let current: unknown = err;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as PgLike).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as PgLike).cause;
  }
  return null;
}

function isDatabaseError(err: unknown): boolean {
  if (sqlStateOf(err)) return true;
  return err instanceof Error && (err.name === "DrizzleQueryError" || err.message.startsWith(DRIZZLE_QUERY));
}

/** Text that names what failed without quoting data: SQL, parameters and values are dropped. */
export function safeErrorMessage(err: unknown): string {
  if (isDatabaseError(err)) {
    const state = sqlStateOf(err);
    return state ? `database query failed (SQLSTATE ${state})` : "database query failed";
  }
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return scrubText(text);
}

/** A query that reached a string anyway (a caller's `String(err)`) is cut off where it starts. */
function scrubText(text: string): string {
  const at = text.indexOf(DRIZZLE_QUERY);
  const kept = at === -1 ? text : `${text.slice(0, at)}database query failed`;
  return kept.length > MAX_TEXT ? `${kept.slice(0, MAX_TEXT)}…` : kept;
}

/** A stack without its first line (which repeats the message, query and all). */
export function safeStack(err: unknown): string | undefined {
  if (!(err instanceof Error) || !err.stack) return undefined;
  return err.stack
    .split("\n")
    .filter((line) => line.trimStart().startsWith("at "))
    .join("\n");
}

function scrubField(value: unknown): unknown {
  if (value instanceof Error) return safeErrorMessage(value);
  if (typeof value === "string") return scrubText(value);
  return value;
}

function emit(level: "info" | "warn" | "error", msg: string, fields: Fields): void {
  const safe = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, scrubField(v)]));
  const line = JSON.stringify({ level, msg: scrubText(msg), ...safe });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

export const log = {
  info: (msg: string, fields: Fields = {}) => emit("info", msg, fields),
  warn: (msg: string, fields: Fields = {}) => emit("warn", msg, fields),
  error: (msg: string, fields: Fields = {}) => emit("error", msg, fields),
};
