// Analysis and validation of a vector pack (`limbic analyze`; SPEC.md section 3): geometry at one
// layer (PCA against valence/arousal norms, ordered similarity matrix, k-means clusters, nearest
// neighbours) from the pack alone; with a model also the logit lens, a sweep over the pack's layers
// on held-out stories (which recommends a layer) and, on request, intensity sweeps; norms come from
// a file (experiments/norms.ts) and/or the model-as-rater route (analysis/rater.ts).
// Progress is reported through `onEvent`; the result is one typed, JSON-ready object.
// Which layer: the one asked for, else the sweep's recommendation, else the pack's default layer.
import { LimbicError } from '../engine/errors.ts';
import type { Model } from '../engine/model.ts';
import { cosineMatrix } from '../vectors/math.ts';
import type { VectorPack } from '../vectors/pack.ts';
import { clusterSummary, nearestNeighbours, pcaSummary, similarity, type ClusterSummary, type Neighbours, type PcaSummary, type Similarity } from './analysis/geometry.ts';
import { intensitySweeps, type IntensityResult, type IntensityTemplate } from './analysis/intensity.ts';
import { layerSweep, type LayerSweepResult, type SweepStory } from './analysis/layerSweep.ts';
import { logitLens, type LogitLensResult } from './analysis/logitLens.ts';
import { rateWithModel, type RatingReply } from './analysis/rater.ts';
import { loadDefaultCorpus } from './corpus.ts';
import { fillMissing, matchNorms, type MatchMethod, type Norms, type NormsMatch } from './norms.ts';

export class AnalysisError extends LimbicError {}

export type AnalyzeStage = 'rater' | 'sweep' | 'geometry' | 'lens' | 'intensity';

export type AnalyzeEvent =
  | { type: 'stage'; stage: AnalyzeStage; total: number; label: string }
  | { type: 'progress'; stage: AnalyzeStage; done: number; total: number }
  | { type: 'stage-done'; stage: AnalyzeStage }
  | { type: 'note'; message: string };

export interface AnalyzeOptions {
  /** Layer for geometry, logit lens and intensity (default: the sweep's recommendation, else pack.defaultLayer). */
  layer?: number;
  /** Human norms (loadNorms / parseNorms). */
  norms?: Norms | null;
  /** Restrict how emotion words may be matched to the norms (default: all methods). */
  matchMethods?: readonly MatchMethod[];
  /** Ask the model to rate the words the norms miss (all words when there are no norms). Needs `model`. */
  rater?: boolean;
  model?: Model | null;
  /** k-means clusters (default 10) and seed (default 1). */
  k?: number;
  seed?: number;
  /** PCA over raw vectors (default) or unit vectors. */
  pcaOn?: 'raw' | 'unit';
  /** Model stages (default: lens and sweep on when a model is given, intensity off). */
  lens?: boolean;
  sweep?: boolean;
  intensity?: boolean;
  /** Held-out stories for the sweep (default: the bundled corpus's held-out split). */
  stories?: readonly SweepStory[];
  /** Evaluate at most this many stories, taken round-robin over emotions. */
  maxStories?: number;
  /** Emotions for the intensity curves and the logit lens (default: intensity's five, lens on all). */
  emotions?: readonly string[];
  templates?: readonly IntensityTemplate[];
  /** Stories per forward pass in the sweep. */
  batchSize?: number;
  onEvent?: (e: AnalyzeEvent) => void;
}

export interface AnalysisResult {
  format: 'limbic-analysis';
  version: 1;
  createdAt: string;
  pack: { model: string; arch: string; dModel: number; nLayers: number; emotions: number; layers: number[]; defaultLayer: number; startToken: number };
  layer: number;
  layerSource: 'option' | 'sweep' | 'pack-default';
  norms: NormsMatch | null;
  rater: { promptFormat: 'chat' | 'plain'; rated: number; failures: RatingReply[]; replies: RatingReply[] } | null;
  pca: PcaSummary;
  clusters: ClusterSummary;
  similarity: Similarity;
  neighbours: Neighbours[];
  logitLens: LogitLensResult | null;
  layerSweep: LayerSweepResult | null;
  intensity: IntensityResult | null;
  notes: string[];
}

