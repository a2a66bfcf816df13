/**
 * Opaque keyset-pagination cursors: `[sort value, id]` of the last row of a page. Opaque to the
 * dashboard (base64 JSON), validated on the way back in: a bad cursor is a 400 naming `cursor`.
 */
import { ApiError } from "../errors";

export function encodeCursor(sortValue: string | null, id: number): string {
  return btoa(JSON.stringify([sortValue, id])).replaceAll("=", "");
}

export function decodeCursor(cursor: string): [string | null, number] {
  try {
    const value = JSON.parse(atob(cursor)) as unknown;
    if (Array.isArray(value) && (typeof value[0] === "string" || value[0] === null) && Number.isInteger(value[1])) {
      return [value[0], value[1] as number];
    }
  } catch {}
  throw new ApiError("validation_failed", "Invalid query: cursor", {
    fields: [{ field: "cursor", message: "is not a cursor from this API" }],
  });
}
