/** Drawn icons of the inbox (an emoji glyph is missing from some systems' fonts). Decorative: the text beside them names the thing. */
const common = {
  width: 16,
  height: 16,
  viewBox: "0 0 24 24",
  fill: "none",
  stroke: "currentColor",
  strokeWidth: 2,
  strokeLinecap: "round",
  strokeLinejoin: "round",
} as const;

export function LockIcon() {
  return (
    <svg aria-hidden="true" {...common} className="icon">
      <rect x="5" y="11" width="14" height="10" rx="2" />
      <path d="M8 11V7a4 4 0 0 1 8 0v4" />
    </svg>
  );
}

export function PersonIcon() {
  return (
    <svg aria-hidden="true" {...common} className="icon">
      <circle cx="12" cy="8" r="4" />
      <path d="M4 21a8 8 0 0 1 16 0" />
    </svg>
  );
}

export function ClockIcon() {
  return (
    <svg aria-hidden="true" {...common} className="icon">
      <circle cx="12" cy="12" r="9" />
      <path d="M12 7v5l3 2" />
    </svg>
  );
}
