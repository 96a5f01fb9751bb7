// Read-outs ("probes"): how strongly each emotion vector is present in a residual-stream row.
// cosine(resid, v_e) per token and emotion, its z-score against the pack's neutral baseline
// (mean and std of that cosine over neutral-text tokens), and the raw projection onto the unit vector.
import { dot, norm, row, type Matrix } from './math.ts';
import type { VectorPack } from './pack.ts';

export interface Readout {
  emotions: string[];
  layer: number;
  /** [T, E] cosine similarities. */
  cosine: Matrix;
  /** [T, E] z-scores against the neutral baseline (cosine when the pack has none). */
  z: Matrix;
  /** [T, E] projections onto the unit vectors. */
  projection: Matrix;
}

/** Read-outs of `acts` ([T, d] rows of one layer) for the chosen emotions (default: all). */
export function readout(pack: VectorPack, acts: Float32Array, layer: number, emotions: readonly string[] = pack.emotions): Readout {
  const unit = pack.unitMatrix(layer);
  const d = unit.cols;
  if (acts.length % d !== 0) throw new Error(`readout: ${acts.length} values are not rows of width ${d}`);
  const T = acts.length / d;
  const idx = emotions.map((e) => pack.emotionIndex(e));
  const E = idx.length;
  const base = pack.meta.neutralBaselines[String(layer)];
  const mk = () => ({ data: new Float32Array(T * E), rows: T, cols: E });
  const cos = mk();
  const z = mk();
  const proj = mk();
  for (let t = 0; t < T; t++) {
    const x = acts.subarray(t * d, (t + 1) * d);
    const nx = norm(x) || 1;
    idx.forEach((ei, j) => {
      const p = dot(x, row(unit, ei));
      const c = p / nx;
      proj.data[t * E + j] = p;
      cos.data[t * E + j] = c;
      const mu = base?.mean[ei] ?? 0;
      const sd = base?.std[ei] ?? 1;
      z.data[t * E + j] = (c - mu) / (sd > 1e-8 ? sd : 1);
    });
  }
  return { emotions: [...emotions], layer, cosine: cos, z, projection: proj };
}

/** Mean of a [T, E] read-out matrix over a range of rows. */
export function meanOverRows(m: Matrix, from = 0, to = m.rows): Float32Array {
  const out = new Float32Array(m.cols);
  const n = Math.max(1, to - from);
  for (let t = from; t < to; t++) for (let j = 0; j < m.cols; j++) out[j]! += m.data[t * m.cols + j]! / n;
  return out;
}
