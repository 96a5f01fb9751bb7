// Matrix views for reports: an SVG heatmap with row/column labels and a colour bar (similarity
// matrices, read-outs over layers), and an HTML token strip that colours each token of a text by a
// value (the probe's per-token read-out), one strip per row of values.
import { colourFor, escapeXml, fmtNum, px, svgOpen, textOn, type Palette } from './svg.ts';

export interface HeatmapSpec {
  rowLabels: string[];
  colLabels: string[];
  /** [rows][cols]; null or non-finite cells are grey. */
  values: (number | null)[][];
  palette?: Palette;
  /** Colour range (default: the data's range; symmetric around 0 for 'diverging'). */
  min?: number;
  max?: number;
  /** Cell size in pixels (default: fitted to ~720 px, between 4 and 28). */
  cell?: number;
  /** Print values in cells (default: when cells are at least 24 px). */
  showValues?: boolean;
  valueLabel?: string;
}

export interface TokenStripSpec {
  tokens: string[];
  rows: { label: string; values: number[] }[];
  palette?: Palette;
  min?: number;
  max?: number;
}

function range(values: (number | null)[][], palette: Palette, min?: number, max?: number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of values) for (const v of r) if (v !== null && Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (lo === Infinity) [lo, hi] = [0, 1];
  if (palette === 'diverging' && min === undefined && max === undefined) {
    const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    return [-m, m];
  }
  return [min ?? lo, max ?? (hi > lo ? hi : lo + 1)];
}

/** A horizontal colour bar with end and middle labels. */
function colourBar(x: number, y: number, w: number, lo: number, hi: number, palette: Palette, label: string): string {
  const steps = 40;
  const parts: string[] = [];
  for (let i = 0; i < steps; i++) {
    const v = lo + ((i + 0.5) / steps) * (hi - lo);
    parts.push(`<rect x="${px(x + (i * w) / steps)}" y="${y}" width="${px(w / steps + 0.3)}" height="10" fill="${colourFor(v, lo, hi, palette)}"/>`);
  }
  parts.push(`<text class="tick" x="${x}" y="${y + 22}" text-anchor="start">${escapeXml(fmtNum(lo))}</text>`);
  parts.push(`<text class="tick" x="${px(x + w / 2)}" y="${y + 22}" text-anchor="middle">${escapeXml(label)} ${escapeXml(fmtNum((lo + hi) / 2))}</text>`);
  parts.push(`<text class="tick" x="${x + w}" y="${y + 22}" text-anchor="end">${escapeXml(fmtNum(hi))}</text>`);
  return parts.join('');
}

/** Heatmap of a [rows, cols] matrix with labels on the left and on top (rotated) and a colour bar. */
export function heatmapSvg(spec: HeatmapSpec): string {
  const R = spec.rowLabels.length;
  const C = spec.colLabels.length;
  if (spec.values.length !== R || spec.values.some((r) => r.length !== C)) {
    throw new Error(`heatmap: values are [${spec.values.length}, ${spec.values[0]?.length ?? 0}], labels say [${R}, ${C}]`);
  }
  const palette = spec.palette ?? 'diverging';
  const [lo, hi] = range(spec.values, palette, spec.min, spec.max);
  const cell = spec.cell ?? Math.max(4, Math.min(28, Math.floor(720 / Math.max(R, C, 1))));
  const font = Math.max(4, Math.min(11, cell - 1));
  const maxLabel = (labels: string[]) => Math.min(24, Math.max(1, ...labels.map((l) => l.length)));
  const left = 8 + maxLabel(spec.rowLabels) * font * 0.6;
  const top = 8 + maxLabel(spec.colLabels) * font * 0.6;
  const width = Math.ceil(left + C * cell + 12);
  const height = Math.ceil(top + R * cell + 44);
  const showValues = spec.showValues ?? cell >= 24;
  const perCellTitles = R * C <= 2500;
  const parts = [svgOpen({ width: Math.max(width, 260), height, left: 0, right: 0, top: 0, bottom: 0 }, `heatmap of ${R} by ${C} values`)];
  spec.colLabels.forEach((l, j) => {
    parts.push(`<text class="hm-label" style="font-size:${font}px" transform="translate(${px(left + j * cell + cell / 2 + font / 3)} ${px(top - 4)}) rotate(-90)">${escapeXml(l.slice(0, 24))}</text>`);
  });
  parts.push('<g class="cells">');
  spec.values.forEach((r, i) => {
    const y = top + i * cell;
    const rowTitle = perCellTitles ? '' : `<title>${escapeXml(spec.rowLabels[i]!)}</title>`;
    parts.push(`<g>${rowTitle}<text class="hm-label" style="font-size:${font}px" x="${px(left - 4)}" y="${px(y + cell / 2)}" dy="0.32em" text-anchor="end">${escapeXml(spec.rowLabels[i]!.slice(0, 24))}</text>`);
    r.forEach((v, j) => {
      const fill = v === null ? '#dddddd' : colourFor(v, lo, hi, palette);
      const x = left + j * cell;
      const title = perCellTitles ? `<title>${escapeXml(`${spec.rowLabels[i]} / ${spec.colLabels[j]}: ${v === null ? 'n/a' : fmtNum(v)}`)}</title>` : '';
      parts.push(title ? `<rect x="${px(x)}" y="${px(y)}" width="${cell}" height="${cell}" fill="${fill}">${title}</rect>` : `<rect x="${px(x)}" y="${px(y)}" width="${cell}" height="${cell}" fill="${fill}"/>`);
      if (showValues && v !== null) parts.push(`<text class="hm-value" x="${px(x + cell / 2)}" y="${px(y + cell / 2)}" dy="0.32em" text-anchor="middle" fill="${textOn(fill)}">${escapeXml(fmtNum(v, 2))}</text>`);
    });
    parts.push('</g>');
  });
  parts.push('</g>');
  parts.push(colourBar(left, Math.ceil(top + R * cell + 8), Math.max(120, Math.min(C * cell, 300)), lo, hi, palette, spec.valueLabel ?? ''));
  parts.push('</svg>');
  return parts.join('');
}

/** Tokens as coloured spans, one strip per row of values (hover shows the value). HTML, not SVG. */
export function tokenStripHtml(spec: TokenStripSpec): string {
  const palette = spec.palette ?? 'diverging';
  const [lo, hi] = range(spec.rows.map((r) => r.values), palette, spec.min, spec.max);
  const out: string[] = ['<div class="token-strips">'];
  for (const r of spec.rows) {
    if (r.values.length !== spec.tokens.length) throw new Error(`token strip "${r.label}": ${r.values.length} values for ${spec.tokens.length} tokens`);
    out.push(`<div class="token-row"><span class="token-row-label">${escapeXml(r.label)}</span><span class="tokens">`);
    spec.tokens.forEach((t, i) => {
      const v = r.values[i]!;
      const bg = colourFor(v, lo, hi, palette);
      out.push(`<span class="tok" style="background:${bg};color:${textOn(bg)}" title="${escapeXml(`${t}: ${fmtNum(v)}`)}">${escapeXml(t)}</span>`);
    });
    out.push('</span></div>');
  }
  out.push(`<div class="token-scale">${escapeXml(fmtNum(lo))} <span class="swatch" style="background:${colourFor(lo, lo, hi, palette)}"></span><span class="swatch" style="background:${colourFor((lo + hi) / 2, lo, hi, palette)}"></span><span class="swatch" style="background:${colourFor(hi, lo, hi, palette)}"></span> ${escapeXml(fmtNum(hi))}</div></div>`);
  return out.join('');
}
