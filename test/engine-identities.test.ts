// Steering and capture identities on a tiny random model: zero steering is a no-op, v and -v
// cancel, steering layer l leaves every layer below untouched, capture changes no logits,
// position masks steer only the chosen positions, batched padded prefill equals separate runs,
// capture-only (truncated) graphs equal the full graph, and seeded sampling is reproducible.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KVCache, loadModel, type Model } from '../src/engine/model.ts';
import { writeTinyModel } from './helpers/tinyModels.ts';
import { worstExcess } from './util/shared.ts';

const root = mkdtempSync(join(tmpdir(), 'limbic-ident-'));
let model: Model | null = null;
async function tiny(): Promise<Model> {
  if (!model) {
    writeTinyModel('qwen2', join(root, 'qwen2'), { chatTemplate: true });
    model = await loadModel(join(root, 'qwen2'), { cacheDir: join(root, 'cache') });
  }
  return model;
}
const ids = [5, 17, 99, 240, 31, 8, 77, 150, 12];
const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
const vec = (d: number, k: number) => Float32Array.from({ length: d }, (_, i) => Math.cos(i * k + 0.5));

test('zero steering, and v with -v, leave logits and activations bit-identical', async () => {
  const m = await tiny();
  const d = m.config.dModel;
  const base = await m.forward(ids, { capture: ['blocks.*.hook_resid_post'] });
  const zero = await m.forward(ids, { capture: ['blocks.*.hook_resid_post'], steer: [{ layer: 1, vector: new Float32Array(d), scale: 5 }] });
  const v = vec(d, 1);
  const cancel = await m.forward(ids, { capture: ['blocks.*.hook_resid_post'], steer: [{ layer: 0, vector: v, scale: 2 }, { layer: 0, vector: v, scale: -2 }] });
  for (const r of [zero, cancel]) {
    assert.ok(same(r.logits!.data, base.logits!.data));
    for (const [k, a] of base.captures) assert.ok(same(r.captures.get(k)!.data, a.data), k);
  }
});

test('steering layer l leaves layers below l untouched and changes l and above', async () => {
  const m = await tiny();
  const base = await m.forward(ids, { capture: ['blocks.*.hook_resid_post', 'blocks.*.hook_resid_mid'] });
  const l = 1;
  const s = await m.forward(ids, { capture: ['blocks.*.hook_resid_post', 'blocks.*.hook_resid_mid'], steer: [{ layer: l, vector: vec(m.config.dModel, 2), scale: 3 }] });
  for (let k = 0; k < m.config.nLayers; k++) {
    const unchanged = same(s.captures.get(`blocks.${k}.hook_resid_post`)!.data, base.captures.get(`blocks.${k}.hook_resid_post`)!.data);
    assert.equal(unchanged, k < l, `blocks.${k}.hook_resid_post ${unchanged ? 'unchanged' : 'changed'}`);
  }
  assert.ok(same(s.captures.get(`blocks.${l}.hook_resid_mid`)!.data, base.captures.get(`blocks.${l}.hook_resid_mid`)!.data), 'the steered block itself runs unchanged until its output');
  assert.ok(!same(s.logits!.data, base.logits!.data));
});

test('capturing changes no logits', async () => {
  const m = await tiny();
  const plain = await m.forward(ids);
  const captured = await m.forward(ids, { capture: ['hook_embed', 'blocks.*.hook_resid_pre', 'blocks.*.hook_attn_out', 'blocks.*.hook_mlp_out', 'ln_final.hook_normalized'] });
  assert.ok(same(plain.logits!.data, captured.logits!.data));
  assert.equal(plain.captures.size, 0);
});

