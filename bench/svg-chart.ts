// A small line chart as standalone SVG (no dependencies), for the charts bench/scaling.ts writes into BENCHMARKS.md.
export interface Series {
  name: string;
  points: Array<[number, number]>;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Log-scale x axis (base 2 or 10 ticks at the data's x values). */
  logX?: boolean;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Round step for about `n` ticks over [0, max]. */
function niceStep(max: number, n: number): number {
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
}

const label = (v: number) => (v >= 1e6 ? `${v / 1e6}M` : v >= 1e3 ? `${v / 1e3}k` : `${+v.toPrecision(3)}`);

export function lineChart(spec: ChartSpec): string {
  const W = 640;
  const H = 360;
  const m = { left: 64, right: 150, top: 40, bottom: 52 };
  const xs = [...new Set(spec.series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const yMaxData = Math.max(...spec.series.flatMap((s) => s.points.map((p) => p[1])));
  const step = niceStep(yMaxData, 5);
  const yMax = Math.ceil(yMaxData / step) * step;
  const fx = (x: number) => {
    const [a, b] = spec.logX ? [Math.log(xs[0]), Math.log(xs[xs.length - 1])] : [xs[0], xs[xs.length - 1]];
    const v = spec.logX ? Math.log(x) : x;
    return m.left + ((v - a) / (b - a || 1)) * (W - m.left - m.right);
  };
  const fy = (y: number) => H - m.bottom - (y / yMax) * (H - m.top - m.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - m.right / 2 + m.left / 2}" y="22" text-anchor="middle" font-size="15">${esc(spec.title)}</text>`,
  ];
  for (let y = 0; y <= yMax + step / 2; y += step) {
    out.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${fy(y)}" y2="${fy(y)}" stroke="#ddd"/>`);
    out.push(`<text x="${m.left - 6}" y="${fy(y) + 4}" text-anchor="end">${label(y)}</text>`);
  }
  for (const x of xs) out.push(`<text x="${fx(x)}" y="${H - m.bottom + 18}" text-anchor="middle">${label(x)}</text>`);
  out.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${H - m.bottom}" y2="${H - m.bottom}" stroke="#333"/>`);
  out.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${H - m.bottom}" stroke="#333"/>`);
  out.push(`<text x="${(m.left + W - m.right) / 2}" y="${H - 12}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${(m.top + H - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`);
  spec.series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${s.points.map(([x, y]) => `${fx(x).toFixed(1)},${fy(y).toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of s.points) out.push(`<circle cx="${fx(x).toFixed(1)}" cy="${fy(y).toFixed(1)}" r="3" fill="${c}"/>`);
    const ly = m.top + 10 + i * 20;
    out.push(`<line x1="${W - m.right + 12}" x2="${W - m.right + 32}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="2"/>`);
    out.push(`<text x="${W - m.right + 38}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
