// The emotion map: every emotion of the pack at (PC1 = valence, PC2 = arousal), coloured by
// cluster, watched emotions labelled; a marker for the current token with a fading trail of the
// last positions. SVG, redrawn only for the marker and trail.
import type { EmotionPoint } from '../lib/api.ts';
import { paletteFor } from '../lib/colour.ts';
import { mapBounds, type MapXY } from '../lib/mapPoint.ts';
import { linear } from '../lib/scale.ts';
import { clear, h, s } from './dom.ts';

const W = 640;
const H = 480;
const PAD = 28;
const TRAIL = 24;

export class EmotionMap {
  readonly el: HTMLElement;
  private readonly svg: SVGSVGElement;
  private readonly overlay: SVGGElement;
  private readonly legend: HTMLElement;
  private x: (v: number) => number = (v) => v;
  private y: (v: number) => number = (v) => v;
  private trail: MapXY[] = [];
  private label = '';

  constructor(compact = false) {
    this.svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: compact ? 'map compact' : 'map', role: 'img', 'aria-label': 'emotion map: PC1 (valence) against PC2 (arousal)' });
    this.overlay = s('g', { class: 'overlay' });
    this.legend = h('div', { class: 'legend clusters' });
    this.el = h('figure', { class: 'map-box' }, this.svg, this.legend);
  }

  /** Draws the emotions; `clusterLabels` names clusters by id (the server's member nearest each centroid). */
  setPoints(points: readonly EmotionPoint[], watched: readonly string[], clusterLabels: ReadonlyMap<string, string> = new Map()): void {
    const svg = this.svg;
    clear(svg);
    clear(this.legend);
    const placed = points.filter((p) => p.pc1 !== null && p.pc2 !== null);
    if (placed.length === 0) {
      svg.append(s('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' }, 'this pack has no map coordinates (run npx limbic analyze on it)'));
      return;
    }
    const b = mapBounds(placed);
    this.x = linear(b.x0, b.x1, PAD, W - PAD);
    this.y = linear(b.y0, b.y1, H - PAD, PAD);
    svg.append(s('line', { class: 'axis', x1: PAD, x2: W - PAD, y1: this.y(0), y2: this.y(0) }));
    svg.append(s('line', { class: 'axis', x1: this.x(0), x2: this.x(0), y1: PAD, y2: H - PAD }));
    svg.append(s('text', { class: 'axis-label', x: W - PAD, y: this.y(0) - 6, 'text-anchor': 'end' }, 'PC1 valence →'));
    svg.append(s('text', { class: 'axis-label', x: this.x(0) + 6, y: PAD + 4 }, '↑ PC2 arousal'));
    const palette = paletteFor(placed.map((p) => p.cluster ?? 'none'));
    const watchedSet = new Set(watched);
    for (const p of placed) {
      const colour = palette.get(String(p.cluster ?? 'none'))!;
      const on = watchedSet.has(p.name);
      svg.append(
        s(
          'circle',
          { class: on ? 'pt watched' : 'pt', cx: this.x(p.pc1!), cy: this.y(p.pc2!), r: on ? 5 : 3.5, fill: colour, 'data-emotion': p.name },
          s('title', {}, `${p.name} (${String(p.cluster ?? '—')}): PC1 ${p.pc1!.toFixed(3)}, PC2 ${p.pc2!.toFixed(3)}`),
        ),
      );
      svg.append(s('text', { class: on ? 'pt-label watched' : 'pt-label', x: this.x(p.pc1!) + 6, y: this.y(p.pc2!) + 3 }, p.name));
    }
    svg.append(this.overlay);
    for (const [k, colour] of palette) this.legend.append(h('span', { class: 'legend-item' }, h('span', { class: 'swatch', style: `background:${colour}` }), clusterLabels.has(k) ? `${k} ${clusterLabels.get(k)!}` : k));
    this.drawOverlay();
  }

  /** Moves the marker (null hides it); `label` names the token. */
  setCurrent(p: MapXY | null, label = ''): void {
    if (p) {
      this.trail.push(p);
      if (this.trail.length > TRAIL) this.trail.shift();
    }
    this.label = label;
    this.drawOverlay();
  }

  clearTrail(): void {
    this.trail = [];
    this.label = '';
    this.drawOverlay();
  }

  private drawOverlay(): void {
    const g = this.overlay;
    clear(g);
    const n = this.trail.length;
    if (n === 0) return;
    if (n > 1) g.append(s('polyline', { class: 'trail', points: this.trail.map((p) => `${this.x(p.x).toFixed(1)},${this.y(p.y).toFixed(1)}`).join(' ') }));
    const cur = this.trail[n - 1]!;
    const cx = this.x(cur.x);
    const cy = this.y(cur.y);
    g.append(s('circle', { class: cur.weight > 0 ? 'current' : 'current faint', cx, cy, r: 9, 'data-x': cur.x.toFixed(4), 'data-y': cur.y.toFixed(4) }));
    if (this.label) g.append(s('text', { class: 'current-label', x: cx + 12, y: cy - 10 }, this.label));
  }
}
