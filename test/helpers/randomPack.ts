// Tiny fixtures shared by the tests that need a model and a vector pack but no real vectors: a tiny
// random qwen2 with a ChatML template and a widened context, and a pack of seeded random emotion
// vectors for a model (residual norm 10, neutral baselines of mean 0 and std 0.1 at every layer).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRng } from '../../src/engine/sampling.ts';
import type { Model } from '../../src/engine/model.ts';
import { matrix, type Matrix } from '../../src/vectors/math.ts';
import { PACK_FORMAT, PACK_VERSION, VectorPack } from '../../src/vectors/pack.ts';
import { writeTinyModel } from './tinyModels.ts';

/** Writes a tiny qwen2 with a chat template into `dir`, its context widened to `nCtx`. */
export function writeTinyChatModel(dir: string, nCtx = 8192): string {
  writeTinyModel('qwen2', dir, { chatTemplate: true });
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify({ ...JSON.parse(readFileSync(configPath, 'utf8')), max_position_embeddings: nCtx }));
  return dir;
}

export interface RandomPackOptions {
  emotions: readonly string[];
  /** Layers with vectors (each gets a residual norm and a baseline). */
  layers: readonly number[];
  /** makeRng seed of the vector entries (uniform in [-1, 1), layer by layer, row-major). Default 7. */
  seed?: number;
}

/** A pack of seeded random vectors for `model`, made for mechanics tests. */
export function randomPack(model: Model, { emotions, layers, seed = 7 }: RandomPackOptions): VectorPack {
  const d = model.config.dModel;
  const rng = makeRng(seed);
  const raw = new Map<number, Matrix>();
  for (const l of layers) raw.set(l, matrix(emotions.length, d, Float32Array.from({ length: emotions.length * d }, () => rng() * 2 - 1)));
  const perLayer = <T>(f: () => T): Record<string, T> => Object.fromEntries(layers.map((l) => [String(l), f()]));
  return new VectorPack(
    {
      format: PACK_FORMAT,
      version: PACK_VERSION,
      limbicVersion: 'test',
      createdAt: '2026-01-01T00:00:00.000Z',
      model: { id: model.id, arch: model.config.arch, dModel: d, nLayers: model.config.nLayers, weightsHash: model.weightsHash() },
      emotions: [...emotions],
      layers: [...layers],
      recipe: { method: 'mean-diff', startToken: 0, hook: 'hook_resid_post', denoise: null, chatFormat: false },
      corpus: { hash: 'synthetic', stories: 0, neutral: 0, skippedShort: 0, source: 'synthetic' },
      residNorms: perLayer(() => 10),
      neutralBaselines: perLayer(() => ({ mean: emotions.map(() => 0), std: emotions.map(() => 0.1) })),
      storyCounts: Object.fromEntries(emotions.map((e) => [e, 0])),
    },
    raw,
  );
}
