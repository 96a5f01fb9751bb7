// SVG building blocks for limbic's self-contained HTML reports: text escaping, number formatting,
// linear and log scales with "nice" ticks, colour palettes (categorical, diverging, sequential) and
// the axes shared by the charts. Everything returns strings; nothing here touches files or the DOM.
// SVG is written inline in HTML5, so no xmlns (and no URL of any kind) appears in the output.

/** Escapes text for HTML and SVG content and attribute values. */
export function escapeXml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A compact number for labels: 3 significant digits, no trailing zeros, '' for non-finite. */
export function fmtNum(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return '';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(Math.max(0, digits - 1)).replace(/\.?0+e/, 'e');
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(a)));
  return v.toFixed(Math.min(decimals, 6)).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
}

/** Pixel coordinate: rounded to 0.1 to keep the markup short. */
export function px(v: number): string {
  return String(Math.round(v * 10) / 10);
}

export interface Scale {
  (v: number): number;
  ticks: number[];
  domain: [number, number];
  log: boolean;
}

/** Round tick values covering [min, max], about `count` of them. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const span = max - min;
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(min / step - 1e-9) * step; t <= max + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : Number(t.toPrecision(12)));
  return out;
}

/** Extent of finite values, padded by `pad` of the span (a zero span is widened by 1). */
export function extent(values: Iterable<number>, pad = 0): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) return [lo - 1, hi + 1];
  const p = (hi - lo) * pad;
  return [lo - p, hi + p];
}

/** Maps [d0, d1] to [r0, r1]; log scale (base 10) when `log` and the domain is positive. */
export function scale(domain: [number, number], range: [number, number], log = false): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const useLog = log && d0 > 0 && d1 > 0;
  const f = useLog ? Math.log10 : (v: number) => v;
  const a = f(d0);
  const b = f(d1);
  const s = ((v: number) => r0 + ((f(v) - a) / (b - a || 1)) * (r1 - r0)) as Scale;
  s.domain = [d0, d1];
  s.log = useLog;
  if (useLog) {
    const ticks: number[] = [];
    for (let e = Math.floor(a); e <= Math.ceil(b); e++) for (const m of b - a >= 3 ? [1] : [1, 2, 5]) if (m * 10 ** e >= d0 * 0.999 && m * 10 ** e <= d1 * 1.001) ticks.push(m * 10 ** e);
    s.ticks = ticks.length >= 2 ? ticks : [d0, d1];
  } else {
    s.ticks = niceTicks(d0, d1, 5);
  }
  return s;
}

// ---------------------------------------------------------------- colours

/** Twelve distinguishable categorical colours (Tableau 10 plus two). */
export const CATEGORICAL = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#17becf', '#8c564b'];

export function categorical(i: number): string {
  return CATEGORICAL[((i % CATEGORICAL.length) + CATEGORICAL.length) % CATEGORICAL.length]!;
}

type Rgb = [number, number, number];

function hex(c: Rgb): string {
  return `#${c.map((v) => Math.round(Math.max(0, Math.min(255, v))).toString(16).padStart(2, '0')).join('')}`;
}

function ramp(stops: readonly Rgb[], t: number): string {
  const x = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0.5)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i]!;
  const b = stops[i + 1]!;
  return hex([a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f]);
}

const DIVERGING: Rgb[] = [[33, 102, 172], [146, 197, 222], [247, 247, 247], [244, 165, 130], [178, 24, 43]];
const SEQUENTIAL: Rgb[] = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

export type Palette = 'diverging' | 'sequential';

/** Colour of `v` on [min, max]: diverging is blue-white-red (white at the midpoint), sequential is viridis-like. */
export function colourFor(v: number, min: number, max: number, palette: Palette): string {
  if (!Number.isFinite(v)) return '#dddddd';
  const t = max > min ? (v - min) / (max - min) : 0.5;
  return ramp(palette === 'diverging' ? DIVERGING : SEQUENTIAL, t);
}

