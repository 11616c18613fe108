/**
 * The bench chart, written as plain SVG (no library, no network): throughput and p99
 * latency against offered load, ours against the row-lock baseline, plus the capacity bars
 * (drain, baseline saturation, Postgres ceiling).
 */

export interface SweepPoint {
  offered: number;
  value: number | null;
}

export interface ChartInput {
  title: string;
  subtitle: string;
  oursAcked: SweepPoint[];
  oursCompleted: SweepPoint[];
  baselineDone: SweepPoint[];
  oursP99: SweepPoint[];
  baselineP99: SweepPoint[];
  e2eP99: { offered: number; value: number } | null;
  ackP99TargetMs: number;
  e2eP99TargetMs: number;
  bars: { label: string; value: number | null; kind: 'ours' | 'baseline' | 'ceiling' | 'ideal' }[];
  /** Lines under the panels (figures that are not curves or bars). */
  footer?: string[];
}

const W = 1260;
const H = 580;
const PANEL_W = 360;
const PANEL_H = 300;
const TOP = 90;
const COLORS = { ours: '#1f6feb', oursDone: '#58a6ff', baseline: '#d1242f', ceiling: '#6e7781', ideal: '#1a7f37', grid: '#d0d7de', text: '#24292f', target: '#8250df' };

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const exp = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * exp >= value - 1e-9) return m * exp;
  return 10 * exp;
}

function fmt(n: number): string {
  if (n >= 1000) return `${Math.round(n / 100) / 10}k`;
  return String(Math.round(n * 10) / 10);
}

interface Axis {
  x0: number;
  y0: number;
  xMax: number;
  yMin: number;
  yMax: number;
  log: boolean;
}

function px(a: Axis, x: number): number {
  return a.x0 + (x / a.xMax) * PANEL_W;
}

function py(a: Axis, y: number): number {
  if (a.log) {
    const v = Math.max(a.yMin, Math.min(a.yMax, y));
    return a.y0 + PANEL_H - ((Math.log10(v) - Math.log10(a.yMin)) / (Math.log10(a.yMax) - Math.log10(a.yMin))) * PANEL_H;
  }
  return a.y0 + PANEL_H - (Math.min(y, a.yMax) / a.yMax) * PANEL_H;
}

function frame(a: Axis, title: string, xLabel: string, yLabel: string, yTicks: number[]): string[] {
  const out: string[] = [];
  out.push(`<text x="${a.x0}" y="${a.y0 - 14}" font-size="14" font-weight="600" fill="${COLORS.text}">${esc(title)}</text>`);
  for (const t of yTicks) {
    const y = py(a, t);
    out.push(`<line x1="${a.x0}" y1="${y}" x2="${a.x0 + PANEL_W}" y2="${y}" stroke="${COLORS.grid}" stroke-width="1"/>`);
    out.push(`<text x="${a.x0 - 6}" y="${y + 4}" font-size="11" text-anchor="end" fill="${COLORS.text}">${fmt(t)}</text>`);
  }
  const xStep = [1, 2, 2.5, 5, 10].map((m) => m * 10 ** Math.floor(Math.log10(a.xMax / 5))).find((step) => a.xMax / step <= 6) ?? a.xMax / 5;
  for (let x = 0; x <= a.xMax + 1e-9; x += xStep) {
    const X = px(a, x);
    out.push(`<line x1="${X}" y1="${a.y0 + PANEL_H}" x2="${X}" y2="${a.y0 + PANEL_H + 4}" stroke="${COLORS.text}"/>`);
    out.push(`<text x="${X}" y="${a.y0 + PANEL_H + 17}" font-size="11" text-anchor="middle" fill="${COLORS.text}">${fmt(x)}</text>`);
  }
  out.push(`<rect x="${a.x0}" y="${a.y0}" width="${PANEL_W}" height="${PANEL_H}" fill="none" stroke="${COLORS.text}" stroke-width="1"/>`);
  out.push(`<text x="${a.x0 + PANEL_W / 2}" y="${a.y0 + PANEL_H + 34}" font-size="12" text-anchor="middle" fill="${COLORS.text}">${esc(xLabel)}</text>`);
  out.push(
    `<text transform="translate(${a.x0 - 46},${a.y0 + PANEL_H / 2}) rotate(-90)" font-size="12" text-anchor="middle" fill="${COLORS.text}">${esc(yLabel)}</text>`,
  );
  return out;
}

