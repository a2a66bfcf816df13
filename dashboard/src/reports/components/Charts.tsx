/**
 * The report's charts, on uPlot (about 20 KB gzipped, loaded only with this module, which the
 * reports page imports lazily). One small line chart per series group; sized to its container.
 */
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  color: string;
  values: (number | null)[];
}

export default function LineChart(props: { title: string; days: string[]; series: Series[]; bars?: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const xs = props.days.map((d) => Date.parse(`${d}T12:00:00Z`) / 1000);
    const opts: uPlot.Options = {
      width: Math.max(240, el.clientWidth),
      height: 220,
      // Day labels are plain dates (already days of the business's clock): read them in UTC.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "UTC"),
      scales: { x: { time: true } },
      legend: { show: true },
      series: [
        {},
        ...props.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          fill: props.bars ? `${s.color}33` : undefined,
          width: 2,
          paths: props.bars ? uPlot.paths.bars?.({ size: [0.6, 40] }) : undefined,
          spanGaps: true,
        })),
      ],
      axes: [{}, { size: 40 }],
    };
    const chart = new uPlot(opts, [xs, ...props.series.map((s) => s.values)] as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(240, el.clientWidth), height: 220 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [props.days, props.series, props.bars]);
  return (
    <figure className="card chart">
      <figcaption>{props.title}</figcaption>
      {/* uPlot draws left to right whatever the page's direction. */}
      <div ref={box} dir="ltr" className="chart-box" />
    </figure>
  );
}
