/** How full a cap is: `active` of `cap`, as a meter (the fill never passes the cap's end). */
export function Gauge(props: { label: string; active: number; cap: number; testId?: string }) {
  const { active, cap } = props;
  const pct = cap > 0 ? Math.min(100, Math.round((active / cap) * 100)) : 0;
  const level = active >= cap ? "full" : pct >= 75 ? "high" : "ok";
  return (
    <div className="gauge" data-testid={props.testId} data-active={active} data-cap={cap} data-level={level}>
      <div className="gauge-head">
        <span>{props.label}</span>
        <strong>
          {active} / {cap}
        </strong>
      </div>
      {/* biome-ignore lint/a11y/useSemanticElements: <meter> cannot be styled alike across browsers; the role gives the same semantics */}
      <div
        className="gauge-track"
        role="meter"
        aria-label={props.label}
        aria-valuemin={0}
        aria-valuemax={cap}
        aria-valuenow={active}
      >
        <div className="gauge-fill" style={{ inlineSize: `${pct}%` }} />
      </div>
    </div>
  );
}
