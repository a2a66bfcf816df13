/**
 * Text Postgres cannot store, found in one place. Postgres refuses U+0000 in `text` (22021, which
 * used to surface as a 500), and a lone UTF-16 surrogate (a JSON `"\ud800"`) has no UTF-8 form:
 * the driver would silently store U+FFFD instead of what was sent. The API refuses both with a
 * 400 naming the field (middleware/storable-text.ts, services/leads-csv.ts); shard events are
 * cleaned instead, elsewhere, since WhatsApp's senders cannot be told no.
 */

// A NUL, a high surrogate not followed by a low one, or a low one not preceded by a high one.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding the NUL is the point.
const UNSTORABLE = /\x00|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const UNSTORABLE_MESSAGE = "contains a NUL character or an unpaired UTF-16 surrogate";

export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

export interface UnstorableField {
  field: string;
  message: string;
}

/**
 * Every field (dotted path, array indexes as numbers) of a parsed JSON value whose string value,
 * or whose key, cannot be stored. `root` names the value itself when it is a bare string.
 */
export function findUnstorableText(value: unknown, root: string, path: string[] = [], found: UnstorableField[] = []) {
  const name = (p: string[]) => (p.length ? p.join(".") : root);
  if (typeof value === "string") {
    if (!isStorableText(value)) found.push({ field: name(path), message: UNSTORABLE_MESSAGE });
  } else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) findUnstorableText(item, root, [...path, String(i)], found);
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      // A bad key is named by where it sits, with the offending characters escaped.
      const safeKey = isStorableText(key) ? key : JSON.stringify(key).slice(1, -1);
      if (safeKey !== key) found.push({ field: name([...path, safeKey]), message: `key ${UNSTORABLE_MESSAGE}` });
      findUnstorableText(item, root, [...path, safeKey], found);
    }
  }
  return found;
}
