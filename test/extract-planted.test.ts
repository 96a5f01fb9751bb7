// Extraction math pinned down without any real model: a fake model plants activations built from
// known emotion directions (on a valence and an arousal axis plus specific parts), a neutral
// confound subspace present in every text, per-token noise and a shared offset. Extraction must
// recover the planted directions, PCA the valence axis, and the neutral projection the confound.
// Also: resume after an interruption gives a bit-identical pack; bad input fails clearly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Corpus, CorpusRecord } from '../src/experiments/corpus.ts';
import { extractVectors, type ExtractModel } from '../src/experiments/extract.ts';
import { cosine, dot, normalize, pca, row, type Matrix } from '../src/vectors/math.ts';
import { VectorPack, PackError, PackModelMismatchError } from '../src/vectors/pack.ts';

const d = 48;
const nLayers = 3;
let seed = 99;
const rand = () => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 4294967296 - 0.5;
};
const randVec = () => Float32Array.from({ length: d }, rand);
function orthonormal(k: number): Float32Array[] {
  const out: Float32Array[] = [];
  while (out.length < k) {
    const v = randVec();
    for (const b of out) {
      const p = dot(v, b);
      for (let i = 0; i < d; i++) v[i]! -= p * b[i]!;
    }
    out.push(normalize(v));
  }
  return out;
}
// Axes: [valence, arousal, confound x3, specific x ...] all orthonormal.
const [valAxis, arAxis, c1, c2, c3, ...specific] = orthonormal(5 + 8) as Float32Array[];
const confound = [c1!, c2!, c3!];
const emotions = ['joy', 'calm', 'fear', 'anger', 'sad', 'pride', 'shame', 'awe'];
const valence = [0.9, 0.6, -0.8, -0.7, -0.9, 0.7, -0.6, 0.4];
const arousal = [0.7, -0.8, 0.8, 0.9, -0.5, 0.3, -0.2, 0.6];
const planted = emotions.map((_, e) => {
  const v = new Float32Array(d);
  for (let i = 0; i < d; i++) v[i] = 3 * valence[e]! * valAxis![i]! + 2 * arousal[e]! * arAxis![i]! + 0.8 * specific[e]![i]!;
  return v;
});
const offset = randVec().map((x) => x * 10);

function buildCorpus(storiesPer: number): Corpus {
  const records: CorpusRecord[] = [];
  emotions.forEach((emotion, e) => {
    for (let k = 0; k < storiesPer; k++) {
      records.push({ id: `${emotion}-${k}`, kind: 'story', emotion, topic: `p${k}`, person: 'first', split: 'train', text: `${e}|${k}|${70 + ((e * 7 + k * 3) % 20)}`, source: 'planted' });
    }
  });
  for (let k = 0; k < 30; k++) records.push({ id: `neutral-${k}`, kind: 'neutral', topic: 'task', messages: [], text: `-1|${k}|${70 + (k % 15)}`, source: 'planted' });
  return { records, stories: records.filter((r) => r.kind === 'story') as Corpus['stories'], neutral: records.filter((r) => r.kind === 'neutral') as Corpus['neutral'], files: [] };
}

