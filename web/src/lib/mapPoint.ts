// Where a token sits on the emotion map (PC1 = valence, PC2 = arousal): the server's coordinates
// when it sends them, otherwise the average of the watched emotions' map coordinates weighted by
// their positive z-scores (emotions read below baseline pull nowhere). Pure; tested in Node.
import type { EmotionPoint, Readouts } from './api.ts';

export interface MapXY {
  x: number;
  y: number;
  /** Sum of the weights: 0 means no emotion was above baseline (the point sits at the centroid). */
  weight: number;
}

export function projectReadouts(readouts: Readouts, points: readonly EmotionPoint[], given?: { pc1?: number; pc2?: number }): MapXY | null {
  if (given && typeof given.pc1 === 'number' && typeof given.pc2 === 'number') return { x: given.pc1, y: given.pc2, weight: 1 };
  let sx = 0;
  let sy = 0;
  let sw = 0;
  let cx = 0;
  let cy = 0;
  let n = 0;
  for (const p of points) {
    const z = readouts[p.name];
    if (typeof z !== 'number' || !Number.isFinite(z) || p.pc1 === null || p.pc2 === null) continue;
    cx += p.pc1;
    cy += p.pc2;
    n++;
    if (z <= 0) continue;
    sx += z * p.pc1;
    sy += z * p.pc2;
    sw += z;
  }
  if (n === 0) return null;
  if (sw === 0) return { x: cx / n, y: cy / n, weight: 0 };
  return { x: sx / sw, y: sy / sw, weight: sw };
}

/** Bounds of the plotted points with a margin, never degenerate. */
export function mapBounds(points: readonly EmotionPoint[], margin = 0.08): { x0: number; x1: number; y0: number; y1: number } {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const p of points) {
    if (p.pc1 === null || p.pc2 === null) continue;
    x0 = Math.min(x0, p.pc1);
    x1 = Math.max(x1, p.pc1);
    y0 = Math.min(y0, p.pc2);
    y1 = Math.max(y1, p.pc2);
  }
  if (!Number.isFinite(x0)) return { x0: -1, x1: 1, y0: -1, y1: 1 };
  const dx = Math.max(x1 - x0, 1e-6);
  const dy = Math.max(y1 - y0, 1e-6);
  return { x0: x0 - dx * margin, x1: x1 + dx * margin, y0: y0 - dy * margin, y1: y1 + dy * margin };
}
