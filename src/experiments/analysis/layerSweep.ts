// Layer sweep (SPEC.md section 2.6: "layers are worth sweeping"): for every layer in the pack, each
// held-out story is run once (all pack layers captured in the same pass), its residual stream is
// averaged over tokens from the recipe's startToken on (all tokens when the story is shorter), and
// the story is classified by the nearest emotion vector (cosine to the unit vectors). Story means
// are first centred on their mean over all evaluated stories (label-free, mirroring recipe step 4's
// subtraction of the grand mean); uncentred accuracies are reported too. Per layer also: PC1~valence
// r (with norms), silhouette of the k-means clusters and agreement with SPEC.md's named groups.
// The recommended layer has the best top-1 accuracy; ties go to the higher valence r, then top-5,
// then the layer nearest two-thirds of the depth.
import type { Model } from '../../engine/model.ts';
import { dot, norm, row, type Matrix } from '../../vectors/math.ts';
import type { VectorPack } from '../../vectors/pack.ts';
import type { NormsMatch } from '../norms.ts';
import { clusterSummary, pcaSummary } from './geometry.ts';

export interface SweepStory {
  emotion: string;
  text: string;
}

export interface LayerScore {
  layer: number;
  top1: number;
  top5: number;
  top1Uncentred: number;
  top5Uncentred: number;
  /** Pearson r of (oriented) PC1 with valence; null without norms. */
  valenceR: number | null;
  silhouette: number;
  /** Mean share of each named group kept in one cluster; null when the pack lacks the groups. */
  groupShare: number | null;
}

export interface LayerSweepResult {
  stories: number;
  /** Stories whose emotion is not in the pack (not evaluated). */
  skippedNotInPack: number;
  emotionsCovered: number;
  startToken: number;
  /** Stories shorter than startToken + 1 tokens, averaged over all their tokens instead. */
  shortStories: number;
  /** Stories cut to the model's context length. */
  truncated: number;
  /** How stories were rendered: plain text, or as a user message through the chat template (recipe.chatFormat). */
  rendering: 'plain' | 'chat';
  chance: { top1: number; top5: number };
  perLayer: LayerScore[];
  recommended: { layer: number; reason: string };
  note: string;
}

export type SweepModel = Pick<Model, 'forward' | 'encode' | 'encodeChat' | 'tokenizer' | 'config'>;