/** A model whose residual stream at layer l and token t is planted from the text's emotion. */
class PlantedModel implements ExtractModel {
  readonly id = 'planted';
  readonly config = { arch: 'planted', dModel: d, nLayers, nCtx: 4096 } as ExtractModel['config'];
  forwardCalls = 0;
  weightsHash(): string {
    return 'planted-hash';
  }
  encode(text: string): number[] {
    const [e, k, len] = text.split('|').map(Number) as [number, number, number];
    return Array.from({ length: len }, (_, t) => (t === 0 ? 1 : 1000 * (e + 2) + k * 7 + t));
  }
  activation(ids: readonly number[], t: number, layer: number): Float32Array {
    const e = Math.floor(ids[1]! / 1000) - 2;
    const k = (ids[1]! - 1000 * (e + 2) - 1) / 7;
    // Confound: large, varies by text (and slowly by token), same statistics in stories and neutral.
    const w = [Math.sin(k * 1.7 + e) * 6, Math.cos(k * 0.9 - e * 2) * 5, Math.sin(k * 0.4 + e * 1.3 + t * 0.01) * 4];
    const x = Float32Array.from(offset);
    for (let i = 0; i < d; i++) {
      x[i]! += (layer + 1) * (e >= 0 ? planted[e]![i]! : 0);
      for (let c = 0; c < 3; c++) x[i]! += w[c]! * confound[c]![i]!;
      x[i]! += 0.5 * Math.sin(ids[t]! * 12.9898 + i * 78.233 + layer);
    }
    return x;
  }
  async forward(input: readonly number[] | readonly (readonly number[])[], opts: { capture?: readonly string[] } = {}) {
    this.forwardCalls++;
    const rows = input as readonly (readonly number[])[];
    const T = Math.max(...rows.map((r) => r.length));
    const captures = new Map<string, { data: Float32Array; dims: number[] }>();
    for (const h of opts.capture ?? []) {
      const layer = Number(/blocks\.(\d+)\./.exec(h)![1]);
      const data = new Float32Array(rows.length * T * d);
      rows.forEach((r, b) => {
        for (let t = 0; t < r.length; t++) data.set(this.activation(r, t, layer), (b * T + t) * d);
      });
      captures.set(h, { data, dims: [rows.length, T, d] });
    }
    return { logits: null, captures, lengths: rows.map((r) => r.length), startPositions: rows.map(() => 0) };
  }
}

const centeredPlanted = (() => {
  const mean = new Float32Array(d);
  for (const p of planted) for (let i = 0; i < d; i++) mean[i]! += p[i]! / planted.length;
  return planted.map((p) => p.map((v, i) => v - mean[i]!));
})();

test('extraction recovers planted emotion directions; neutral PCA removes the confound', async () => {
  const corpus = buildCorpus(12);
  const model = new PlantedModel();
  // The planted confound spans 3 directions holding ~99% of the neutral variance; the paper's 50%
  // would remove only the largest, so this test asks for 90% (the fraction is a parameter).
  const pack = await extractVectors(model, corpus, { layers: [1, 2], startToken: 50, batchSize: 5, denoiseFraction: 0.9 });
  const paperDefault = await extractVectors(model, corpus, { layers: [1], startToken: 50 });
  const noDenoise = await extractVectors(model, corpus, { layers: [1], startToken: 50, denoiseFraction: null });
  assert.deepEqual(pack.emotions, [...emotions].sort());
  for (const e of emotions) {
    const i = emotions.indexOf(e);
    const got = pack.vector(e, 1);
    assert.ok(cosine(got, centeredPlanted[i]!) > 0.95, `${e}: cos ${cosine(got, centeredPlanted[i]!).toFixed(3)}`);
    const confoundShare = (v: Float32Array) => Math.sqrt(confound.reduce((s, c) => s + dot(v, c) ** 2, 0)) / Math.hypot(...v);
    assert.ok(confoundShare(got) < 0.02, `${e}: confound share after denoising ${confoundShare(got).toFixed(3)}`);
    assert.ok(confoundShare(noDenoise.vector(e, 1)) > 3 * confoundShare(got), `${e}: denoising should shrink the confound`);
  }
  assert.deepEqual(pack.meta.recipe.denoise!.componentsRemoved, { '1': 3, '2': 3 });
  assert.equal(paperDefault.meta.recipe.denoise!.varianceFraction, 0.5);
  assert.ok(paperDefault.meta.recipe.denoise!.componentsRemoved['1']! < 3, 'at 50% fewer components go');
  // PCA of the vectors recovers the valence axis as PC1.
  const p = pca(pack.raw.get(2)! as Matrix, 2);
  assert.ok(Math.abs(cosine(row(p.components, 0), valAxis!)) > 0.95, `PC1 vs valence ${cosine(row(p.components, 0), valAxis!).toFixed(3)}`);
  assert.ok(Math.abs(cosine(row(p.components, 1), arAxis!)) > 0.9, `PC2 vs arousal ${cosine(row(p.components, 1), arAxis!).toFixed(3)}`);
  // Residual norm is recorded and the neutral baselines exist for every emotion.
  assert.ok(pack.residNorm(1) > 5);
  assert.equal(pack.meta.neutralBaselines['1']!.mean.length, emotions.length);
  assert.ok(pack.meta.neutralBaselines['1']!.std.every((s) => s > 0));
});

