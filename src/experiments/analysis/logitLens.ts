// Logit lens on emotion vectors (SPEC.md section 3): each unit vector pushed through the model's
// unembedding (Model.unembed) gives a logit per vocabulary token; the top tokens should be the
// emotion's own words ("desperate" -> "desperate", "urgent") and the bottom ones its opposites.
// Both readings are computed: through the final norm first (the primary one, since the model always
// applies that norm, and its per-dimension gain changes which tokens win) and straight through the
// unembedding; their top-N overlap is reported.
import type { Model } from '../../engine/model.ts';
import { row } from '../../vectors/math.ts';
import type { VectorPack } from '../../vectors/pack.ts';

export interface LensToken {
  id: number;
  token: string;
  logit: number;
}

export interface LensEntry {
  emotion: string;
  /** Through the final norm (the primary reading). */
  top: LensToken[];
  bottom: LensToken[];
  /** Straight through the unembedding, without the final norm. */
  topWithoutNorm: LensToken[];
  bottomWithoutNorm: LensToken[];
  /** Tokens shared by `top` and `topWithoutNorm`. */
  overlap: number;
}

export interface LogitLensResult {
  layer: number;
  /** Which reading `top`/`bottom` hold. */
  primary: 'final-norm';
  note: string;
  topN: number;
  entries: LensEntry[];
}

export type LensModel = Pick<Model, 'unembed' | 'tokenizer'>;

/** Indices of the `n` largest (or smallest) values, best first. */
export function extremeIndices(v: ArrayLike<number>, n: number, largest = true): number[] {
  const idx: number[] = [];
  const better = (a: number, b: number) => (largest ? a > b : a < b);
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (Number.isNaN(x)) continue;
    if (idx.length === n && !better(x, v[idx[n - 1]!]!)) continue;
    let p = Math.min(idx.length, n - 1);
    if (idx.length < n) idx.push(i);
    while (p > 0 && better(x, v[idx[p - 1]!]!)) {
      idx[p] = idx[p - 1]!;
      p--;
    }
    idx[p] = i;
  }
  return idx;
}

/** Top and bottom `topN` tokens of each chosen emotion's unit vector at `layer`. */
export function logitLens(model: LensModel, pack: VectorPack, layer: number, opts: { emotions?: readonly string[]; topN?: number; onProgress?: (done: number, total: number) => void } = {}): LogitLensResult {
  const emotions = opts.emotions ?? pack.emotions;
  const topN = opts.topN ?? 10;
  const unit = pack.unitMatrix(layer); // [E, d]
  const name = (id: number) => model.tokenizer?.tokenText(id) ?? String(id);
  const tokens = (logits: Float32Array, ids: number[]): LensToken[] => ids.map((id) => ({ id, token: name(id), logit: Math.round(logits[id]! * 1e4) / 1e4 }));
  const entries: LensEntry[] = [];
  emotions.forEach((e, n) => {
    const v = row(unit, pack.emotionIndex(e)); // [d]
    const [withNorm, without] = [model.unembed([v], { finalNorm: true })[0]!, model.unembed([v], { finalNorm: false })[0]!]; // [V] each
    const top = extremeIndices(withNorm, topN, true);
    const topRaw = extremeIndices(without, topN, true);
    entries.push({
      emotion: e,
      top: tokens(withNorm, top),
      bottom: tokens(withNorm, extremeIndices(withNorm, topN, false)),
      topWithoutNorm: tokens(without, topRaw),
      bottomWithoutNorm: tokens(without, extremeIndices(without, topN, false)),
      overlap: top.filter((i) => topRaw.includes(i)).length,
    });
    opts.onProgress?.(n + 1, emotions.length);
  });
  return {
    layer,
    primary: 'final-norm',
    note: 'top/bottom: unit vector through the final norm, then the unembedding (as the model reads its residual stream); *WithoutNorm: straight through the unembedding',
    topN,
    entries,
  };
}
