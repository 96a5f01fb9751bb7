// Emotion-vector extraction by the recipe of SPEC.md section 2:
//   1. every text runs through the model once, capturing all requested layers in that one pass
//      (capture-only graph: stops after the deepest layer, no logits);
//   2. per text and layer, the mean residual (blocks.{l}.hook_resid_post) over tokens from
//      `startToken` on (shorter texts are skipped and counted);
//   3. per-emotion means, accumulated in streaming form (memory independent of corpus size);
//   4. minus the mean over emotions;
//   5. denoising: PCA over the neutral dialogues' text means; the top components explaining
//      `varianceFraction` of their variance are projected out;
//   plus the mean residual norm per layer (steering unit) and, in a second pass over the neutral
//   texts, each emotion's cosine read-out mean and std there (the z-score baseline).
// Texts are processed in fixed batches of a fixed order, with checkpoints at batch boundaries,
// so a resumed run accumulates in the same order and produces a bit-identical pack.
import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { LimbicError } from '../engine/errors.ts';
import type { Model } from '../engine/model.ts';
import { SafetensorsFile, writeSafetensors } from '../engine/safetensors.ts';
import { componentsForVariance, matrix, normalize, pca, projectOutVector, row, RunningMean, type Matrix } from '../vectors/math.ts';
import { PACK_FORMAT, PACK_VERSION, VectorPack, type PackMeta } from '../vectors/pack.ts';
import type { Corpus, CorpusRecord } from './corpus.ts';

export const LIMBIC_VERSION = '0.1.0';

export class ExtractionError extends LimbicError {}

/** What extraction needs from a model (a Model satisfies it; tests plant activations through it). */
export type ExtractModel = Pick<Model, 'config' | 'encode' | 'forward' | 'weightsHash' | 'id'>;

export interface ExtractOptions {
  /** 'auto': five layers around two thirds of the depth; 'all'; or explicit (negative from the end). */
  layers?: 'auto' | 'all' | readonly number[];
  /** First token position averaged (default 50, as the paper). */
  startToken?: number;
  /** Neutral-PCA variance fraction to project out (default 0.5); null disables denoising. */
  denoiseFraction?: number | null;
  /** Texts per forward pass (default 8). */
  batchSize?: number;
  /** Texts are truncated to this many tokens (default 512). */
  maxTokens?: number;
  /** Restrict to these emotions (default: every emotion in the corpus). */
  emotions?: readonly string[];
  /** Checkpoint file; an existing one for the same job is resumed. */
  checkpoint?: string;
  /** Checkpoint every this many batches (default 10). */
  checkpointEvery?: number;
  onEvent?: (e: ExtractEvent) => void;
  signal?: AbortSignal;
  /** Describes the corpus in the pack (e.g. its path or "limbic default corpus"). */
  corpusSource?: string;
}

export type ExtractEvent =
  | { type: 'start'; texts: number; stories: number; neutral: number; layers: number[]; resumedAt: number }
  | { type: 'progress'; pass: 1 | 2; done: number; total: number; tokens: number; tokensPerSecond: number }
  | { type: 'checkpoint'; done: number; path: string }
  | { type: 'done'; skippedShort: number; componentsRemoved: Record<string, number> };

/** Five layers centred on round(2L/3), spaced by about L/12 (clipped to the model). */
export function autoLayers(nLayers: number): number[] {
  const center = Math.min(nLayers - 1, Math.round((2 * nLayers) / 3));
  const step = Math.max(1, Math.round(nLayers / 12));
  const set = new Set<number>();
  for (let k = -2; k <= 2; k++) set.add(Math.min(nLayers - 1, Math.max(0, center + k * step)));
  return [...set].sort((a, b) => a - b);
}

