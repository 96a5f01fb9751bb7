// Engine parity with ../shared/fixtures/arch: tiny random-weight HF models of every architecture
// with golden outputs from an independent float64 implementation (see that folder's README.md).
// Checks embeddings, every block output, final norm, logits, KV-cached greedy decoding and steering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadModel, type Model } from '../src/engine/model.ts';
import { SHARED, SKIP_SHARED, assertRowsClose } from './util/shared.ts';

const ARCHS = ['llama', 'llama/bf16', 'mistral', 'qwen2', 'qwen3', 'gemma2', 'gemma3_text', 'gpt2'];
const cacheDir = mkdtempSync(join(tmpdir(), 'limbic-fixtures-'));
const RT = 1e-4;

interface Case {
  token_ids: number[];
  embed: number[][];
  resid_post: number[][][];
  final_norm_last: number[][];
  logits: number[][];
  steer: { layer: number; scale: number; vector: number[]; logits: number[][]; resid_post_after_layers: number[]; resid_post_after: number[][][] };
  greedy_continuation?: number[];
}

async function checkCase(m: Model, c: Case, label: string): Promise<void> {
  const L = m.config.nLayers;
  const r = await m.forward(c.token_ids, { capture: ['hook_embed', 'blocks.*.hook_resid_post', 'ln_final.hook_normalized'], logits: 'all' });
  assertRowsClose(r.captures.get('hook_embed')!.data, c.embed, 1e-6, RT, `${label} embed`);
  for (let l = 0; l < L; l++) assertRowsClose(r.captures.get(`blocks.${l}.hook_resid_post`)!.data, c.resid_post[l]!, 1e-6, RT, `${label} resid_post[${l}]`);
  assertRowsClose(r.captures.get('ln_final.hook_normalized')!.data, c.final_norm_last, 1e-6, RT, `${label} final norm`);
  assertRowsClose(r.logits!.data, c.logits, 1e-5, RT, `${label} logits`);
  const s = c.steer;
  const rs = await m.forward(c.token_ids, { capture: s.resid_post_after_layers.map((l) => `blocks.${l}.hook_resid_post`), logits: 'all', steer: [{ layer: s.layer, vector: s.vector, scale: s.scale }] });
  assertRowsClose(rs.logits!.data, s.logits, 1e-5, RT, `${label} steered logits`);
  s.resid_post_after_layers.forEach((l, i) => assertRowsClose(rs.captures.get(`blocks.${l}.hook_resid_post`)!.data, s.resid_post_after[i]!, 1e-6, RT, `${label} steered resid_post[${l}]`));
}

for (const arch of ARCHS) {
  test(`fixture ${arch}: forward, steering and cached greedy decoding match the float64 reference`, { skip: SKIP_SHARED }, async () => {
    const dir = join(SHARED, 'fixtures', 'arch', arch);
    const exp = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Case & { extra_cases: Case[]; dims: { layer_types?: string[] } };
    const m = await loadModel(dir, { cacheDir });
    try {
      if (exp.dims.layer_types) assert.deepEqual(m.config.layerTypes, exp.dims.layer_types.map((t) => (t === 'sliding_attention' ? 'sliding' : 'full')));
      await checkCase(m, exp, arch);
      for (const [i, c] of exp.extra_cases.entries()) await checkCase(m, c, `${arch} extra ${i}`);
      const got: number[] = [];
      for await (const t of m.generate(exp.token_ids, { maxTokens: exp.greedy_continuation!.length, stopAtEos: false })) got.push(t.token);
      assert.deepEqual(got, exp.greedy_continuation);
    } finally {
      await m.dispose();
    }
  });
}

test('fixture llama/bf16: BF16 weights on disk are upcast and meet the float32 tolerances', { skip: SKIP_SHARED }, async () => {
  const src = join(SHARED, 'fixtures', 'arch', 'llama', 'bf16');
  const dir = mkdtempSync(join(tmpdir(), 'limbic-bf16-'));
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(src, f), join(dir, f));
  copyFileSync(join(src, 'model.bf16.safetensors'), join(dir, 'model.safetensors'));
  const header = readFileSync(join(dir, 'model.safetensors')).subarray(8, 400).toString('utf8');
  assert.match(header, /"BF16"/);
  const exp = JSON.parse(readFileSync(join(src, 'expected.json'), 'utf8')) as Case;
  const m = await loadModel(dir, { cacheDir });
  try {
    await checkCase(m, exp, 'llama/bf16 (BF16 file)');
  } finally {
    await m.dispose();
  }
});