export interface LayerSweepOptions {
  norms?: NormsMatch | null;
  k?: number;
  seed?: number;
  /** Stories per forward pass (default 8). */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

const round = (v: number) => Math.round(v * 1e4) / 1e4;

/** Rank (0 = best) of emotion `target` when rows of `unit` are scored by cosine with `x`. */
function rankOf(x: Float32Array, unit: Matrix, target: number): number {
  const t = dot(x, row(unit, target));
  let rank = 0;
  for (let e = 0; e < unit.rows; e++) if (e !== target && dot(x, row(unit, e)) > t) rank++;
  return rank;
}

/** Picks the recommended layer and explains the choice. */
export function recommendLayer(scores: readonly LayerScore[], nLayers: number, chanceTop1: number): { layer: number; reason: string } {
  const target = (2 / 3) * nLayers;
  const vr = (s: LayerScore) => s.valenceR ?? -Infinity;
  const sorted = [...scores].sort((a, b) => b.top1 - a.top1 || vr(b) - vr(a) || b.top5 - a.top5 || Math.abs(a.layer - target) - Math.abs(b.layer - target));
  const best = sorted[0]!;
  const tied = scores.filter((s) => s.layer !== best.layer && s.top1 === best.top1);
  let reason = `layer ${best.layer} classifies held-out stories best: top-1 ${best.top1.toFixed(3)} (chance ${chanceTop1.toFixed(3)}), top-5 ${best.top5.toFixed(3)}`;
  if (tied.length) {
    const by = best.valenceR !== null && tied.some((t) => t.valenceR !== best.valenceR) ? `the higher PC1~valence r (${best.valenceR.toFixed(2)})` : tied.some((t) => t.top5 !== best.top5) ? 'the higher top-5 accuracy' : 'being nearest two-thirds of the depth';
    reason += `; tied on top-1 with layer${tied.length > 1 ? 's' : ''} ${tied.map((t) => t.layer).join(', ')}, chosen for ${by}`;
  } else if (best.valenceR !== null) {
    reason += `; PC1~valence r there is ${best.valenceR.toFixed(2)}`;
  }
  return { layer: best.layer, reason };
}

/** Runs the sweep over every layer of the pack. */
export async function layerSweep(model: SweepModel, pack: VectorPack, stories: readonly SweepStory[], opts: LayerSweepOptions = {}): Promise<LayerSweepResult> {
  const layers = pack.layers;
  const d = model.config.dModel;
  const startToken = pack.meta.recipe.startToken ?? 0;
  const emotionIdx = new Map(pack.emotions.map((e, i) => [e, i]));
  const usable = stories.filter((s) => emotionIdx.has(s.emotion));
  const N = usable.length;
  const rendering: 'plain' | 'chat' = pack.meta.recipe.chatFormat && model.tokenizer?.hasChatTemplate ? 'chat' : 'plain';
  let truncated = 0;
  const encoded = usable.map((s) => {
    let ids = rendering === 'chat' ? model.encodeChat([{ role: 'user', content: s.text }]) : model.encode(s.text);
    if (ids.length > model.config.nCtx) {
      ids = ids.slice(0, model.config.nCtx);
      truncated++;
    }
    return ids;
  });
  // Per layer, [N, d] story means.
  const means = new Map(layers.map((l) => [l, new Float32Array(N * d)]));
  let shortStories = 0;
  const order = encoded.map((_, i) => i).sort((a, b) => encoded[a]!.length - encoded[b]!.length);
  const batch = Math.max(1, opts.batchSize ?? 8);
  const hooks = layers.map((l) => `blocks.${l}.hook_resid_post`);
  for (let s = 0; s < N; s += batch) {
    const idx = order.slice(s, s + batch);
    const r = await model.forward(idx.map((i) => encoded[i]!), { capture: hooks, logits: 'none' });
    idx.forEach((storyIdx, b) => {
      const len = r.lengths[b]!;
      const from = len > startToken ? startToken : 0;
      if (from === 0 && startToken > 0) shortStories++;
      layers.forEach((l, li) => {
        const a = r.captures.get(hooks[li]!)!; // [B, T, d]
        const T = a.dims[1]!;
        const out = means.get(l)!.subarray(storyIdx * d, (storyIdx + 1) * d);
        for (let t = from; t < len; t++) {
          const base = (b * T + t) * d;
          for (let j = 0; j < d; j++) out[j]! += a.data[base + j]! / (len - from);
        }
      });
    });
    opts.onProgress?.(Math.min(N, s + batch), N);
  }
  const E = pack.emotions.length;
  const perLayer: LayerScore[] = layers.map((l) => {
    const M = means.get(l)!; // [N, d]
    const centre = new Float32Array(d);
    for (let i = 0; i < N; i++) for (let j = 0; j < d; j++) centre[j]! += M[i * d + j]! / N;
    const unit = pack.unitMatrix(l); // [E, d]
    let c1 = 0;
    let c5 = 0;
    let u1 = 0;
    let u5 = 0;
    const x = new Float32Array(d);
    usable.forEach((st, i) => {
      const target = emotionIdx.get(st.emotion)!;
      const raw = M.subarray(i * d, (i + 1) * d);
      for (let j = 0; j < d; j++) x[j] = raw[j]! - centre[j]!;
      const rc = norm(x) > 0 ? rankOf(x, unit, target) : E - 1;
      const ru = rankOf(raw, unit, target);
      if (rc === 0) c1++;
      if (rc < 5) c5++;
      if (ru === 0) u1++;
      if (ru < 5) u5++;
    });
    const raw = pack.raw.get(l)!;
    // PCA (the costly part) only when there are norms to correlate PC1 with.
    const p = opts.norms ? pcaSummary(pack.emotions, raw, opts.norms) : null;
    const pc1 = p ? p.coords.map((c) => c.pc1) : new Float64Array(E);
    const cl = clusterSummary(pack.emotions, raw, pc1, opts.norms ?? null, { k: opts.k ?? 10, seed: opts.seed ?? 1 });
    const n = Math.max(1, N);
    const vr = p?.pc1Valence?.pearson;
    return {
      layer: l,
      top1: round(c1 / n),
      top5: round(c5 / n),
      top1Uncentred: round(u1 / n),
      top5Uncentred: round(u5 / n),
      valenceR: vr === undefined || Number.isNaN(vr) ? null : round(vr),
      silhouette: cl.silhouette,
      groupShare: cl.groups.meanShare,
    };
  });
  const chance = { top1: round(1 / E), top5: round(Math.min(1, 5 / E)) };
  return {
    stories: N,
    skippedNotInPack: stories.length - N,
    emotionsCovered: new Set(usable.map((s) => s.emotion)).size,
    startToken,
    shortStories,
    truncated,
    rendering,
    chance,
    perLayer,
    recommended: recommendLayer(perLayer, model.config.nLayers, chance.top1),
    note: `story mean over tokens ${startToken}.. (all tokens when shorter: ${shortStories} of ${N}), centred on the mean over the evaluated stories, then nearest unit vector by cosine among ${E} emotions`,
  };
}
