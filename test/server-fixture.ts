// Shared set-up for the monitor-server tests: a tiny random qwen2 with a ChatML template (context
// widened so long generations fit), a synthetic vector pack for it (seeded random directions,
// residual norm and neutral baselines measured on a neutral text, so z-scores are O(1)), and a
// server on 127.0.0.1 with a port of the system's choosing and its traces in a temporary folder.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, type Model } from '../src/engine/model.ts';
import { makeRng } from '../src/engine/sampling.ts';
import { readout } from '../src/vectors/readout.ts';
import { matrix, norm, type Matrix } from '../src/vectors/math.ts';
import { PACK_FORMAT, PACK_VERSION, VectorPack, type PackMeta } from '../src/vectors/pack.ts';
import { startServer, type RunningServer, type ServerOptions } from '../src/server/server.ts';
import { SqliteTraceStore, type TraceStore } from '../src/server/traces.ts';
import { writeTinyModel } from './helpers/tinyModels.ts';

export const TINY_EMOTIONS = ['afraid', 'angry', 'calm', 'desperate', 'happy', 'nervous', 'proud', 'sad'];

export async function tinyChatModel(root: string, nCtx = 2048): Promise<Model> {
  const dir = join(root, 'model');
  writeTinyModel('qwen2', dir, { chatTemplate: true });
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify({ ...JSON.parse(readFileSync(configPath, 'utf8')), max_position_embeddings: nCtx }));
  return loadModel(dir, { cacheDir: join(root, 'cache'), threads: 1 });
}

/** Seeded random emotion directions at `layers`, with norms and baselines measured on neutral text. */
export async function syntheticPack(model: Model, layers: readonly number[], emotions = TINY_EMOTIONS): Promise<VectorPack> {
  const d = model.config.dModel;
  const rng = makeRng(11);
  const raw = new Map<number, Matrix>();
  for (const l of layers) raw.set(l, matrix(emotions.length, d, Float32Array.from({ length: emotions.length * d }, () => rng() * 2 - 1)));
  const meta: PackMeta = {
    format: PACK_FORMAT,
    version: PACK_VERSION,
    limbicVersion: 'test',
    createdAt: '2026-01-01T00:00:00.000Z',
    model: { id: model.id, arch: model.config.arch, dModel: d, nLayers: model.config.nLayers, weightsHash: model.weightsHash() },
    emotions: [...emotions],
    layers: [...layers],
    recipe: { method: 'mean-diff', startToken: 0, hook: 'hook_resid_post', denoise: null, chatFormat: false },
    corpus: { hash: 'synthetic', stories: 0, neutral: 0, skippedShort: 0, source: 'synthetic' },
    residNorms: {},
    neutralBaselines: {},
    storyCounts: Object.fromEntries(emotions.map((e) => [e, 0])),
  };
  const pack = new VectorPack(meta, raw);
  const ids = model.encode('The file has three columns: a name, a date and a count. Sort the rows by date and print the total.');
  const hooks = layers.map((l) => `blocks.${l}.hook_resid_post`);
  const r = await model.forward(ids, { capture: hooks, logits: 'none' });
  for (const l of layers) {
    const acts = r.captures.get(`blocks.${l}.hook_resid_post`)!.data;
    const T = acts.length / d;
    let n = 0;
    for (let t = 0; t < T; t++) n += norm(acts.subarray(t * d, (t + 1) * d)) / T;
    meta.residNorms[String(l)] = n;
    const cos = readout(pack, acts, l).cosine; // baselines still empty: z = cosine
    const E = emotions.length;
    const mean = emotions.map((_, j) => Array.from({ length: T }, (_, t) => cos.data[t * E + j]!).reduce((a, b) => a + b, 0) / T);
    const std = emotions.map((_, j) => Math.sqrt(Array.from({ length: T }, (_, t) => (cos.data[t * E + j]! - mean[j]!) ** 2).reduce((a, b) => a + b, 0) / T) || 0.1);
    meta.neutralBaselines[String(l)] = { mean, std };
  }
  return pack;
}

export interface Fixture {
  root: string;
  model: Model;
  pack: VectorPack;
  traces: TraceStore;
  srv: RunningServer;
  logs: string[];
}

export async function serve(root: string, model: Model, pack: VectorPack, opts: Partial<ServerOptions> = {}): Promise<Fixture> {
  const traces = opts.traces ?? new SqliteTraceStore(join(root, `traces-${Math.random().toString(36).slice(2)}.sqlite`));
  const logs: string[] = [];
  const srv = await startServer({ model, pack, traces, port: 0, modelName: 'tiny-qwen2', log: (m) => logs.push(m), ...opts });
  return { root, model, pack, traces, srv, logs };
}

export function tempRoot(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
