import { useEffect, useRef } from 'react';
import uPlot, { type AlignedData, type Options } from 'uplot';

import 'uplot/dist/uPlot.min.css';

import { formatNumber } from '../lib/format';

export interface ChartSeries {
  label: string;
  /** One value per x; null where this series has no point (gaps are bridged). */
  values: (number | null)[];
  /** Drawn thin and pale (the raw curve under its smoothed one); left out of the caption. */
  faint?: boolean;
  /** Palette index (defaults to the series' position). */
  colour?: number;
  /** Fills between this series and the one at `bandTo` (mean ± std bands); the series itself is not stroked. */
  bandTo?: number;
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

function seriesOptions(s: ChartSeries, index: number, pointsShown: boolean): uPlot.Series {
  const colour = PALETTE[(s.colour ?? index) % PALETTE.length];
  return {
    label: s.label,
    stroke: s.bandTo !== undefined ? 'transparent' : s.faint ? `${colour}55` : colour,
    width: s.faint ? 1 : 1.5,
    spanGaps: true,
    points: { show: pointsShown && !s.faint && s.bandTo === undefined },
    value: (_u: uPlot, v: number | null) => formatNumber(v),
  };
}

function chartOptions(
  width: number,
  series: ChartSeries[],
  x: number[],
  settings: { xLabel: string; logScale: boolean; syncKey?: string },
): Options {
  const bands = series.flatMap((s, i) =>
    s.bandTo === undefined
      ? []
      : [
          {
            series: [i + 1, s.bandTo + 1] as [number, number],
            fill: `${PALETTE[(s.colour ?? i) % PALETTE.length]}22`,
          },
        ],
  );
  return {
    width,
    height: HEIGHT,
    legend: { show: series.filter((s) => !s.faint && s.bandTo === undefined).length > 1 },
    cursor: {
      drag: { x: true, y: false },
      ...(settings.syncKey ? { sync: { key: settings.syncKey } } : {}),
    },
    scales: { x: { time: false }, y: settings.logScale ? { distr: 3 } : {} },
    bands,
    axes: [
      {
        label: settings.xLabel,
        labelSize: 18,
        size: 32,
        values: (_u, ticks) => ticks.map((t) => formatNumber(t)),
      },
      // Wide enough for the longest tick label ("1.00e-5", "160,000"), so labels are never clipped.
      {
        size: (_u, values) => 16 + 7 * Math.max(3, ...(values ?? []).map((v) => String(v).length)),
        values: (_u, ticks) => ticks.map((t) => formatNumber(t)),
      },
    ],
    series: [
      { label: settings.xLabel, value: (_u, v) => formatNumber(v) },
      ...series.map((s, index) => seriesOptions(s, index, x.length < 30)),
    ],
  };
}

const lastValue = (values: readonly (number | null)[]) => [...values].reverse().find((v) => v !== null);

/**
 * A uPlot line chart: canvas-drawn, so thousands of points per series stay fast, and updated in place with
 * `setData` as steps land (no re-creation, so zoom and the cursor survive updates). Charts sharing a `syncKey` move
 * one cursor together. The figure caption carries the latest values in text for screen readers and for tests.
 */
export function LineChart({
  title,
  x,
  series,
  xLabel = 'step',
  logScale = false,
  syncKey,
  controls,
}: {
  title: string;
  x: number[];
  series: ChartSeries[];
  xLabel?: string;
  logScale?: boolean;
  syncKey?: string;
  /** Rendered in the caption (smoothing, log scale). */
  controls?: React.ReactNode;
}) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => `${s.label}:${s.faint ?? ''}:${s.bandTo ?? ''}`).join('\u0000');
  const data: AlignedData = [x, ...series.map((s) => s.values)];

  // Re-create only when the set of series, the axis or the scale changes; otherwise update the data in place.
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const width = () => Math.max(element.clientWidth, 200);
    const instance = new uPlot(
      chartOptions(width(), series, x, { xLabel, logScale, syncKey }),
      data,
      element,
    );
    plot.current = instance;
    // The pale raw curves and the band edges stay out of the legend: it names the curves a reader follows.
    const rows = instance.root.querySelectorAll<HTMLElement>('.u-legend .u-series');
    series.forEach((s, i) => {
      if ((s.faint || s.bandTo !== undefined) && rows[i + 1]) rows[i + 1].style.display = 'none';
    });
    const observer = new ResizeObserver(() => instance.setSize({ width: width(), height: HEIGHT }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      instance.destroy();
      plot.current = null;
    };
    // `data` is applied by the next effect; only a change of series (shape), axis or scale rebuilds the plot.
  }, [shape, xLabel, logScale, syncKey]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  const shown = series.filter((s) => !s.faint && s.bandTo === undefined);
  // One curve (and perhaps its raw values under it): the caption gives the latest raw value.
  const primary = shown.length === 1 ? (series.find((s) => s.faint) ?? shown[0]) : null;
  const latest = shown.map((s) => `${s.label}: ${formatNumber(lastValue(s.values))}`).join(', ');
  return (
    <figure className="chart" data-metric={title} data-points={x.length} data-log={logScale || undefined}>
      <figcaption>
        <span className="chart-title">{title}</span>
        <span className="chart-latest">
          {x.length === 0 ? 'no data yet' : primary ? formatNumber(lastValue(primary.values)) : ''}
        </span>
        {controls}
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
