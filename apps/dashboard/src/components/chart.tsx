import { useEffect, useRef } from 'react';
import uPlot, { type AlignedData, type Options } from 'uplot';

import 'uplot/dist/uPlot.min.css';

import { formatNumber } from '../lib/format';

export interface ChartSeries {
  label: string;
  /** One value per x; null where this series has no point (gaps are bridged). */
  values: (number | null)[];
}

/** Distinguishable on white and for the common colour-vision deficiencies (Okabe–Ito). */
export const PALETTE = [
  '#0072b2',
  '#d55e00',
  '#009e73',
  '#cc79a7',
  '#e69f00',
  '#56b4e9',
  '#000000',
  '#f0e442',
];

const HEIGHT = 180;

/**
 * A uPlot line chart: canvas-drawn, so thousands of points per series stay fast, and updated in place with
 * `setData` as steps land (no re-creation, so zoom and the cursor survive updates). The figure caption carries
 * the latest values in text for screen readers and for tests.
 */
export function LineChart({
  title,
  x,
  series,
  xLabel = 'step',
}: {
  title: string;
  x: number[];
  series: ChartSeries[];
  xLabel?: string;
}) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.label).join('\u0000');
  const data: AlignedData = [x, ...series.map((s) => s.values)];

  // Re-create only when the set of series changes; otherwise update the data in place (see the effect below).
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const options: Options = {
      width: Math.max(element.clientWidth, 200),
      height: HEIGHT,
      legend: { show: series.length > 1 },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: false } },
      axes: [
        { label: xLabel, labelSize: 18, size: 32, values: (_u, ticks) => ticks.map((t) => formatNumber(t)) },
        // Wide enough for the longest tick label ("1.00e-5", "160,000"), so labels are never clipped.
        {
          size: (_u, values) => 16 + 7 * Math.max(3, ...(values ?? []).map((v) => String(v).length)),
          values: (_u, ticks) => ticks.map((t) => formatNumber(t)),
        },
      ],
      series: [
        { label: xLabel, value: (_u, v) => formatNumber(v) },
        ...series.map((s, index) => ({
          label: s.label,
          stroke: PALETTE[index % PALETTE.length],
          width: 1.5,
          spanGaps: true,
          points: { show: x.length < 30 },
          value: (_u: uPlot, v: number | null) => formatNumber(v),
        })),
      ],
    };
    const instance = new uPlot(options, data, element);
    plot.current = instance;
    const observer = new ResizeObserver(() =>
      instance.setSize({ width: Math.max(element.clientWidth, 200), height: HEIGHT }),
    );
    observer.observe(element);
    return () => {
      observer.disconnect();
      instance.destroy();
      plot.current = null;
    };
    // `data` is applied by the next effect; only a change of series (shape) or axis rebuilds the plot.
  }, [shape, xLabel]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  const latest = series
    .map((s) => {
      const last = [...s.values].reverse().find((v) => v !== null);
      return `${s.label}: ${formatNumber(last)}`;
    })
    .join(', ');
  return (
    <figure className="chart" data-metric={title} data-points={x.length}>
      <figcaption>
        <span className="chart-title">{title}</span>
        <span className="chart-latest">
          {x.length === 0
            ? 'no data yet'
            : series.length === 1
              ? formatNumber([...series[0].values].reverse().find((v) => v !== null))
              : ''}
        </span>
      </figcaption>
      <div
        ref={container}
        className="chart-canvas"
        role="img"
        aria-label={`${title} over ${xLabel}: ${x.length} points. Latest ${latest}`}
      />
    </figure>
  );
}
