/** A lead status in its own colour (the business's lead_statuses), with text that stays readable. */
import type { LeadStatus } from "../api/types";

function readableOn(hex: string): string {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex);
  if (!m) return "#111";
  const n = Number.parseInt(m[1]!, 16);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? "#111" : "#fff";
}

export function StatusChip({ statusKey, statuses }: { statusKey: string; statuses: LeadStatus[] | undefined }) {
  const status = statuses?.find((s) => s.key === statusKey);
  const color = status?.color ?? "#64748b";
  return (
    <span className="chip" style={{ backgroundColor: color, color: readableOn(color) }}>
      {status?.label ?? statusKey}
    </span>
  );
}