/** Up to `max` stories, round-robin over emotions (so a small budget still covers many emotions). */
export function pickStories<S extends SweepStory>(stories: readonly S[], max = Infinity): S[] {
  if (stories.length <= max) return [...stories];
  const byEmotion = new Map<string, S[]>();
  for (const s of stories) byEmotion.set(s.emotion, [...(byEmotion.get(s.emotion) ?? []), s]);
  const queues = [...byEmotion.values()];
  const out: S[] = [];
  for (let round = 0; out.length < max; round++) {
    let any = false;
    for (const q of queues) {
      if (round < q.length && out.length < max) {
        out.push(q[round]!);
        any = true;
      }
    }
    if (!any) break;
  }
  return out;
}

/**
 * Analyses a pack; model stages run only when `opts.model` is given.
 * @example
 * const result = await analyzePack(VectorPack.load('packs/qwen'), { norms: loadNorms('warriner.csv'), model });
 * console.log(result.pca.pc1Valence?.pearson, result.layerSweep?.recommended);
 */
export async function analyzePack(pack: VectorPack, opts: AnalyzeOptions = {}): Promise<AnalysisResult> {
  const emit = opts.onEvent ?? (() => undefined);
  const notes: string[] = [];
  const model = opts.model ?? null;
  if (opts.layer !== undefined) pack.checkLayer(opts.layer);
  for (const e of opts.emotions ?? []) pack.emotionIndex(e);
  if (!model && (opts.rater || opts.intensity)) throw new AnalysisError(`${opts.rater ? 'the model-as-rater route' : 'intensity sweeps'} need${opts.rater ? 's' : ''} a model`, 'pass --model <m>');
  if (model) pack.checkModel({ arch: model.config.arch, dModel: model.config.dModel, nLayers: model.config.nLayers });

  // Norms: file, then the model-as-rater for what the file misses.
  let norms: NormsMatch | null = opts.norms ? matchNorms(pack.emotions, opts.norms, opts.matchMethods ? { methods: opts.matchMethods } : {}) : null;
  let rater: AnalysisResult['rater'] = null;
  if (opts.rater && model) {
    const words = norms ? norms.missing : pack.emotions;
    emit({ type: 'stage', stage: 'rater', total: words.length * 2, label: 'rating words' });
    const r = await rateWithModel(model, words, { onProgress: (done, total) => emit({ type: 'progress', stage: 'rater', done, total }) });
    emit({ type: 'stage-done', stage: 'rater' });
    rater = { promptFormat: r.promptFormat, rated: r.norms.words.size, failures: r.failures, replies: r.replies };
    if (r.failures.length) notes.push(`model-as-rater: ${r.failures.length} of ${r.replies.length} replies had no rating in 1-7 (see rater.failures)`);
    const base: NormsMatch = norms ?? { source: '', format: 'model-rater', originalScale: r.norms.originalScale, scaleInferred: false, matched: [], missing: [...pack.emotions], byMethod: { exact: 0, spelling: 0, lemma: 0, head: 0, rater: 0 } };
    norms = fillMissing(base, r.norms);
  }
  if (norms && norms.matched.length < 3) notes.push(`only ${norms.matched.length} emotion words have ratings: correlations need at least 3`);

  // Layer sweep (chooses the layer unless one was given).
  let sweep: LayerSweepResult | null = null;
  if (model && (opts.sweep ?? true)) {
    let stories = opts.stories;
    if (!stories) {
      stories = loadDefaultCorpus({ split: 'heldout' }).stories;
      notes.push('layer sweep on the bundled held-out stories (data/corpus, split "heldout")');
    }
    const inPack = stories.filter((s) => pack.emotions.includes(s.emotion));
    const chosen = pickStories(inPack, opts.maxStories);
    if (chosen.length < inPack.length) notes.push(`layer sweep on ${chosen.length} of ${inPack.length} held-out stories (round-robin over emotions)`);
    if (chosen.length === 0) {
      notes.push('layer sweep skipped: no held-out story has an emotion of this pack');
    } else {
      emit({ type: 'stage', stage: 'sweep', total: chosen.length, label: `layer sweep (${pack.layers.length} layers)` });
      sweep = await layerSweep(model, pack, chosen, { norms, k: opts.k ?? 10, seed: opts.seed ?? 1, batchSize: opts.batchSize ?? 8, onProgress: (done, total) => emit({ type: 'progress', stage: 'sweep', done, total }) });
      sweep.skippedNotInPack = stories.length - inPack.length;
      emit({ type: 'stage-done', stage: 'sweep' });
    }
  }
  const layer = opts.layer ?? sweep?.recommended.layer ?? pack.defaultLayer;
  const layerSource: AnalysisResult['layerSource'] = opts.layer !== undefined ? 'option' : sweep ? 'sweep' : 'pack-default';

  // Geometry at the layer.
  emit({ type: 'stage', stage: 'geometry', total: 1, label: `geometry at layer ${layer}` });
  const raw = pack.raw.get(layer)!; // [E, d]
  const cos = cosineMatrix(raw); // [E, E]
  const pcaRes = pcaSummary(pack.emotions, raw, norms, opts.pcaOn ?? 'raw');
  const clusters = clusterSummary(pack.emotions, raw, pcaRes.coords.map((c) => c.pc1), norms, { k: opts.k ?? 10, seed: opts.seed ?? 1, cos });
  const sim = similarity(pack.emotions, cos);
  const neighbours = nearestNeighbours(pack.emotions, cos, 5);
  emit({ type: 'stage-done', stage: 'geometry' });

  let lens: LogitLensResult | null = null;
  if (model && (opts.lens ?? true)) {
    const lensEmotions = opts.emotions ?? pack.emotions;
    emit({ type: 'stage', stage: 'lens', total: lensEmotions.length, label: 'logit lens' });
    lens = logitLens(model, pack, layer, { emotions: lensEmotions, onProgress: (done, total) => emit({ type: 'progress', stage: 'lens', done, total }) });
    emit({ type: 'stage-done', stage: 'lens' });
  }

  let intensity: IntensityResult | null = null;
  if (model && opts.intensity) {
    const templates = opts.templates;
    emit({ type: 'stage', stage: 'intensity', total: (templates ?? [1, 2, 3]).length, label: 'intensity sweeps' });
    intensity = await intensitySweeps(model, pack, layer, {
      ...(templates ? { templates } : {}),
      ...(opts.emotions ? { emotions: opts.emotions } : {}),
      onProgress: (done, total) => emit({ type: 'progress', stage: 'intensity', done, total }),
    });
    emit({ type: 'stage-done', stage: 'intensity' });
  }
  if (!model) notes.push('no model given: logit lens, layer sweep and intensity sweeps were skipped');

  const m = pack.meta;
  return {
    format: 'limbic-analysis',
    version: 1,
    createdAt: new Date().toISOString(),
    pack: { model: m.model.id, arch: m.model.arch, dModel: m.model.dModel, nLayers: m.model.nLayers, emotions: m.emotions.length, layers: [...m.layers], defaultLayer: pack.defaultLayer, startToken: m.recipe.startToken },
    layer,
    layerSource,
    norms,
    rater,
    pca: pcaRes,
    clusters,
    similarity: sim,
    neighbours,
    logitLens: lens,
    layerSweep: sweep,
    intensity,
    notes,
  };
}

export { SPEC_GROUPS } from './analysis/geometry.ts';
export { DEFAULT_INTENSITY_EMOTIONS, DEFAULT_INTENSITY_TEMPLATES } from './analysis/intensity.ts';
export type { ClusterSummary, Correlation, Neighbours, PcaSummary, Similarity } from './analysis/geometry.ts';
export type { IntensityResult, IntensityTemplate } from './analysis/intensity.ts';
export type { LayerScore, LayerSweepResult, SweepStory } from './analysis/layerSweep.ts';
export type { LogitLensResult } from './analysis/logitLens.ts';