export function resolveLayers(spec: ExtractOptions['layers'], nLayers: number): number[] {
  if (spec === undefined || spec === 'auto') return autoLayers(nLayers);
  if (spec === 'all') return Array.from({ length: nLayers }, (_, i) => i);
  const out = spec.map((l) => (l < 0 ? l + nLayers : l));
  for (const [i, l] of out.entries()) {
    if (!Number.isInteger(l) || l < 0 || l >= nLayers) throw new ExtractionError(`layer ${spec[i]} is out of range`, `the model has layers 0..${nLayers - 1}`);
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

interface Job {
  id: string;
  kind: 'story' | 'neutral';
  emotion: number; // index into emotions, -1 for neutral
  ids: number[];
}

interface State {
  /** Batches finished in pass 1 and pass 2. */
  pass1Batches: number;
  pass2Batches: number;
  sums: Float64Array; // [E, L, d] story-vector sums
  counts: Float64Array; // [E]
  neutralMeans: Float64Array; // [N, L, d] per neutral text (NaN row = skipped)
  normSum: Float64Array; // [L]
  normCount: number;
  skippedShort: number;
  cosSum: Float64Array; // [L, E] pass 2
  cosSq: Float64Array; // [L, E]
  cosCount: number;
  tokens: number;
}

function hashJob(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 24);
}

function saveCheckpoint(path: string, jobHash: string, s: State): void {
  writeSafetensors(
    path,
    {
      sums: { dtype: 'F64', shape: [s.sums.length], data: s.sums },
      counts: { dtype: 'F64', shape: [s.counts.length], data: s.counts },
      neutralMeans: { dtype: 'F64', shape: [s.neutralMeans.length], data: s.neutralMeans },
      normSum: { dtype: 'F64', shape: [s.normSum.length], data: s.normSum },
      cosSum: { dtype: 'F64', shape: [s.cosSum.length], data: s.cosSum },
      cosSq: { dtype: 'F64', shape: [s.cosSq.length], data: s.cosSq },
    },
    { format: 'limbic-extract-checkpoint', jobHash, scalars: JSON.stringify({ pass1Batches: s.pass1Batches, pass2Batches: s.pass2Batches, normCount: s.normCount, skippedShort: s.skippedShort, cosCount: s.cosCount, tokens: s.tokens }) },
  );
}

function loadCheckpoint(path: string, jobHash: string, fresh: State): State | null {
  if (!existsSync(path)) return null;
  const f = new SafetensorsFile(path);
  try {
    if (f.metadata['jobHash'] !== jobHash) {
      throw new ExtractionError(`checkpoint ${path} belongs to a different extraction (model, corpus or options changed)`, 'delete it, or give another --checkpoint path');
    }
    const raw = (n: string) => {
      const b = f.readRaw(n);
      return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8).slice();
    };
    const sc = JSON.parse(f.metadata['scalars'] ?? '{}') as Record<string, number>;
    const s: State = { ...fresh, sums: raw('sums'), counts: raw('counts'), neutralMeans: raw('neutralMeans'), normSum: raw('normSum'), cosSum: raw('cosSum'), cosSq: raw('cosSq') };
    Object.assign(s, sc);
    return s;
  } finally {
    f.close();
  }
}

