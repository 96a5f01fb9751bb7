// Bad input meets a clear, named error: missing or truncated weights, a config that disagrees
// with the weights, unsupported architectures, bad hooks, steering of the wrong width or layer,
// over-long prompts, and a failed graph build leaves no partial cache entry behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, Model } from '../src/engine/model.ts';
import { openModelSource } from '../src/engine/source.ts';
import { writeTinyModel } from './helpers/tinyModels.ts';

const root = mkdtempSync(join(tmpdir(), 'limbic-errors-'));
const cacheDir = join(root, 'cache');
function fresh(name: string, arch: Parameters<typeof writeTinyModel>[0] = 'llama'): string {
  const dir = join(root, name);
  writeTinyModel(arch, dir);
  return dir;
}

test('missing weights file: WeightFileError naming the directory', async () => {
  const dir = fresh('missing');
  rmSync(join(dir, 'model.safetensors'));
  await assert.rejects(loadModel(dir, { cacheDir }), (e: Error) => e.name === 'WeightFileError' && /no model\.safetensors/.test(e.message) && /hint/.test(e.message));
});

test('truncated safetensors: WeightFileError saying truncated', async () => {
  const dir = fresh('truncated');
  const f = join(dir, 'model.safetensors');
  truncateSync(f, statSync(f).size - 100);
  await assert.rejects(loadModel(dir, { cacheDir }), (e: Error) => e.name === 'WeightFileError' && /truncated/.test(e.message));
  truncateSync(f, 5);
  await assert.rejects(loadModel(dir, { cacheDir }), (e: Error) => e.name === 'WeightFileError');
});

test('config whose shapes disagree with the weights: WeightShapeError naming tensor and shapes', async () => {
  const dir = fresh('shapes');
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  cfg.intermediate_size += 8;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  await assert.rejects(loadModel(dir, { cacheDir }), (e: Error) => e.name === 'WeightShapeError' && /mlp\.gate_proj\.weight/.test(e.message) && /expected \[/.test(e.message));
});

test('missing tensors: MissingWeightError listing them', async () => {
  const dir = fresh('layers');
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  cfg.num_hidden_layers += 1;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  await assert.rejects(loadModel(dir, { cacheDir }), (e: Error) => e.name === 'MissingWeightError' && new RegExp(`model\\.layers\\.${cfg.num_hidden_layers - 1}\\.`).test(e.message));
});

test('unsupported architecture: named error listing the supported ones', async () => {
  const dir = fresh('arch');
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  cfg.model_type = 'mamba';
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  await assert.rejects(loadModel(dir, { cacheDir }), (e: Error) => e.name === 'UnsupportedArchitectureError' && /llama, mistral, qwen2, qwen3, gemma2, gemma3_text, gpt2/.test(e.message));
});

test('hooks, steering and context errors', async () => {
  const m = await loadModel(fresh('ok'), { cacheDir });
  try {
    const L = m.config.nLayers;
    await assert.rejects(m.forward([1, 2, 3], { capture: [`blocks.${L}.hook_resid_post`] }), (e: Error) => e.name === 'HookNameError' && new RegExp(`0\\.\\.${L - 1}`).test(e.message));
    await assert.rejects(m.forward([1, 2, 3], { capture: ['blocks.0.resid_post'] }), (e: Error) => e.name === 'HookNameError' && /did you mean blocks\.0\.hook_resid_post/.test(e.message));
    await assert.rejects(m.forward([1, 2, 3], { steer: [{ layer: 0, vector: new Float32Array(m.config.dModel + 1) }] }), (e: Error) => e.name === 'SteeringError' && /width/.test(e.message));
    await assert.rejects(m.forward([1, 2, 3], { steer: [{ layer: L, vector: new Float32Array(m.config.dModel) }] }), (e: Error) => e.name === 'SteeringError');
    await assert.rejects(m.forward(Array.from({ length: m.config.nCtx + 1 }, () => 5)), (e: Error) => e.name === 'ContextLengthError');
    await assert.rejects(m.forward([1, m.config.dVocab]), /outside the vocabulary/);
    const r = await m.forward([1, 2, 3], { capture: ['blocks.-1.hook_resid_post'] });
    assert.ok(r.captures.has(`blocks.${L - 1}.hook_resid_post`), 'negative layers are shorthand');
  } finally {
    await m.dispose();
  }
});

test('a graph build that fails part-way leaves no cache entry behind, and the next build succeeds', async () => {
  const dir = fresh('partial');
  const src = await openModelSource(dir);
  const realRead = src.weights.read.bind(src.weights);
  let reads = 0;
  src.weights.read = (name: string) => {
    if (++reads > 5) throw new Error('disk went away');
    return realRead(name);
  };
  const cache = join(root, 'partial-cache');
  const m = new Model(src, { cacheDir: cache });
  await assert.rejects(m.forward([1, 2, 3]), /disk went away/);
  const graphDir = m.graphDir;
  const left = existsSync(graphDir) ? readdirSync(graphDir) : [];
  assert.deepEqual(left.filter((f) => f.endsWith('.onnx') || f.startsWith('weights.bin') || f.includes('.tmp')), []);
  src.weights.read = realRead;
  const r = await m.forward([1, 2, 3]);
  assert.equal(r.logits!.dims[2], m.config.dVocab);
  assert.ok(readdirSync(graphDir).includes('weights.bin'));
  await m.dispose();
});
