/** Minimal line charts as SVG: measured points joined by lines, axes with ticks, a legend. */
export interface Series {
  label: string;
  points: { x: number; y: number }[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const W = 720;
const H = 420;
const M = { left: 70, right: 20, top: 40, bottom: 60 };

function ticks(max: number, count = 5): number[] {
  if (max <= 0) return [0];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  return Array.from({ length: Math.floor(max / step) + 1 }, (_, i) => Number((i * step).toPrecision(6)));
}

const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function lineChart(options: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  hLine?: { y: number; label: string };
}): string {
  const all = options.series.flatMap((s) => s.points);
  const xMax = Math.max(...all.map((p) => p.x), 1) * 1.05;
  const yMax = Math.max(...all.map((p) => p.y), options.hLine?.y ?? 0, 1e-9) * 1.1;
  const xTicks = ticks(xMax);
  const yTicks = ticks(yMax);
  const sx = (x: number) => M.left + (x / xTicks.at(-1)!) * (W - M.left - M.right);
  const sy = (y: number) => H - M.bottom - (y / yTicks.at(-1)!) * (H - M.top - M.bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(options.title)}</text>`,
  ];
  for (const t of yTicks) {
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${sy(t)}" y2="${sy(t)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${M.left - 8}" y="${sy(t) + 4}" text-anchor="end">${t}</text>`);
  }
  for (const t of xTicks) {
    parts.push(`<line x1="${sx(t)}" x2="${sx(t)}" y1="${H - M.bottom}" y2="${H - M.bottom + 5}" stroke="#333"/>`);
    parts.push(`<text x="${sx(t)}" y="${H - M.bottom + 20}" text-anchor="middle">${t}</text>`);
  }
  parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#333"/>`);
  parts.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#333"/>`);
  parts.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 15}" text-anchor="middle">${esc(options.xLabel)}</text>`);
  parts.push(
    `<text transform="translate(18 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(options.yLabel)}</text>`,
  );
  if (options.hLine) {
    parts.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${sy(options.hLine.y)}" y2="${sy(options.hLine.y)}" stroke="#999" stroke-dasharray="6 4"/>`,
    );
    parts.push(
      `<text x="${W - M.right - 4}" y="${sy(options.hLine.y) - 5}" text-anchor="end" fill="#666">${esc(options.hLine.label)}</text>`,
    );
  }
  options.series.forEach((series, i) => {
    const color = COLORS[i % COLORS.length];
    const path = series.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of series.points) parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3.5" fill="${color}"/>`);
    parts.push(`<rect x="${M.left + 12}" y="${M.top + 8 + i * 18}" width="12" height="3" fill="${color}"/>`);
    parts.push(`<text x="${M.left + 30}" y="${M.top + 13 + i * 18}">${esc(series.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