/** Runs the extraction recipe over a corpus and returns the vector pack. */
export async function extractVectors(model: ExtractModel, corpus: Corpus, opts: ExtractOptions = {}): Promise<VectorPack> {
  const cfg = model.config;
  const d = cfg.dModel;
  const layers = resolveLayers(opts.layers, cfg.nLayers);
  const L = layers.length;
  const startToken = opts.startToken ?? 50;
  const batchSize = opts.batchSize ?? 8;
  const maxTokens = Math.min(opts.maxTokens ?? 512, cfg.nCtx);
  const denoise = opts.denoiseFraction === undefined ? 0.5 : opts.denoiseFraction;
  const records: CorpusRecord[] = corpus.records;
  const storyRecords = records.filter((r) => r.kind === 'story' && (!opts.emotions || opts.emotions.includes(r.emotion)));
  const neutralRecords = records.filter((r) => r.kind === 'neutral');
  const emotions = [...new Set(storyRecords.map((r) => (r.kind === 'story' ? r.emotion : '')))].sort();
  if (opts.emotions) {
    const missing = opts.emotions.filter((e) => !emotions.includes(e));
    if (missing.length) throw new ExtractionError(`no stories for: ${missing.join(', ')}`, 'check the emotion names against the corpus (data/emotions.json)');
  }
  if (emotions.length < 2) throw new ExtractionError(`the corpus has stories for ${emotions.length} emotion(s); at least 2 are needed`, 'give a corpus with stories for several emotions');
  if (denoise !== null && neutralRecords.length < 2) throw new ExtractionError('denoising needs neutral dialogues in the corpus', 'add neutral records, or turn denoising off (--denoise off)');
  const E = emotions.length;

  // Tokenise once; fixed order (by length, then id) so batches pad little and never change.
  const toJob = (r: CorpusRecord): Job => ({
    id: r.id,
    kind: r.kind,
    emotion: r.kind === 'story' ? emotions.indexOf(r.emotion) : -1,
    ids: model.encode(r.text).slice(0, maxTokens),
  });
  const byLength = (a: Job, b: Job) => a.ids.length - b.ids.length || (a.id < b.id ? -1 : 1);
  const pass1 = [...storyRecords.map(toJob), ...neutralRecords.map(toJob)].sort(byLength);
  const neutralJobs = pass1.filter((j) => j.kind === 'neutral');
  const neutralIndex = new Map(neutralJobs.map((j, i) => [j.id, i]));
  const pass2 = [...neutralJobs];
  const N = neutralJobs.length;
  const corpusHash = createHash('sha256').update(records.map((r) => `${r.id}\u0000${r.text}`).join('\u0001')).digest('hex').slice(0, 24);
  const jobHash = hashJob({ model: model.weightsHash(), corpusHash, layers, startToken, batchSize, maxTokens, denoise, emotions });

  const fresh: State = {
    pass1Batches: 0,
    pass2Batches: 0,
    sums: new Float64Array(E * L * d),
    counts: new Float64Array(E),
    neutralMeans: new Float64Array(N * L * d).fill(NaN),
    normSum: new Float64Array(L),
    normCount: 0,
    skippedShort: 0,
    cosSum: new Float64Array(L * E),
    cosSq: new Float64Array(L * E),
    cosCount: 0,
    tokens: 0,
  };
  const st = (opts.checkpoint && loadCheckpoint(opts.checkpoint, jobHash, fresh)) || fresh;
  const hooks = layers.map((l) => `blocks.${l}.hook_resid_post`);
  const batches = (jobs: Job[]) => Array.from({ length: Math.ceil(jobs.length / batchSize) }, (_, i) => jobs.slice(i * batchSize, (i + 1) * batchSize));
  const b1 = batches(pass1);
  const b2 = batches(pass2);
  opts.onEvent?.({ type: 'start', texts: pass1.length, stories: storyRecords.length, neutral: N, layers, resumedAt: st.pass1Batches * batchSize + st.pass2Batches * batchSize });
  const every = opts.checkpointEvery ?? 10;
  const t0 = performance.now();
  let tokensThisRun = 0;
  const checkpoint = (force = false, done = 0) => {
    if (!opts.checkpoint) return;
    if (force || (st.pass1Batches + st.pass2Batches) % every === 0) {
      saveCheckpoint(opts.checkpoint, jobHash, st);
      opts.onEvent?.({ type: 'checkpoint', done, path: opts.checkpoint });
    }
  };

  // ---- pass 1: story means, neutral text means, residual norms
  for (let bi = st.pass1Batches; bi < b1.length; bi++) {
    if (opts.signal?.aborted) {
      checkpoint(true, bi * batchSize);
      throw new ExtractionError('extraction interrupted', opts.checkpoint ? `progress saved in ${opts.checkpoint}; run the same command again to resume` : 'give --checkpoint to be able to resume');
    }
    const batch = b1[bi]!;
    const r = await model.forward(batch.map((j) => j.ids), { capture: hooks, logits: 'none' });
    batch.forEach((job, b) => {
      const len = job.ids.length;
      layers.forEach((l, li) => {
        const a = r.captures.get(`blocks.${l}.hook_resid_post`)!; // [B, T, d]
        const T = a.dims[1]!;
        const x = a.data;
        let total = 0;
        for (let t = 1; t < len; t++) {
          const off = (b * T + t) * d;
          let nx = 0;
          for (let i = 0; i < d; i++) nx += x[off + i]! * x[off + i]!;
          total += Math.sqrt(nx);
        }
        st.normSum[li]! += total;
      });
      st.normCount += Math.max(0, len - 1);
      st.tokens += len;
      tokensThisRun += len;
      if (len <= startToken) {
        st.skippedShort++;
        return;
      }
      layers.forEach((l, li) => {
        const a = r.captures.get(`blocks.${l}.hook_resid_post`)!;
        const T = a.dims[1]!;
        const m = new Float64Array(d); // mean over tokens [startToken, len)
        for (let t = startToken; t < len; t++) {
          const off = (b * T + t) * d;
          for (let i = 0; i < d; i++) m[i]! += a.data[off + i]!;
        }
        for (let i = 0; i < d; i++) m[i]! /= len - startToken;
        if (job.kind === 'story') {
          const base = (job.emotion * L + li) * d;
          for (let i = 0; i < d; i++) st.sums[base + i]! += m[i]!;
        } else {
          st.neutralMeans.set(m, (neutralIndex.get(job.id)! * L + li) * d);
        }
      });
      if (job.kind === 'story') st.counts[job.emotion]! += 1;
    });
    st.pass1Batches = bi + 1;
    const secs = (performance.now() - t0) / 1000;
    opts.onEvent?.({ type: 'progress', pass: 1, done: Math.min(pass1.length, (bi + 1) * batchSize), total: pass1.length, tokens: st.tokens, tokensPerSecond: tokensThisRun / Math.max(secs, 1e-3) });
    checkpoint(false, (bi + 1) * batchSize);
  }

  // ---- vectors: emotion means, centred, denoised
  const missing = emotions.filter((_, e) => st.counts[e] === 0);
  if (missing.length) throw new ExtractionError(`no usable stories (longer than ${startToken} tokens) for: ${missing.join(', ')}`, `lower --start-token (now ${startToken}) or add longer stories`);
  const raw = new Map<number, Matrix>();
  const componentsRemoved: Record<string, number> = {};
  layers.forEach((l, li) => {
    const means = matrix(E, d);
    for (let e = 0; e < E; e++) for (let i = 0; i < d; i++) means.data[e * d + i] = st.sums[(e * L + li) * d + i]! / st.counts[e]!;
    const grand = new RunningMean(d);
    for (let e = 0; e < E; e++) grand.add(row(means, e));
    const g = grand.mean();
    const out = matrix(E, d);
    for (let e = 0; e < E; e++) for (let i = 0; i < d; i++) out.data[e * d + i] = means.data[e * d + i]! - g[i]!;
    if (denoise !== null) {
      const rows: Float32Array[] = [];
      for (let n = 0; n < N; n++) {
        const v = st.neutralMeans.subarray((n * L + li) * d, (n * L + li + 1) * d);
        if (!Number.isNaN(v[0]!)) rows.push(Float32Array.from(v));
      }
      if (rows.length < 2) throw new ExtractionError(`only ${rows.length} neutral text(s) longer than ${startToken} tokens`, 'add longer neutral dialogues or lower --start-token');
      const p = pca(matrix(rows.length, d, Float32Array.from(rows.flatMap((r) => Array.from(r)))));
      const k = componentsForVariance(p.explainedRatio, denoise);
      componentsRemoved[String(l)] = k;
      const basis = matrix(k, d, p.components.data.slice(0, k * d));
      for (let e = 0; e < E; e++) out.data.set(projectOutVector(row(out, e), basis), e * d);
    }
    raw.set(l, out);
  });

  // ---- pass 2: neutral baselines of the cosine read-out, per token
  const units = layers.map((l) => {
    const m = raw.get(l)!;
    const u = matrix(E, d);
    for (let e = 0; e < E; e++) u.data.set(normalize(row(m, e)), e * d);
    return u;
  });
  for (let bi = st.pass2Batches; bi < b2.length; bi++) {
    if (opts.signal?.aborted) {
      checkpoint(true, pass1.length + bi * batchSize);
      throw new ExtractionError('extraction interrupted', opts.checkpoint ? `progress saved in ${opts.checkpoint}; run the same command again to resume` : 'give --checkpoint to be able to resume');
    }
    const batch = b2[bi]!;
    const r = await model.forward(batch.map((j) => j.ids), { capture: hooks, logits: 'none' });
    batch.forEach((job, b) => {
      const len = job.ids.length;
      const from = Math.min(startToken, Math.max(1, len - 1));
      layers.forEach((l, li) => {
        const a = r.captures.get(`blocks.${l}.hook_resid_post`)!;
        const T = a.dims[1]!;
        const x = a.data;
        const u = units[li]!.data;
        for (let t = from; t < len; t++) {
          const off = (b * T + t) * d;
          let nx = 0;
          for (let i = 0; i < d; i++) nx += x[off + i]! * x[off + i]!;
          nx = Math.sqrt(nx) || 1;
          for (let e = 0; e < E; e++) {
            let p = 0;
            const ue = e * d;
            for (let i = 0; i < d; i++) p += x[off + i]! * u[ue + i]!;
            const c = p / nx;
            st.cosSum[li * E + e]! += c;
            st.cosSq[li * E + e]! += c * c;
          }
        }
      });
      st.cosCount += len - from;
    });
    st.pass2Batches = bi + 1;
    const secs = (performance.now() - t0) / 1000;
    opts.onEvent?.({ type: 'progress', pass: 2, done: Math.min(N, (bi + 1) * batchSize), total: N, tokens: st.tokens, tokensPerSecond: tokensThisRun / Math.max(secs, 1e-3) });
    checkpoint(false, pass1.length + (bi + 1) * batchSize);
  }

  const residNorms: Record<string, number> = {};
  const neutralBaselines: PackMeta['neutralBaselines'] = {};
  layers.forEach((l, li) => {
    residNorms[String(l)] = st.normSum[li]! / Math.max(1, st.normCount);
    const mean: number[] = [];
    const std: number[] = [];
    for (let e = 0; e < E; e++) {
      const n = Math.max(1, st.cosCount);
      const mu = st.cosSum[li * E + e]! / n;
      mean.push(mu);
      std.push(Math.sqrt(Math.max(0, st.cosSq[li * E + e]! / n - mu * mu)));
    }
    neutralBaselines[String(l)] = { mean, std };
  });
  const meta: PackMeta = {
    format: PACK_FORMAT,
    version: PACK_VERSION,
    limbicVersion: LIMBIC_VERSION,
    createdAt: new Date().toISOString(),
    model: { id: model.id, arch: cfg.arch, dModel: d, nLayers: cfg.nLayers, weightsHash: model.weightsHash() },
    emotions,
    layers,
    recipe: {
      method: 'mean-diff',
      startToken,
      hook: 'hook_resid_post',
      denoise: denoise === null ? null : { method: 'neutral-pca', varianceFraction: denoise, componentsRemoved },
      chatFormat: false,
      batchSize,
      maxTokens,
    },
    corpus: { hash: corpusHash, stories: storyRecords.length, neutral: N, skippedShort: st.skippedShort, source: opts.corpusSource ?? 'custom' },
    residNorms,
    neutralBaselines,
    storyCounts: Object.fromEntries(emotions.map((e, i) => [e, st.counts[i]!])),
  };
  if (opts.checkpoint) rmSync(opts.checkpoint, { force: true });
  opts.onEvent?.({ type: 'done', skippedShort: st.skippedShort, componentsRemoved });
  return new VectorPack(meta, raw);
}
