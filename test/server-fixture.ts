// Shared set-up for the monitor-server tests: a tiny random qwen2 with a ChatML template (context
// widened so long generations fit), a synthetic vector pack for it (seeded random directions,
// residual norm and neutral baselines measured on a neutral text, so z-scores are O(1)), and a
// server on 127.0.0.1 with a port of the system's choosing and its traces in a temporary folder.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, type Model } from '../src/engine/model.ts';
import { readout } from '../src/vectors/readout.ts';
import { norm } from '../src/vectors/math.ts';
import type { VectorPack } from '../src/vectors/pack.ts';
import { startServer, type RunningServer, type ServerOptions } from '../src/server/server.ts';
import { SqliteTraceStore, type TraceStore } from '../src/server/traces.ts';
import { randomPack, writeTinyChatModel } from './helpers/randomPack.ts';

export const TINY_EMOTIONS = ['afraid', 'angry', 'calm', 'desperate', 'happy', 'nervous', 'proud', 'sad'];

export async function tinyChatModel(root: string, nCtx = 2048): Promise<Model> {
  return loadModel(writeTinyChatModel(join(root, 'model'), nCtx), { cacheDir: join(root, 'cache'), threads: 1 });
}

/** Seeded random emotion directions at `layers`, with norms and baselines measured on neutral text. */
export async function syntheticPack(model: Model, layers: readonly number[], emotions = TINY_EMOTIONS): Promise<VectorPack> {
  const d = model.config.dModel;
  const pack = randomPack(model, { emotions, layers, seed: 11 });
  const { meta } = pack;
  const ids = model.encode('The file has three columns: a name, a date and a count. Sort the rows by date and print the total.');
  const hooks = layers.map((l) => `blocks.${l}.hook_resid_post`);
  const r = await model.forward(ids, { capture: hooks, logits: 'none' });
  for (const l of layers) {
    const acts = r.captures.get(`blocks.${l}.hook_resid_post`)!.data;
    const T = acts.length / d;
    let n = 0;
    for (let t = 0; t < T; t++) n += norm(acts.subarray(t * d, (t + 1) * d)) / T;
    meta.residNorms[String(l)] = n;
    const cos = readout(pack, acts, l).cosine; // independent of the placeholder norm and baseline
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
