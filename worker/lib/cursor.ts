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
    const value = JSON.parse(atob(cursor)) as unknown[];
    // The sort value is a timestamp in every list that uses these cursors; the id an int4.
    const [sort, id] = Array.isArray(value) ? value : [];
    const sortOk = sort === null || (typeof sort === "string" && Number.isFinite(Date.parse(sort)));
    if (sortOk && typeof id === "number" && Number.isInteger(id) && id > 0 && id <= 2_147_483_647) {
      return [sort as string | null, id];
    }
  } catch {}
  throw new ApiError("validation_failed", "Invalid query: cursor", {
    fields: [{ field: "cursor", message: "is not a cursor from this API" }],
  });
}
