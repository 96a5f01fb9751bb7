// Opt-in weight quantization (MatMulNBits): the packing round-trips, and a quantized model computes
// what an fp32 model computes on the dequantized weights (so the contrib op is used as specified),
// while staying close to the fp32 original.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../src/engine/model.ts';
import { dequantizeMatrix, quantizeMatrix, type QuantSpec } from '../src/engine/quantize.ts';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../src/engine/safetensors.ts';
import { transpose2d } from '../src/engine/weights.ts';
import { writeTinyModel } from './helpers/tinyModels.ts';
import { worstExcess } from './util/shared.ts';

const root = mkdtempSync(join(tmpdir(), 'limbic-quant-'));

test('quantizeMatrix / dequantizeMatrix: 8-bit and 4-bit error bounds, ragged last block', () => {
  const K = 70;
  const N = 5;
  const w = Float32Array.from({ length: K * N }, (_, i) => Math.sin(i * 1.3) * (1 + (i % 7)));
  for (const q of [{ bits: 8, blockSize: 32 }, { bits: 4, blockSize: 16 }] as QuantSpec[]) {
    const m = quantizeMatrix(w, K, N, q);
    assert.equal(m.kBlocks, Math.ceil(K / q.blockSize));
    const back = dequantizeMatrix(m, q);
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) {
        const b = Math.floor(k / q.blockSize);
        const bound = m.scales[n * m.kBlocks + b]! / 2 + 1e-6;
        assert.ok(Math.abs(back[k * N + n]! - w[k * N + n]!) <= bound, `bits ${q.bits} k ${k} n ${n}`);
      }
    }
  }
});

/** Rewrites a tiny model's projection weights as dequantize(quantize(W)), blocks along the input axis. */
function predequantize(src: string, dst: string, q: QuantSpec): void {
  writeTinyModel('llama', src);
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(src, f), join(dst, f));
  const st = new SafetensorsFile(join(src, 'model.safetensors'));
  const cfg = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8'));
  const out: Record<string, TensorToWrite> = {};
  for (const name of st.names()) {
    const info = st.info(name)!;
    let data: Float32Array = Float32Array.from(st.read(name));
    const isProj = /proj\.weight$/.test(name) || name === 'lm_head.weight';
    if (isProj) {
      const [rows, cols] = info.shape as [number, number]; // HF [out, in]: quantize along in
      const kn = transpose2d(data, rows, cols); // [in, out]
      data = transpose2d(dequantizeMatrix(quantizeMatrix(kn, cols, rows, q), q), cols, rows);
    }
    out[name] = { dtype: 'F32', shape: info.shape, data };
  }
  st.close();
  writeSafetensors(join(dst, 'model.safetensors'), out);
  writeFileSync(join(dst, 'config.json'), JSON.stringify(cfg));
}

for (const q of [{ bits: 8, blockSize: 32 }, { bits: 4, blockSize: 32 }] as QuantSpec[]) {
  test(`MatMulNBits ${q.bits}-bit equals fp32 on the dequantized weights, and stays near the original`, async () => {
    const src = join(root, `src-${q.bits}`);
    const dst = join(root, `deq-${q.bits}`);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dst, { recursive: true });
    predequantize(src, dst, q);
    const cacheDir = join(root, 'cache');
    const quant = await loadModel(src, { cacheDir, quantize: q });
    const deq = await loadModel(dst, { cacheDir });
    const orig = await loadModel(src, { cacheDir });
    const ids = [5, 40, 77, 120, 200, 31, 9, 260];
    const a = await quant.forward(ids, { capture: ['blocks.1.hook_resid_post'] });
    const b = await deq.forward(ids, { capture: ['blocks.1.hook_resid_post'] });
    const c = await orig.forward(ids);
    const w = worstExcess(a.logits!.data, b.logits!.data, 1e-4, 1e-4);
    assert.ok(w.excess <= 0, `quantized vs dequantized-fp32 logits differ by ${w.diff}`);
    assert.ok(worstExcess(a.captures.get('blocks.1.hook_resid_post')!.data, b.captures.get('blocks.1.hook_resid_post')!.data, 1e-4, 1e-4).excess <= 0);
    let maxAbs = 0;
    let maxDiff = 0;
    c.logits!.data.forEach((v, i) => {
      maxAbs = Math.max(maxAbs, Math.abs(v));
      maxDiff = Math.max(maxDiff, Math.abs(v - a.logits!.data[i]!));
    });
    const rel = maxDiff / maxAbs;
    console.log(`# ${q.bits}-bit: max |logit - fp32| / max |logit| = ${rel.toExponential(2)}`);
    // Random tiny weights have no structure to spare, so these are loose sanity bounds.
    assert.ok(rel < (q.bits === 8 ? 0.05 : 0.6), `relative logit error ${rel}`);
    await Promise.all([quant.dispose(), deq.dispose(), orig.dispose()]);
  });
}
