// Engine vs the independent float64 reference (test/reference) on tiny random-weight models of
// every supported architecture, generated here (f32, f16, bf16, sharded): prefill logits, every
// hook point, and a KV-cached decode of several steps, with and without steering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, KVCache, type Model } from '../src/engine/model.ts';
import { TINY_ARCHS, writeTinyModel, type TinyArch, type TinyModelOptions } from './helpers/tinyModels.ts';
import { loadReferenceModel, referenceForward, emptyCache } from './reference/index.ts';
import { assertRowsClose } from './util/shared.ts';

const root = mkdtempSync(join(tmpdir(), 'limbic-tiny-'));
const cacheDir = join(root, 'cache');
const RT = 1e-4;
const rows = (a: Float64Array[]) => a.map((r) => Array.from(r));

function makeIds(n: number, seed: number, vocab: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return 3 + (s % (vocab - 3));
  });
}

async function compare(arch: TinyArch, opts: TinyModelOptions, label: string): Promise<void> {
  const dir = join(root, label);
  writeTinyModel(arch, dir, opts);
  const ref = loadReferenceModel(dir);
  const m: Model = await loadModel(dir, { cacheDir });
  try {
    const L = m.config.nLayers;
    const ids = makeIds(11, L * 7 + arch.length, m.config.dVocab);
    const steerVec = Array.from({ length: m.config.dModel }, (_, i) => Math.sin(i + 1));
    for (const steer of [undefined, { layer: 1, vector: steerVec, scale: 0.7, positions: [2, 3, 4, 9] }]) {
      const tag = `${label}${steer ? ' steered' : ''}`;
      const expect = referenceForward(ref, ids, steer ? { steer: [steer] } : {});
      const got = await m.forward(ids, {
        capture: ['hook_embed', 'blocks.*.hook_resid_pre', 'blocks.*.hook_resid_mid', 'blocks.*.hook_attn_out', 'blocks.*.hook_mlp_out', 'blocks.*.hook_resid_post', 'ln_final.hook_normalized'],
        logits: 'all',
        ...(steer ? { steer: [steer] } : {}),
      });
      assertRowsClose(got.captures.get('hook_embed')!.data, rows(expect.embed), 1e-6, RT, `${tag} embed`);
      for (let l = 0; l < L; l++) {
        assertRowsClose(got.captures.get(`blocks.${l}.hook_resid_pre`)!.data, rows(expect.residPre[l]!), 1e-6, RT, `${tag} resid_pre ${l}`);
        assertRowsClose(got.captures.get(`blocks.${l}.hook_attn_out`)!.data, rows(expect.attnOut[l]!), 1e-6, RT, `${tag} attn_out ${l}`);
        assertRowsClose(got.captures.get(`blocks.${l}.hook_resid_mid`)!.data, rows(expect.residMid[l]!), 1e-6, RT, `${tag} resid_mid ${l}`);
        assertRowsClose(got.captures.get(`blocks.${l}.hook_mlp_out`)!.data, rows(expect.mlpOut[l]!), 1e-6, RT, `${tag} mlp_out ${l}`);
        assertRowsClose(got.captures.get(`blocks.${l}.hook_resid_post`)!.data, rows(expect.residPost[l]!), 1e-6, RT, `${tag} resid_post ${l}`);
      }
      assertRowsClose(got.captures.get('ln_final.hook_normalized')!.data, rows(expect.finalNorm), 1e-6, RT, `${tag} final norm`);
      assertRowsClose(got.logits!.data, rows(expect.logits), 1e-5, RT, `${tag} logits`);
    }
    // KV-cached decode: prefill 7 tokens, then 4 single steps (steering generated positions too).
    const steer = [{ layer: -1, vector: steerVec, scale: 0.3, positions: { from: 5 } }];
    const refSteer = [{ layer: -1, vector: steerVec, scale: 0.3, positions: Array.from({ length: 40 }, (_, i) => i).filter((p) => p >= 5) }];
    const cache = new KVCache();
    let refCache = emptyCache(ref);
    const chunks = [ids.slice(0, 7), [ids[7]!], [ids[8]!], [ids[9]!], [ids[10]!]];
    for (const [i, chunk] of chunks.entries()) {
      const got = await m.forward(chunk, { cache, logits: 'all', capture: ['blocks.*.hook_resid_post'], steer });
      const expect = referenceForward(ref, chunk, { cache: refCache, steer: refSteer });
      refCache = expect.cache;
      assertRowsClose(got.logits!.data, rows(expect.logits), 1e-5, RT, `${label} cached step ${i} logits`);
      for (let l = 0; l < L; l++) assertRowsClose(got.captures.get(`blocks.${l}.hook_resid_post`)!.data, rows(expect.residPost[l]!), 1e-6, RT, `${label} cached step ${i} resid_post ${l}`);
    }
    assert.equal(cache.lengths[0], 11);
  } finally {
    await m.dispose();
  }
}

for (const arch of TINY_ARCHS) {
  test(`tiny ${arch}: every hook, logits and cached decode match the float64 reference`, async () => {
    await compare(arch, {}, arch);
  });
}

test('tiny llama in float16 and bfloat16 on disk, and sharded, match the reference', async () => {
  await compare('llama', { dtype: 'float16' }, 'llama-f16');
  await compare('qwen2', { dtype: 'bfloat16' }, 'qwen2-bf16');
  await compare('gemma2', { sharded: true }, 'gemma2-sharded');
});