function series(a: Axis, points: SweepPoint[], color: string, dashed = false): string[] {
  const valid = points.filter((p): p is { offered: number; value: number } => p.value !== null && Number.isFinite(p.value)).sort((p, q) => p.offered - q.offered);
  if (valid.length === 0) return [];
  const out: string[] = [];
  const d = valid.map((p, i) => `${i === 0 ? 'M' : 'L'}${px(a, p.offered).toFixed(1)},${py(a, p.value).toFixed(1)}`).join(' ');
  out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2.5"${dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
  for (const p of valid) out.push(`<circle cx="${px(a, p.offered).toFixed(1)}" cy="${py(a, p.value).toFixed(1)}" r="3.5" fill="${color}"/>`);
  return out;
}

function legend(x: number, y: number, items: { label: string; color: string; dashed?: boolean }[]): string[] {
  return items.flatMap((item, i) => [
    `<line x1="${x}" y1="${y + i * 17}" x2="${x + 22}" y2="${y + i * 17}" stroke="${item.color}" stroke-width="2.5"${item.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    `<text x="${x + 28}" y="${y + i * 17 + 4}" font-size="11" fill="${COLORS.text}">${esc(item.label)}</text>`,
  ]);
}

export function renderChart(input: ChartInput): string {
  const offered = [...input.oursAcked, ...input.baselineDone].map((p) => p.offered);
  const xMax = niceMax(Math.max(1, ...offered) * 1.05);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="20" y="28" font-size="18" font-weight="700" fill="${COLORS.text}">${esc(input.title)}</text>`);
  out.push(`<text x="20" y="48" font-size="12" fill="${COLORS.text}">${esc(input.subtitle)}</text>`);

  // Panel 1: throughput vs offered load.
  const tp: SweepPoint[] = [...input.oursAcked, ...input.oursCompleted, ...input.baselineDone];
  const yMax1 = niceMax(Math.max(xMax, ...tp.map((p) => p.value ?? 0)));
  const a1: Axis = { x0: 80, y0: TOP, xMax, yMin: 0, yMax: yMax1, log: false };
  out.push(...frame(a1, 'Throughput vs offered load', 'offered load (transfers/s)', 'transfers/s', [0, yMax1 / 4, yMax1 / 2, (3 * yMax1) / 4, yMax1]));
  out.push(`<line x1="${px(a1, 0)}" y1="${py(a1, 0)}" x2="${px(a1, Math.min(xMax, yMax1))}" y2="${py(a1, Math.min(xMax, yMax1))}" stroke="${COLORS.grid}" stroke-width="1.5" stroke-dasharray="3 3"/>`);
  out.push(...series(a1, input.oursAcked, COLORS.ours));
  out.push(...series(a1, input.oursCompleted, COLORS.oursDone, true));
  out.push(...series(a1, input.baselineDone, COLORS.baseline));
  out.push(
    ...legend(a1.x0, a1.y0 + PANEL_H + 56, [
      { label: 'ledgerline: acked (202)', color: COLORS.ours },
      { label: 'ledgerline: COMPLETED during the step', color: COLORS.oursDone, dashed: true },
      { label: 'row-lock baseline: committed', color: COLORS.baseline },
    ]),
  );

  // Panel 2: p99 latency vs offered load (log scale).
  const lat = [...input.oursP99, ...input.baselineP99].map((p) => p.value ?? 0).filter((v) => v > 0);
  const yMax2 = 10 ** Math.ceil(Math.log10(Math.max(input.e2eP99TargetMs * 2, ...lat, input.e2eP99?.value ?? 0)));
  const a2: Axis = { x0: 500, y0: TOP, xMax, yMin: 1, yMax: yMax2, log: true };
  const ticks2: number[] = [];
  for (let t = 1; t <= yMax2; t *= 10) ticks2.push(t);
  out.push(...frame(a2, 'p99 latency vs offered load (log)', 'offered load (transfers/s)', 'ms', ticks2));
  const target = (ms: number, label: string) => [
    `<line x1="${a2.x0}" y1="${py(a2, ms)}" x2="${a2.x0 + PANEL_W}" y2="${py(a2, ms)}" stroke="${COLORS.target}" stroke-width="1" stroke-dasharray="4 3"/>`,
    `<text x="${a2.x0 + PANEL_W - 4}" y="${py(a2, ms) - 4}" font-size="10" text-anchor="end" fill="${COLORS.target}">${esc(label)}</text>`,
  ];
  out.push(...target(input.ackP99TargetMs, `ack target ${input.ackP99TargetMs} ms`));
  out.push(...target(input.e2eP99TargetMs, `e2e target ${input.e2eP99TargetMs} ms`));
  out.push(...series(a2, input.oursP99, COLORS.ours));
  out.push(...series(a2, input.baselineP99, COLORS.baseline));
  if (input.e2eP99) {
    const x = px(a2, input.e2eP99.offered);
    const y = py(a2, input.e2eP99.value);
    out.push(`<rect x="${x - 5}" y="${y - 5}" width="10" height="10" fill="${COLORS.oursDone}" stroke="${COLORS.ours}"/>`);
  }
  out.push(
    ...legend(a2.x0, a2.y0 + PANEL_H + 56, [
      { label: 'ledgerline: ack p99 (durable in Kafka)', color: COLORS.ours },
      { label: 'row-lock baseline: p99 (committed)', color: COLORS.baseline },
    ]),
  );
  if (input.e2eP99) {
    const ly = a2.y0 + PANEL_H + 56 + 2 * 17;
    out.push(`<rect x="${a2.x0 + 6}" y="${ly - 5}" width="10" height="10" fill="${COLORS.oursDone}" stroke="${COLORS.ours}"/>`);
    out.push(`<text x="${a2.x0 + 28}" y="${ly + 4}" font-size="11" fill="${COLORS.text}">ledgerline: e2e p99 at ${fmt(input.e2eP99.offered)}/s (202 to COMPLETED)</text>`);
  }

  // Panel 3: capacity bars: ours, the baseline and the ideal side by side.
  const x0 = 920;
  const barsMax = niceMax(Math.max(1, ...input.bars.map((b) => b.value ?? 0)));
  out.push(`<text x="${x0}" y="${TOP - 14}" font-size="14" font-weight="600" fill="${COLORS.text}">Capacity (transfers/s)</text>`);
  const rowH = PANEL_H / Math.max(1, input.bars.length);
  input.bars.forEach((bar, i) => {
    const y = TOP + i * rowH;
    const width = bar.value ? (bar.value / barsMax) * 200 : 0;
    const color = COLORS[bar.kind];
    out.push(`<text x="${x0}" y="${y + 14}" font-size="11" fill="${COLORS.text}">${esc(bar.label)}</text>`);
    out.push(`<rect x="${x0}" y="${y + 20}" width="${width.toFixed(1)}" height="${Math.max(8, rowH - 34)}" fill="${color}"/>`);
    out.push(
      `<text x="${x0 + width + 6}" y="${y + 20 + Math.max(8, rowH - 34) / 2 + 4}" font-size="11" fill="${COLORS.text}">${bar.value === null ? 'not measured' : fmt(bar.value)}</text>`,
    );
  });
  (input.footer ?? []).forEach((line, i) => out.push(`<text x="20" y="${H - 30 + i * 16}" font-size="12" fill="${COLORS.text}">${esc(line)}</text>`));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
