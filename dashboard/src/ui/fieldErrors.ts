/** Validation errors from the API (`details.fields[]`) as a map the form's fields read. */
import { useCallback, useState } from "react";
import { ApiError } from "../api/errors";

export type FieldErrors = Record<string, string>;

export function fieldErrorsOf(err: unknown): FieldErrors {
  if (!(err instanceof ApiError)) return {};
  return Object.fromEntries(err.fields.map((f) => [f.field, f.message]));
}

/** Form state for field errors: `capture(err)` after a failed call, `clear()` before the next. */
export function useFieldErrors() {
  const [errors, setErrors] = useState<FieldErrors>({});
  const capture = useCallback((err: unknown) => setErrors(fieldErrorsOf(err)), []);
  const clear = useCallback(() => setErrors({}), []);
  return { errors, capture, clear, setErrors };
}
