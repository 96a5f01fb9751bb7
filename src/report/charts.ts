// Point and line charts as inline SVG strings: labelled scatter plots coloured by group, line charts
// with several series (optional log x, dashed series, markers) and horizontal bar charts (negative
// values extend left of zero). Specs are plain data so reports can be built from JSON results.
import { axes, categorical, escapeXml, extent, fmtNum, inner, legend, px, scale, svgOpen, type Frame } from './svg.ts';

export interface ScatterPoint {
  x: number;
  y: number;
  label?: string;
  /** Group name: points of a group share a colour and a legend entry. */
  group?: string;
}

export interface ScatterSpec {
  points: ScatterPoint[];
  xLabel?: string;
  yLabel?: string;
  /** Draw each point's label beside it (default true). */
  labels?: boolean;
  width?: number;
  height?: number;
}

export interface LineSeries {
  name: string;
  /** Same length as the chart's x; null leaves a gap. */
  values: (number | null)[];
  dashed?: boolean;
}

export interface LinesSpec {
  x: number[];
  series: LineSeries[];
  xLabel?: string;
  yLabel?: string;
  logX?: boolean;
  /** Fixed y range (default: the data's extent). */
  yDomain?: [number, number];
  /** Vertical marker lines, e.g. a recommended layer. */
  markers?: { x: number; label: string }[];
  width?: number;
  height?: number;
}

export interface BarsSpec {
  bars: { label: string; value: number; group?: string }[];
  xLabel?: string;
  width?: number;
}