test('an interrupted extraction resumes to a bit-identical pack', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'limbic-resume-'));
  const corpus = buildCorpus(6);
  const full = await extractVectors(new PlantedModel(), corpus, { layers: [0, 2], batchSize: 4 });
  full.save(join(dir, 'full'));
  const ckpt = join(dir, 'ckpt.safetensors');
  const ac = new AbortController();
  let seen = 0;
  await assert.rejects(
    extractVectors(new PlantedModel(), corpus, {
      layers: [0, 2],
      batchSize: 4,
      checkpoint: ckpt,
      checkpointEvery: 3,
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === 'progress' && ++seen === 7) ac.abort();
      },
    }),
    (e: Error) => e.name === 'ExtractionError' && /resume/.test(e.message),
  );
  const resumedModel = new PlantedModel();
  let resumedAt = -1;
  const resumed = await extractVectors(resumedModel, corpus, { layers: [0, 2], batchSize: 4, checkpoint: ckpt, onEvent: (e) => e.type === 'start' && (resumedAt = e.resumedAt) });
  assert.ok(resumedAt >= 28, `resumed after ${resumedAt} texts`);
  assert.ok(resumedModel.forwardCalls < Math.ceil(corpus.records.length / 4) + 8, 'the resumed run skipped finished batches');
  resumed.save(join(dir, 'resumed'));
  assert.ok(readFileSync(join(dir, 'full', 'vectors.safetensors')).equals(readFileSync(join(dir, 'resumed', 'vectors.safetensors'))));
  const strip = (p: string) => ({ ...JSON.parse(readFileSync(join(dir, p, 'pack.json'), 'utf8')), createdAt: null });
  assert.deepEqual(strip('resumed'), strip('full'));
  // A checkpoint from another job is refused.
  const other = join(dir, 'other.safetensors');
  const ac2 = new AbortController();
  await assert.rejects(extractVectors(new PlantedModel(), corpus, { layers: [0, 2], batchSize: 4, checkpoint: other, checkpointEvery: 1, signal: ac2.signal, onEvent: (e) => e.type === 'progress' && ac2.abort() }));
  await assert.rejects(extractVectors(new PlantedModel(), corpus, { layers: [1], batchSize: 4, checkpoint: other }), /different extraction/);
});

test('pack round-trip is exact; foreign, corrupt and mismatched packs fail clearly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'limbic-pack-'));
  const pack = await extractVectors(new PlantedModel(), buildCorpus(4), { layers: [1], startToken: 10 });
  pack.save(join(dir, 'p'));
  const back = VectorPack.load(join(dir, 'p'));
  assert.deepEqual(back.meta, pack.meta);
  assert.ok(back.raw.get(1)!.data.every((v, i) => Object.is(v, pack.raw.get(1)!.data[i])));
  assert.throws(() => back.checkModel({ arch: 'planted', dModel: d + 1, nLayers }), PackModelMismatchError);
  assert.throws(() => back.checkModel({ arch: 'planted', dModel: d, nLayers, weightsHash: 'other' }), /weights hash/);
  back.checkModel({ arch: 'planted', dModel: d, nLayers, weightsHash: 'planted-hash' });
  assert.throws(() => back.vector('joyy', 1), (e: Error) => e instanceof PackError && /did you mean joy/.test(e.message));
  assert.throws(() => back.vector('joy', 2), /layer 2 is not in this pack/);
  assert.throws(() => VectorPack.load(join(dir, 'nope')), /not a vector pack/);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'p', 'pack.json'), '{"format": "limbic-vector-pack", ');
  assert.throws(() => VectorPack.load(join(dir, 'p')), /not valid JSON/);
});

test('bad extraction input: unknown emotions, layer out of range, too few emotions, no neutral texts', async () => {
  const m = new PlantedModel();
  const corpus = buildCorpus(3);
  await assert.rejects(extractVectors(m, corpus, { emotions: ['joy', 'glee'] }), /no stories for: glee/);
  await assert.rejects(extractVectors(m, corpus, { layers: [nLayers] }), /layer 3 is out of range/);
  await assert.rejects(extractVectors(m, corpus, { emotions: ['joy'] }), /at least 2/);
  const noNeutral = { ...corpus, records: corpus.records.filter((r) => r.kind === 'story'), neutral: [] };
  await assert.rejects(extractVectors(m, noNeutral, {}), /neutral/);
  await assert.rejects(extractVectors(m, corpus, { startToken: 500 }), /longer than 500 tokens/);
});
