/** The SVG of mean ± std held-out accuracy curves per arm. */
export interface Curve {
  name: string;
  mean: number[];
  sd: number[];
}

export function svgPlot(steps: readonly number[], curves: readonly Curve[], title: string): string {
  const W = 640;
  const H = 400;
  const m = { l: 60, r: 170, t: 40, b: 50 };
  const maxX = Math.max(...steps, 1);
  const maxY = Math.max(0.05, ...curves.flatMap((c) => c.mean.map((v, i) => v + c.sd[i]))) * 1.1;
  const x = (s: number): number => m.l + ((W - m.l - m.r) * s) / maxX;
  const y = (v: number): number => H - m.b - ((H - m.t - m.b) * v) / maxY;
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#7f7f7f'];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.l}" y="22" font-size="14">${title}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`,
    `<text x="${(W - m.r + m.l) / 2}" y="${H - 12}" text-anchor="middle">RL step</text>`,
    `<text x="16" y="${(H - m.b + m.t) / 2}" transform="rotate(-90 16 ${(H - m.b + m.t) / 2})" text-anchor="middle">held-out accuracy (greedy)</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (maxY * i) / 4;
    parts.push(`<text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(2)}</text>`);
    parts.push(`<line x1="${m.l}" y1="${y(v)}" x2="${W - m.r}" y2="${y(v)}" stroke="#eee"/>`);
  }
  for (const s of steps) parts.push(`<text x="${x(s)}" y="${H - m.b + 16}" text-anchor="middle">${s}</text>`);
  curves.forEach((c, k) => {
    const color = colors[k % colors.length];
    const upper = steps.map((s, i) => `${x(s).toFixed(1)},${y(c.mean[i] + c.sd[i]).toFixed(1)}`);
    const lower = steps
      .map((s, i) => `${x(s).toFixed(1)},${y(Math.max(0, c.mean[i] - c.sd[i])).toFixed(1)}`)
      .reverse();
    parts.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${color}" opacity="0.12"/>`);
    parts.push(
      `<polyline points="${steps.map((s, i) => `${x(s).toFixed(1)},${y(c.mean[i]).toFixed(1)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`,
    );
    parts.push(
      `<line x1="${W - m.r + 12}" y1="${m.t + 18 * k}" x2="${W - m.r + 32}" y2="${m.t + 18 * k}" stroke="${color}" stroke-width="2"/>`,
    );
    parts.push(`<text x="${W - m.r + 38}" y="${m.t + 18 * k + 4}">${c.name}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
