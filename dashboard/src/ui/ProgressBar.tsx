/** A labelled progress bar (role=progressbar, so its value is announced and testable). */
export function ProgressBar(props: { value: number; max: number; label: string; testId?: string }) {
  const { value, max, label } = props;
  const pct = max > 0 ? Math.min(100, Math.round((value / max) * 100)) : 0;
  return (
    <div
      className="progress"
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={max}
      aria-valuenow={value}
      aria-valuetext={`${value} / ${max} (${pct}%)`}
      data-testid={props.testId}
    >
      <div className="progress-fill" style={{ inlineSize: `${pct}%` }} />
      <span className="progress-text">
        {value} / {max} · {pct}%
      </span>
    </div>
  );
}
