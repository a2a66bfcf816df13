/**
 * A search hit's snippet in parts, the searched words marked. Case-insensitive; Hebrew has no
 * case and is matched as typed. Plain text parts, never HTML, so a snippet cannot inject markup.
 */
export function highlight(text: string, q: string | undefined): { text: string; hit: boolean }[] {
  const words = (q ?? "")
    .split(/\s+/)
    .map((w) => w.trim())
    .filter((w) => w.length > 0)
    .map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  if (words.length === 0) return [{ text, hit: false }];
  const pattern = new RegExp(`(${words.join("|")})`, "giu");
  return text
    .split(pattern)
    .filter((part) => part !== "")
    .map((part) => ({ text: part, hit: words.some((w) => new RegExp(`^${w}$`, "iu").test(part)) }));
}