/** One colour per group, groups in natural order ("2: x" before "10: y"). */
function groupColours(groups: readonly (string | undefined)[]): Map<string, string> {
  const names = [...new Set(groups.filter((g): g is string => g !== undefined))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return new Map(names.map((g, i) => [g, categorical(i)]));
}

/** Labelled scatter plot, one colour per group, with a legend when there are groups. */
export function scatterSvg(spec: ScatterSpec): string {
  const colours = groupColours(spec.points.map((p) => p.group));
  const width = spec.width ?? 760;
  const lg = legend([...colours].map(([label, colour]) => ({ label, colour })), 56, 0, width - 70);
  const legendH = lg.height ? lg.height + 8 : 0;
  const f: Frame = { width, height: spec.height ?? 560, left: 56, right: 16, top: 12 + legendH, bottom: 40 };
  const b = inner(f);
  const x = scale(extent(spec.points.map((p) => p.x), 0.08), [b.x0, b.x1]);
  const y = scale(extent(spec.points.map((p) => p.y), 0.08), [b.y1, b.y0]);
  const parts = [svgOpen(f, `scatter plot of ${spec.points.length} points`), `<g transform="translate(0 8)">${lg.svg}</g>`, axes(f, x, y, spec.xLabel ?? 'x', spec.yLabel ?? 'y')];
  for (const p of spec.points) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) continue;
    const c = p.group !== undefined ? colours.get(p.group)! : categorical(0);
    const tip = `${p.label ?? ''}${p.group !== undefined ? ` (${p.group})` : ''}: ${fmtNum(p.x)}, ${fmtNum(p.y)}`;
    parts.push(`<circle cx="${px(x(p.x))}" cy="${px(y(p.y))}" r="3.5" fill="${c}"><title>${escapeXml(tip)}</title></circle>`);
    if (p.label && spec.labels !== false) parts.push(`<text class="point-label" x="${px(x(p.x) + 5)}" y="${px(y(p.y) + 3)}" fill="${c}">${escapeXml(p.label)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

/** Line chart with one coloured line per series and a legend. */
export function linesSvg(spec: LinesSpec): string {
  for (const s of spec.series) {
    if (s.values.length !== spec.x.length) throw new Error(`lines: series "${s.name}" has ${s.values.length} values for ${spec.x.length} x positions`);
  }
  const width = spec.width ?? 760;
  const lg = legend(spec.series.map((s, i) => ({ label: s.name, colour: categorical(i), dashed: s.dashed ?? false })), 56, 0, width - 70);
  const legendH = lg.height ? lg.height + 8 : 0;
  const f: Frame = { width, height: spec.height ?? 340, left: 56, right: 16, top: 12 + legendH, bottom: 40 };
  const b = inner(f);
  const xs = extent(spec.x);
  const x = scale(spec.x.length === 1 ? [xs[0], xs[1]] : [Math.min(...spec.x), Math.max(...spec.x)], [b.x0, b.x1], spec.logX ?? false);
  if (spec.x.every(Number.isInteger) && !x.log) {
    const whole = x.ticks.filter(Number.isInteger);
    x.ticks = whole.length >= 2 ? whole : [...spec.x];
  }
  const all = spec.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const y = scale(spec.yDomain ?? extent(all, 0.06), [b.y1, b.y0]);
  const parts = [svgOpen(f, `line chart of ${spec.series.length} series`), `<g transform="translate(0 8)">${lg.svg}</g>`, axes(f, x, y, spec.xLabel ?? 'x', spec.yLabel ?? 'y')];
  for (const m of spec.markers ?? []) {
    const X = px(x(m.x));
    const right = x(m.x) > (b.x0 + b.x1) / 2;
    parts.push(`<line class="marker" x1="${X}" y1="${b.y0}" x2="${X}" y2="${b.y1}"/><text class="tick" x="${X}" y="${b.y0 + 10}" dx="${right ? -3 : 3}" text-anchor="${right ? 'end' : 'start'}">${escapeXml(m.label)}</text>`);
  }
  spec.series.forEach((s, i) => {
    const c = categorical(i);
    let d = '';
    let pen = false;
    s.values.forEach((v, j) => {
      if (v === null || !Number.isFinite(v)) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${px(x(spec.x[j]!))} ${px(y(v))}`;
      pen = true;
    });
    parts.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    s.values.forEach((v, j) => {
      if (v === null || !Number.isFinite(v)) return;
      parts.push(`<circle cx="${px(x(spec.x[j]!))}" cy="${px(y(v))}" r="2.5" fill="${c}"><title>${escapeXml(`${s.name}: x=${fmtNum(spec.x[j]!)}, y=${fmtNum(v)}`)}</title></circle>`);
    });
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Horizontal bar chart: one row per bar, labels on the left, values printed at the bar ends. */
export function barsSvg(spec: BarsSpec): string {
  const colours = groupColours(spec.bars.map((p) => p.group));
  const width = spec.width ?? 760;
  const labelW = Math.min(220, 16 + Math.max(4, ...spec.bars.map((b) => b.label.length)) * 6.5);
  const rowH = 18;
  const f: Frame = { width, height: 34 + 14 + spec.bars.length * rowH, left: labelW, right: 56, top: 10, bottom: 38 };
  const b = inner(f);
  const vals = spec.bars.map((p) => p.value);
  const lo = Math.min(0, ...vals.filter(Number.isFinite));
  const hi = Math.max(0, ...vals.filter(Number.isFinite));
  const x = scale([lo, hi === lo ? lo + 1 : hi], [b.x0, b.x1]);
  const parts = [svgOpen(f, `bar chart of ${spec.bars.length} bars`)];
  for (const t of x.ticks) parts.push(`<line class="grid" x1="${px(x(t))}" y1="${b.y0}" x2="${px(x(t))}" y2="${b.y1}"/><text class="tick" x="${px(x(t))}" y="${b.y1 + 14}" text-anchor="middle">${escapeXml(fmtNum(t))}</text>`);
  spec.bars.forEach((bar, i) => {
    const yTop = b.y0 + 4 + i * rowH;
    const v = Number.isFinite(bar.value) ? bar.value : 0;
    const x0 = x(Math.min(0, v));
    const x1 = x(Math.max(0, v));
    const c = bar.group !== undefined ? colours.get(bar.group)! : categorical(0);
    parts.push(`<text class="tick" x="${px(b.x0 - 6)}" y="${px(yTop + rowH / 2 - 2)}" dy="0.32em" text-anchor="end">${escapeXml(bar.label)}</text>`);
    parts.push(`<rect x="${px(x0)}" y="${px(yTop)}" width="${px(Math.max(0.5, x1 - x0))}" height="${rowH - 5}" fill="${c}"><title>${escapeXml(`${bar.label}: ${fmtNum(bar.value)}`)}</title></rect>`);
    parts.push(`<text class="tick" x="${px(v < 0 ? x0 - 4 : x1 + 4)}" y="${px(yTop + rowH / 2 - 2)}" dy="0.32em" text-anchor="${v < 0 ? 'end' : 'start'}">${escapeXml(fmtNum(bar.value))}</text>`);
  });
  parts.push(`<line class="zero" x1="${px(x(0))}" y1="${b.y0}" x2="${px(x(0))}" y2="${b.y1}"/>`);
  parts.push(`<text class="axis-title" x="${px((b.x0 + b.x1) / 2)}" y="${f.height - 6}" text-anchor="middle">${escapeXml(spec.xLabel ?? 'value')}</text></svg>`);
  return parts.join('');
}