/** Black or white text, whichever reads better on a `#rrggbb` background. */
export function textOn(bg: string): string {
  const n = Number.parseInt(bg.slice(1), 16);
  const lum = 0.299 * ((n >> 16) & 255) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255);
  return lum > 140 ? '#000' : '#fff';
}

// ---------------------------------------------------------------- axes and frames

export interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** Inner plotting box of a frame: [x0, x1] and [y0, y1] in pixels (y grows downwards). */
export function inner(f: Frame): { x0: number; x1: number; y0: number; y1: number } {
  return { x0: f.left, x1: f.width - f.right, y0: f.top, y1: f.height - f.bottom };
}

export function svgOpen(f: Frame, label: string): string {
  return `<svg class="chart" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" role="img" aria-label="${escapeXml(label)}">`;
}

/** Axes with ticks, grid lines, zero line (when inside) and axis titles. */
export function axes(f: Frame, x: Scale, y: Scale, xLabel: string, yLabel: string, opts: { grid?: boolean; xTickLabels?: (v: number) => string } = {}): string {
  const b = inner(f);
  const parts: string[] = [];
  const grid = opts.grid ?? true;
  const xl = opts.xTickLabels ?? ((v: number) => fmtNum(v));
  for (const t of x.ticks) {
    const X = px(x(t));
    if (grid) parts.push(`<line class="grid" x1="${X}" y1="${b.y0}" x2="${X}" y2="${b.y1}"/>`);
    parts.push(`<text class="tick" x="${X}" y="${b.y1 + 14}" text-anchor="middle">${escapeXml(xl(t))}</text>`);
  }
  for (const t of y.ticks) {
    const Y = px(y(t));
    if (grid) parts.push(`<line class="grid" x1="${b.x0}" y1="${Y}" x2="${b.x1}" y2="${Y}"/>`);
    parts.push(`<text class="tick" x="${b.x0 - 5}" y="${Y}" dy="0.32em" text-anchor="end">${escapeXml(fmtNum(t))}</text>`);
  }
  if (!y.log && y.domain[0] < 0 && y.domain[1] > 0) parts.push(`<line class="zero" x1="${b.x0}" y1="${px(y(0))}" x2="${b.x1}" y2="${px(y(0))}"/>`);
  if (!x.log && x.domain[0] < 0 && x.domain[1] > 0) parts.push(`<line class="zero" x1="${px(x(0))}" y1="${b.y0}" x2="${px(x(0))}" y2="${b.y1}"/>`);
  parts.push(`<rect class="frame" x="${b.x0}" y="${b.y0}" width="${b.x1 - b.x0}" height="${b.y1 - b.y0}"/>`);
  parts.push(`<text class="axis-title" x="${px((b.x0 + b.x1) / 2)}" y="${f.height - 6}" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  parts.push(`<text class="axis-title" transform="translate(14 ${px((b.y0 + b.y1) / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`);
  return parts.join('');
}

/** A legend of coloured swatches, laid out in rows from (x, y) within `width`. Returns markup and its height. */
export function legend(items: readonly { label: string; colour: string; dashed?: boolean }[], x: number, y: number, width: number): { svg: string; height: number } {
  const parts: string[] = [];
  let cx = x;
  let cy = y;
  for (const it of items) {
    const w = 30 + Math.min(40, it.label.length) * 6.8;
    if (cx + w > x + width && cx > x) {
      cx = x;
      cy += 16;
    }
    const swatch = it.dashed
      ? `<line x1="${px(cx)}" y1="${px(cy + 5)}" x2="${px(cx + 14)}" y2="${px(cy + 5)}" stroke="${it.colour}" stroke-width="2" stroke-dasharray="4 2"/>`
      : `<rect x="${px(cx)}" y="${px(cy)}" width="12" height="10" fill="${it.colour}"/>`;
    parts.push(`${swatch}<text class="legend" x="${px(cx + 17)}" y="${px(cy + 9)}">${escapeXml(it.label.slice(0, 40))}</text>`);
    cx += w;
  }
  return { svg: parts.join(''), height: items.length ? cy - y + 16 : 0 };
}