test('position masks steer only the chosen positions', async () => {
  const m = await tiny();
  const d = m.config.dModel;
  const l = 0;
  const base = await m.forward(ids, { capture: [`blocks.${l}.hook_resid_post`, 'blocks.-1.hook_resid_post'] });
  const s = await m.forward(ids, { capture: [`blocks.${l}.hook_resid_post`, 'blocks.-1.hook_resid_post'], steer: [{ layer: l, vector: vec(d, 3), scale: 1.5, positions: [3, 6] }] });
  const at = (a: Float32Array, t: number) => a.subarray(t * d, (t + 1) * d);
  const b0 = base.captures.get(`blocks.${l}.hook_resid_post`)!.data;
  const s0 = s.captures.get(`blocks.${l}.hook_resid_post`)!.data;
  for (let t = 0; t < ids.length; t++) {
    const changed = !same(at(s0, t), at(b0, t));
    assert.equal(changed, t === 3 || t === 6, `position ${t}`);
    if (changed) at(s0, t).forEach((v, i) => assert.ok(Math.abs(v - at(b0, t)[i]! - 1.5 * vec(d, 3)[i]!) < 1e-5));
  }
  // Causality: positions before the first steered one are untouched at every later layer too.
  const bl = base.captures.get(`blocks.${m.config.nLayers - 1}.hook_resid_post`)!.data;
  const sl = s.captures.get(`blocks.${m.config.nLayers - 1}.hook_resid_post`)!.data;
  for (let t = 0; t < 3; t++) assert.ok(same(at(sl, t), at(bl, t)), `last layer position ${t}`);
  assert.ok(!same(at(sl, 4), at(bl, 4)));
});

test('batched prefill with padding equals separate runs', async () => {
  const m = await tiny();
  const seqs = [ids, ids.slice(0, 4), [9, 9, 30, 41, 7, 250]];
  const batched = await m.forward(seqs, { capture: ['blocks.1.hook_resid_post'], logits: 'last' });
  const d = m.config.dModel;
  const V = m.config.dVocab;
  const T = Math.max(...seqs.map((s) => s.length));
  for (const [b, s] of seqs.entries()) {
    const single = await m.forward(s, { capture: ['blocks.1.hook_resid_post'], logits: 'last' });
    const got = batched.captures.get('blocks.1.hook_resid_post')!.data.subarray(b * T * d, b * T * d + s.length * d);
    assert.ok(worstExcess(got, single.captures.get('blocks.1.hook_resid_post')!.data, 1e-6, 1e-5).excess <= 0, `row ${b} activations`);
    assert.ok(worstExcess(batched.logits!.data.subarray(b * V, (b + 1) * V), single.logits!.data, 1e-5, 1e-5).excess <= 0, `row ${b} last logits`);
  }
  assert.deepEqual(batched.lengths, [9, 4, 6]);
});

test('capture-only runs (truncated graph, no logits) equal the full graph', async () => {
  const m = await tiny();
  const full = await m.forward(ids, { capture: ['blocks.0.hook_resid_post', 'blocks.1.hook_mlp_out'] });
  const only = await m.forward(ids, { capture: ['blocks.0.hook_resid_post', 'blocks.1.hook_mlp_out'], logits: 'none' });
  assert.equal(only.logits, null);
  for (const k of ['blocks.0.hook_resid_post', 'blocks.1.hook_mlp_out']) assert.ok(worstExcess(only.captures.get(k)!.data, full.captures.get(k)!.data, 1e-6, 1e-6).excess <= 0, k);
});

test('generation: greedy equals argmax of full recompute; seeded sampling reproducible; stop strings cut', async () => {
  const m = await tiny();
  const prompt = ids.slice(0, 5);
  const greedy: number[] = [];
  for await (const t of m.generate(prompt, { maxTokens: 6, stopAtEos: false })) greedy.push(t.token);
  const seq = [...prompt];
  for (let i = 0; i < 6; i++) {
    const r = await m.forward(seq, { logits: 'last' });
    const row = r.logits!.data;
    let best = 0;
    for (let v = 1; v < row.length; v++) if (row[v]! > row[best]!) best = v;
    seq.push(best);
  }
  assert.deepEqual(greedy, seq.slice(5));
  const sample = async (seed: number) => {
    const out: number[] = [];
    for await (const t of m.generate(prompt, { maxTokens: 8, temperature: 1.5, seed, stopAtEos: false })) out.push(t.token);
    return out;
  };
  assert.deepEqual(await sample(7), await sample(7));
  assert.notDeepEqual(await sample(7), await sample(8));
  let text = '';
  let reason: string | null = null;
  const full: string[] = [];
  for await (const t of m.generate(prompt, { maxTokens: 12, temperature: 1.5, seed: 1, stopAtEos: false })) full.push(t.text);
  const joined = full.join('');
  const stop = joined.slice(3, 5);
  for await (const t of m.generate(prompt, { maxTokens: 12, temperature: 1.5, seed: 1, stopAtEos: false, stop: [stop] })) {
    text += t.text;
    reason = t.finishReason;
  }
  assert.equal(reason, 'stop');
  assert.equal(text, joined.slice(0, joined.indexOf(stop)));
});

