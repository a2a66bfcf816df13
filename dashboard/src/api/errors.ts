/** The API's one error shape (`{ error: { code, message, details? } }`) as a thrown value. */
export interface FieldProblem {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** From Retry-After on a 429: seconds until the user may try again. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** Fields named by a validation error (`details.fields[]`) or a single `details.field`. */
  get fields(): FieldProblem[] {
    const d = this.details as { fields?: FieldProblem[]; field?: string } | undefined;
    if (Array.isArray(d?.fields)) return d.fields;
    if (typeof d?.field === "string") return [{ field: d.field, message: this.message }];
    return [];
  }
}

/** An error answer whose body was already read (openapi-fetch reads it): the one shape, or the status. */
export function errorFromBody(res: Response, body: unknown): ApiError {
  const retryAfter = Number(res.headers.get("retry-after"));
  const retryAfterSeconds = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined;
  const error = (body as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
  if (error?.message) {
    return new ApiError(res.status, error.code ?? "error", error.message, error.details, retryAfterSeconds);
  }
  return new ApiError(res.status, "http_error", `${res.status} ${res.statusText}`, undefined, retryAfterSeconds);
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}
