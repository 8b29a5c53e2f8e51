/** SVG panels of curves with bands, each y-axis fitted to what it shows. */
export interface Curve {
  name: string;
  mean: number[];
  low: number[];
  high: number[];
}

export interface Panel {
  title: string;
  yLabel: string;
  curves: Curve[];
  /** Draw y = 0 (for differences). */
  zero?: boolean;
}

const COLORS = ['#7f7f7f', '#d62728', '#1f77b4', '#2ca02c', '#9467bd'];
const W = 720;
const PANEL_H = 300;
const M = { l: 64, r: 180, t: 36, b: 44 };

/** A y-range that fits every band (and 0 when asked), padded by 5 %. */
function yRange(p: Panel): [number, number] {
  const values = p.curves.flatMap((c) => [...c.low, ...c.high]).filter(Number.isFinite);
  if (p.zero) values.push(0);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (!values.length) [lo, hi] = [0, 1];
  if (hi - lo < 1e-3) [lo, hi] = [lo - 0.01, hi + 0.01];
  const pad = 0.05 * (hi - lo);
  return [lo - pad, hi + pad];
}

function panel(steps: readonly number[], p: Panel, top: number, colorOf: (name: string) => string): string[] {
  const maxX = Math.max(...steps, 1);
  const [lo, hi] = yRange(p);
  const bottom = top + PANEL_H - M.b;
  const x = (s: number): number => M.l + ((W - M.l - M.r) * s) / maxX;
  const y = (v: number): number => bottom - ((bottom - top - M.t) * (v - lo)) / (hi - lo);
  const parts = [
    `<text x="${M.l}" y="${top + 22}" font-size="13">${p.title}</text>`,
    `<line x1="${M.l}" y1="${bottom}" x2="${W - M.r}" y2="${bottom}" stroke="black"/>`,
    `<line x1="${M.l}" y1="${top + M.t}" x2="${M.l}" y2="${bottom}" stroke="black"/>`,
    `<text x="${(W - M.r + M.l) / 2}" y="${bottom + 34}" text-anchor="middle">RL step</text>`,
    `<text x="16" y="${(bottom + top + M.t) / 2}" transform="rotate(-90 16 ${(bottom + top + M.t) / 2})" text-anchor="middle">${p.yLabel}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    parts.push(`<text x="${M.l - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(3)}</text>`);
    parts.push(`<line x1="${M.l}" y1="${y(v)}" x2="${W - M.r}" y2="${y(v)}" stroke="#eee"/>`);
  }
  if (p.zero)
    parts.push(
      `<line x1="${M.l}" y1="${y(0)}" x2="${W - M.r}" y2="${y(0)}" stroke="black" stroke-dasharray="4 3"/>`,
    );
  for (const s of steps) parts.push(`<text x="${x(s)}" y="${bottom + 16}" text-anchor="middle">${s}</text>`);
  p.curves.forEach((c, k) => {
    const color = colorOf(c.name);
    const upper = steps.map((s, i) => `${x(s).toFixed(1)},${y(c.high[i]).toFixed(1)}`);
    const lower = steps.map((s, i) => `${x(s).toFixed(1)},${y(c.low[i]).toFixed(1)}`).reverse();
    parts.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${color}" opacity="0.12"/>`);
    parts.push(
      `<polyline points="${steps.map((s, i) => `${x(s).toFixed(1)},${y(c.mean[i]).toFixed(1)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`,
    );
    const ly = top + M.t + 18 * k;
    parts.push(
      `<line x1="${W - M.r + 12}" y1="${ly}" x2="${W - M.r + 32}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
    );
    parts.push(`<text x="${W - M.r + 38}" y="${ly + 4}">${c.name}</text>`);
  });
  return parts;
}

export function svgPanels(steps: readonly number[], panels: readonly Panel[]): string {
  const names = [...new Set(panels.flatMap((p) => p.curves.map((c) => c.name)))];
  const colorOf = (name: string): string => COLORS[names.indexOf(name) % COLORS.length];
  const H = PANEL_H * panels.length;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    ...panels.flatMap((p, i) => panel(steps, p, i * PANEL_H, colorOf)),
    '</svg>',
  ];
  return parts.join('\n') + '\n';
}