test('chat template renders and encodes', async () => {
  const m = await tiny();
  const idsChat = m.encodeChat([{ role: 'user', content: 'hi' }]);
  const text = m.decode(idsChat);
  assert.match(text, /<\|im_start\|>user\nhi<\|im_end\|>\n<\|im_start\|>assistant\n$/);
});

test.after(async () => {
  await model?.dispose();
});

test("cached decode with logits 'none' returns no logits and advances the cache exactly as with logits", async () => {
  const m = await tiny();
  const withLogits = new KVCache();
  const without = new KVCache();
  await m.forward(ids.slice(0, 4), { cache: withLogits, logits: 'last' });
  const r0 = await m.forward(ids.slice(0, 4), { cache: without, logits: 'none', capture: ['blocks.1.hook_resid_post'] });
  assert.equal(r0.logits, null);
  assert.equal(r0.captures.get('blocks.1.hook_resid_post')!.dims[1], 4);
  for (const id of ids.slice(4, 7)) {
    const a = await m.forward([id], { cache: withLogits, logits: 'last' });
    const b = await m.forward([id], { cache: without, logits: 'none' });
    assert.ok(a.logits && b.logits === null);
  }
  const a = await m.forward([ids[7]!], { cache: withLogits, logits: 'last' });
  const b = await m.forward([ids[7]!], { cache: without, logits: 'last' });
  assert.ok(same(a.logits!.data, b.logits!.data));
  assert.deepEqual(without.lengths, [8]);
});

test('KV cache storage growth: long cached decodes (single and batched, padded) equal full recomputation', async () => {
  const m = await tiny();
  const seq = Array.from({ length: 80 }, (_, i) => (i * 37 + 11) % 250);
  // One row: prefill 5, then 75 single-token steps (storage grows several times on the way).
  const cache = new KVCache();
  let last = await m.forward(seq.slice(0, 5), { cache, logits: 'last' });
  for (let i = 5; i < seq.length; i++) last = await m.forward([seq[i]!], { cache, logits: 'last' });
  const full = await m.forward(seq, { logits: 'last' });
  assert.ok(worstExcess(last.logits!.data, full.logits!.data, 1e-4, 1e-4).excess <= 0);
  // Two rows of different lengths, right-padded prefill, then 40 steps each.
  const a = seq.slice(0, 9);
  const b = seq.slice(20, 23);
  const bc = new KVCache();
  let rb = await m.forward([a, b], { cache: bc, logits: 'last' });
  const tailA = seq.slice(40, 80);
  const tailB = seq.slice(0, 40).reverse();
  for (let i = 0; i < 40; i++) rb = await m.forward([[tailA[i]!], [tailB[i]!]], { cache: bc, logits: 'last' });
  const V = m.config.dVocab;
  const refA = await m.forward([...a, ...tailA], { logits: 'last' });
  const refB = await m.forward([...b, ...tailB], { logits: 'last' });
  assert.ok(worstExcess(rb.logits!.data.subarray(0, V), refA.logits!.data, 1e-4, 1e-4).excess <= 0, 'row a');
  assert.ok(worstExcess(rb.logits!.data.subarray(V, 2 * V), refB.logits!.data, 1e-4, 1e-4).excess <= 0, 'row b');
  assert.deepEqual(bc.lengths, [49, 43]);
});
