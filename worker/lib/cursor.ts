/**
 * Opaque keyset-pagination cursors: `[sort value, id]` of the last row of a page. Opaque to the
 * dashboard (base64 JSON), validated on the way back in: a bad cursor is a 400 naming `cursor`.
 * A cursor is client input like any other: it may decode to JSON of any shape (`["1",5]`), so
 * each part is checked for the type and range Postgres will be asked to compare it with.
 */
import { ApiError } from "../errors";
import { isoDateTime, MAX_ID } from "./schemas";

export function encodeCursor(sortValue: string | null, id: number): string {
  return btoa(JSON.stringify([sortValue, id])).replaceAll("=", "");
}

/**
 * A sort value is a timestamp: ISO from `toISOString()`, or Postgres' `timestamptz::text`
 * ("2026-12-02 03:50:12.123456+00"). Normalised to ISO, it must be a real, storable instant.
 */
function isTimestamp(value: string): boolean {
  if (value.length > 40) return false;
  const iso = value.replace(" ", "T").replace(/([+-]\d{2})$/, "$1:00");
  return isoDateTime.safeParse(iso).success;
}

export function decodeCursor(cursor: string): [string | null, number] {
  let value: unknown;
  try {
    value = JSON.parse(atob(cursor));
  } catch {}
  if (Array.isArray(value) && value.length === 2) {
    const [sort, id] = value as [unknown, unknown];
    const sortOk = sort === null || (typeof sort === "string" && isTimestamp(sort));
    if (sortOk && typeof id === "number" && Number.isInteger(id) && id > 0 && id <= MAX_ID) {
      return [sort as string | null, id];
    }
  }
  throw new ApiError("validation_failed", "Invalid query: cursor", {
    fields: [{ field: "cursor", message: "is not a cursor from this API" }],
  });
}
