// Live line chart of the watched emotions' z-scores over a reply's tokens: one SVG path per emotion
// (gaps where a read-out is missing), a zero line, dashed red rules at alerts, a shaded band where
// regulation is active. Redrawn whole on update (a reply is at most
// a few thousand points), throttled by the caller.
import type { AlertInfo, RegulationInfo } from '../lib/api.ts';
import { categorical } from '../lib/colour.ts';
import type { TokenView } from '../lib/run.ts';
import { linear, symmetricRange, ticks } from '../lib/scale.ts';
import { clear, h, s } from './dom.ts';

const H = 200;
const PAD = { l: 34, r: 10, t: 10, b: 22 };

export interface ChartData {
  tokens: readonly TokenView[];
  emotions: readonly string[];
  alerts?: readonly AlertInfo[];
  regulation?: readonly RegulationInfo[];
  /** Emotion drawn thicker (the one colouring the tokens). */
  highlight?: string;
  /** Tokens the x axis spans (default: those given), so a replay's axes stay put while it grows. */
  span?: number;
  /** Half-range of the z axis (default: from the data). */
  zRange?: number;
}

/** Index of the first token at or after a position (alerts and regulation are keyed by position). */
function indexOfPosition(tokens: readonly TokenView[], position: number): number {
  const i = tokens.findIndex((t) => t.position >= position);
  return i < 0 ? tokens.length - 1 : i;
}

export class LineChart {
  readonly el: HTMLElement;
  private readonly svg: SVGSVGElement;
  private readonly legend: HTMLElement;
  onPick: ((emotion: string) => void) | null = null;

  constructor(label = 'emotion read-outs (z) over the reply') {
    this.svg = s('svg', { viewBox: `0 0 640 ${H}`, class: 'chart', role: 'img', 'aria-label': label });
    this.legend = h('div', { class: 'legend' });
    this.el = h('figure', { class: 'chart-box' }, this.svg, this.legend);
  }

  colourOf(emotions: readonly string[], e: string): string {
    return categorical(emotions.indexOf(e));
  }

  update(d: ChartData): void {
    const { tokens, emotions } = d;
    const svg = this.svg;
    clear(svg);
    // One SVG unit per CSS pixel when laid out (crisp text at any width); 640 while hidden.
    const W = Math.max(240, Math.round(svg.clientWidth || 640));
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    const n = Math.max(tokens.length, d.span ?? 0, 2);
    const zr = d.zRange ?? symmetricRange(tokens.flatMap((t) => emotions.map((e) => t.readouts[e] ?? 0)));
    const x = linear(0, Math.max(n - 1, 1), PAD.l, W - PAD.r);
    const y = linear(-zr, zr, H - PAD.b, PAD.t);
    // regulation bands: from from_position to to_position (exclusive) or the end
    for (const r of d.regulation ?? []) {
      if (tokens.length === 0) break;
      const i = indexOfPosition(tokens, r.from_position);
      const j = r.to_position === null || r.to_position === undefined ? tokens.length - 1 : Math.max(i, indexOfPosition(tokens, r.to_position));
      svg.append(s('rect', { class: 'regulation', x: x(i), y: PAD.t, width: Math.max(2, x(j) - x(i)), height: H - PAD.t - PAD.b }, s('title', {}, `regulating ${r.emotion} (${r.strength}) from position ${r.from_position}${r.to_position != null ? ` to ${r.to_position}` : ''}`)));
    }
    // grid and axes
    for (const v of ticks(-zr, zr, 4)) {
      svg.append(s('line', { class: v === 0 ? 'zero' : 'grid', x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v) }));
      svg.append(s('text', { class: 'tick', x: PAD.l - 4, y: y(v) + 3, 'text-anchor': 'end' }, String(v)));
    }
    for (const v of ticks(0, n - 1, Math.max(2, Math.floor(W / 90)))) {
      if (v !== Math.round(v)) continue;
      svg.append(s('text', { class: 'tick', x: x(v), y: H - 6, 'text-anchor': 'middle' }, String(v)));
    }
    // alert rules
    for (const a of d.alerts ?? []) {
      if (tokens.length === 0) break;
      const i = indexOfPosition(tokens, a.position);
      svg.append(s('line', { class: 'alert-rule', x1: x(i), x2: x(i), y1: PAD.t, y2: H - PAD.b }, s('title', {}, a.message)));
    }
    // lines
    for (const e of emotions) {
      let dstr = '';
      let pen = false;
      tokens.forEach((t, i) => {
        const v = t.readouts[e];
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          pen = false;
          return;
        }
        dstr += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
        pen = true;
      });
      if (tokens.length === 1 && dstr) dstr += `h2`;
      svg.append(s('path', { class: e === d.highlight ? 'series hl' : 'series', d: dstr || 'M0,0', stroke: this.colourOf(emotions, e), 'data-emotion': e }));
    }
    svg.setAttribute('data-points', String(tokens.length));
    this.renderLegend(d);
  }

  private renderLegend(d: ChartData): void {
    clear(this.legend);
    const last = d.tokens[d.tokens.length - 1];
    for (const e of d.emotions) {
      const v = last?.readouts[e];
      const item = h(
        'button',
        { class: e === d.highlight ? 'legend-item on' : 'legend-item', type: 'button', title: `colour the tokens by ${e}`, onclick: () => this.onPick?.(e) },
        h('span', { class: 'swatch', style: `background:${this.colourOf(d.emotions, e)}` }),
        e,
        h('span', { class: 'legend-value' }, typeof v === 'number' ? (v >= 0 ? '+' : '') + v.toFixed(2) : ''),
      );
      this.legend.append(item);
    }
  }
}
