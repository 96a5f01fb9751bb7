// Tests of the tiny random-weight model generator (test/helpers/tinyModels.ts) through the float64
// reference (test/reference): every architecture loads and means what its config says; float16,
// bfloat16 and sharded variants load with the same weights up to rounding; KV-cached decoding equals
// recomputation; activations stay O(1) and greedy margins are visible; the tokenizer files load in
// @huggingface/tokenizers and the ChatML template renders; the files are deterministic.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { encodeSafetensors, toBf16Bits, toHalfBits, TINY_ARCHS, TINY_VOCAB_SIZE, writeTinyModel, type SafetensorsEntry, type TinyArch } from './helpers/tinyModels.ts';
import { argmax, bf16BitsToNumber, halfBitsToNumber, loadReferenceModel, maxRelDiff, readSafetensors, referenceForward, referenceGreedy, type RefModel } from './reference/index.ts';

const root = mkdtempSync(join(tmpdir(), 'limbic-tiny-'));
after(() => rmSync(root, { recursive: true, force: true }));

const PROMPT = [1, 45, 283, 17, 260, 99, 3, 311, 128, 72, 200, 57]; // the fixtures' primary case
const S = 'sliding_attention';
const F = 'full_attention';

/** What each architecture's config must mean, as the reference reads it. */
const EXPECT: Record<TinyArch, { modelType: string; tied: boolean; layers: number; dHead: number; kv: number; types: string[]; window: number | null; qkNorm: boolean; qkvBias: boolean }> = {
  llama: { modelType: 'llama', tied: false, layers: 3, dHead: 16, kv: 2, types: [F, F, F], window: null, qkNorm: false, qkvBias: false },
  llama2: { modelType: 'llama', tied: false, layers: 2, dHead: 16, kv: 2, types: [F, F], window: null, qkNorm: false, qkvBias: false },
  smollm2: { modelType: 'llama', tied: true, layers: 3, dHead: 8, kv: 2, types: [F, F, F], window: null, qkNorm: false, qkvBias: false },
  mistral: { modelType: 'mistral', tied: false, layers: 3, dHead: 16, kv: 2, types: [S, S, S], window: 4, qkNorm: false, qkvBias: false },
  qwen2: { modelType: 'qwen2', tied: true, layers: 3, dHead: 16, kv: 2, types: [F, F, F], window: null, qkNorm: false, qkvBias: true },
  qwen3: { modelType: 'qwen3', tied: true, layers: 3, dHead: 32, kv: 2, types: [F, F, F], window: null, qkNorm: true, qkvBias: false },
  gemma2: { modelType: 'gemma2', tied: true, layers: 4, dHead: 16, kv: 2, types: [S, F, S, F], window: 4, qkNorm: false, qkvBias: false },
  gemma3_text: { modelType: 'gemma3_text', tied: true, layers: 4, dHead: 32, kv: 2, types: [S, S, F, S], window: 4, qkNorm: true, qkvBias: false },
  gpt2: { modelType: 'gpt2', tied: true, layers: 3, dHead: 16, kv: 4, types: [F, F, F], window: null, qkNorm: false, qkvBias: true },
};

function rms(rows: Float64Array[]): number {
  let s = 0;
  let n = 0;
  for (const r of rows) for (const v of r) (s += v * v), n++;
  return Math.sqrt(s / n);
}

/** Flattened weights of a loaded model, for element-wise comparisons across dtypes. */
function allWeights(m: RefModel): Float64Array[] {
  const w = m.weights;
  const out = [w.embed, w.lmHead, w.finalNorm.weight];
  for (const l of w.layers) for (const lin of [l.q, l.k, l.v, l.o, l.up, l.down, l.gate]) if (lin) out.push(lin.weight);
  return out;
}

test('TINY_ARCHS lists the nine tiny architectures', () => {
  assert.deepEqual([...TINY_ARCHS], ['llama', 'llama2', 'smollm2', 'mistral', 'qwen2', 'qwen3', 'gemma2', 'gemma3_text', 'gpt2']);
});

for (const arch of TINY_ARCHS) {
  test(`tiny ${arch}`, async (t) => {
    const dir = join(root, arch);
    const info = writeTinyModel(arch, dir);
    const model = loadReferenceModel(dir);
    const exp = EXPECT[arch];

    await t.test('files, config and tensor names', () => {
      for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
        assert.ok(existsSync(join(dir, f)), f);
        assert.ok(info.files.includes(f), f);
      }
      const c = model.config;
      assert.equal(c.modelType, exp.modelType);
      assert.equal(c.dModel, 64);
      assert.equal(c.vocabSize, TINY_VOCAB_SIZE);
      assert.equal(c.tieEmbeddings, exp.tied);
      assert.equal(c.nLayers, exp.layers);
      assert.equal(c.dHead, exp.dHead);
      assert.equal(c.nKvHeads, exp.kv);
      assert.equal(c.qkNorm, exp.qkNorm);
      assert.equal(c.bias.qkv, exp.qkvBias);
      assert.deepEqual(c.layers.map((l) => l.type), exp.types);
      for (const l of c.layers) assert.equal(l.window, l.type === S ? exp.window : null);
      const names = [...readSafetensors(join(dir, 'model.safetensors')).keys()];
      assert.equal(names.includes('lm_head.weight'), !exp.tied, 'tied models omit lm_head.weight');
      if (arch === 'gpt2') assert.ok(names.every((n) => n.startsWith('transformer.')));
      else assert.ok(names.every((n) => n.startsWith('model.') || n === 'lm_head.weight'));
      assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).torch_dtype, 'float32');
    });

    await t.test('activations O(1), logits spread, greedy margins visible', () => {
      const r = referenceForward(model, PROMPT);
      for (const rows of [r.embed, ...r.residPost]) {
        const v = rms(rows);
        assert.ok(v > 0.05 && v < 5, `stream rms ${v}`);
      }
      const lg = r.logits.flatMap((x) => [...x]);
      assert.ok(lg.every(Number.isFinite));
      const mean = lg.reduce((a, b) => a + b, 0) / lg.length;
      const std = Math.sqrt(lg.reduce((a, b) => a + (b - mean) ** 2, 0) / lg.length);
      assert.ok(std > 0.8 && std < 5, `logit std ${std}`);
      assert.ok(new Set(r.logits.map(argmax)).size >= 4, 'argmax varies across positions');
      const g = referenceGreedy(model, PROMPT, 5);
      assert.ok(Math.min(...g.margins) >= 0.2, `greedy margins ${g.margins.map((m) => m.toFixed(3))}`);
    });

    await t.test('cached decode and chunked prefill equal recomputation', () => {
      const g = referenceGreedy(model, PROMPT, 4);
      const seq = [...PROMPT];
      for (let s = 0; s < g.tokens.length; s++) {
        const full = referenceForward(model, seq);
        assert.ok(maxRelDiff([full.logits.at(-1)!], [g.lastLogits[s]!]) < 1e-12, `step ${s}`);
        seq.push(g.tokens[s]!);
      }
      const full = referenceForward(model, seq);
      const a = referenceForward(model, seq.slice(0, 7));
      const b = referenceForward(model, seq.slice(7), { cache: a.cache });
      assert.ok(maxRelDiff([...a.logits, ...b.logits], full.logits) < 1e-12);
      for (let l = 0; l < exp.layers; l++) assert.ok(maxRelDiff([...a.residPost[l]!, ...b.residPost[l]!], full.residPost[l]!) < 1e-12);
    });

    await t.test('float16 / bfloat16 / sharded variants hold the same weights up to rounding', () => {
      const base = allWeights(model);
      const baseLogits = referenceForward(model, PROMPT).logits;
      for (const [dtype, st, relStep, logitTol] of [['float16', 'F16', 2 ** -11, 0.02], ['bfloat16', 'BF16', 2 ** -8, 0.1]] as const) {
        for (const sharded of [false, true]) {
          const vdir = join(root, `${arch}-${dtype}-${sharded ? 'sharded' : 'single'}`);
          const vinfo = writeTinyModel(arch, vdir, { dtype, sharded });
          assert.equal(JSON.parse(readFileSync(join(vdir, 'config.json'), 'utf8')).torch_dtype, dtype);
          if (sharded) {
            assert.ok(!existsSync(join(vdir, 'model.safetensors')));
            assert.deepEqual(vinfo.files.filter((f) => f.endsWith('.safetensors')), ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
            const index = JSON.parse(readFileSync(join(vdir, 'model.safetensors.index.json'), 'utf8'));
            assert.equal(new Set(Object.values(index.weight_map)).size, 2);
          }
          const m = loadReferenceModel(vdir);
          assert.deepEqual(new Set(m.storedDtypes.values()), new Set([st]));
          allWeights(m).forEach((w, i) => {
            const b = base[i]!;
            const bad = b.findIndex((v, j) => !(Math.abs(w[j]! - v) <= relStep * Math.abs(v) + 2 ** -25));
            assert.equal(bad, -1, `${dtype} weight ${i}[${bad}]: ${w[bad]} vs ${b[bad]}`);
          });
          const rel = maxRelDiff(referenceForward(m, PROMPT).logits, baseLogits);
          assert.ok(rel < logitTol, `${dtype} logits differ from float32 by ${rel}`);
        }
      }
      const sdir = join(root, `${arch}-f32-sharded`);
      writeTinyModel(arch, sdir, { sharded: true });
      assert.deepEqual(referenceForward(loadReferenceModel(sdir), PROMPT).logits, baseLogits, 'sharded float32 = single file');
    });

    await t.test('deterministic files; the seed changes the weights', () => {
      const again = join(root, `${arch}-again`);
      writeTinyModel(arch, again);
      for (const f of info.files) assert.ok(readFileSync(join(dir, f)).equals(readFileSync(join(again, f))), f);
      const other = join(root, `${arch}-seed`);
      writeTinyModel(arch, other, { seed: 12345 });
      assert.ok(!readFileSync(join(dir, 'model.safetensors')).equals(readFileSync(join(other, 'model.safetensors'))));
    });
  });
}

test('sliding windows: a query sees exactly the last W positions', () => {
  for (const arch of ['mistral', 'gemma2', 'gemma3_text'] as const) {
    const m = loadReferenceModel(join(root, arch));
    const W = m.config.layers[0]!.window!;
    assert.equal(W, 4);
    const a = referenceForward(m, PROMPT).residPost[0]!;
    const b = referenceForward(m, [7, ...PROMPT.slice(1)]).residPost[0]!;
    for (let p = 1; p < PROMPT.length; p++) {
      const changed = maxRelDiff([a[p]!], [b[p]!]) > 1e-9;
      assert.equal(changed, p < W, `${arch} block 0 position ${p}`);
    }
  }
});

test('steering: absolute positions, negative layers, causality, cache', () => {
  const m = loadReferenceModel(join(root, 'qwen3'));
  const L = m.config.nLayers;
  const vector = Array.from({ length: 64 }, (_, i) => Math.sin(i));
  const base = referenceForward(m, PROMPT);
  const st = referenceForward(m, PROMPT, { steer: [{ layer: -2, vector, scale: 3, positions: [5] }] });
  for (let l = 0; l < L - 2; l++) assert.deepEqual(st.residPost[l], base.residPost[l]);
  for (let p = 0; p < 5; p++) assert.deepEqual(st.logits[p], base.logits[p], `position ${p} precedes the steered one`);
  st.residPost[L - 2]![5]!.forEach((v, i) => assert.equal(v, base.residPost[L - 2]![5]![i]! + 3 * vector[i]!));
  assert.ok(maxRelDiff([st.logits[5]!], [base.logits[5]!]) > 1e-3);
  // through the cache, positions stay absolute: steering position 5 in the second chunk
  const a = referenceForward(m, PROMPT.slice(0, 4), { steer: [{ layer: L - 2, vector, scale: 3, positions: [5] }] });
  assert.deepEqual(a.logits, base.logits.slice(0, 4));
  const b = referenceForward(m, PROMPT.slice(4), { cache: a.cache, steer: [{ layer: L - 2, vector, scale: 3, positions: [5] }] });
  assert.ok(maxRelDiff(b.logits, st.logits.slice(4)) < 1e-12);
  assert.throws(() => referenceForward(m, PROMPT, { steer: [{ layer: L, vector, scale: 1 }] }), /out of range/);
  assert.throws(() => referenceForward(m, PROMPT, { steer: [{ layer: 0, vector: [1, 2], scale: 1 }] }), /vector \[2\]/);
});

test('float16 / bfloat16 rounding: round to nearest even, matches the fixtures\' bf16 weights', (t) => {
  const cases: [number, number][] = [
    [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [65504, 0x7bff], [65520, 0x7c00], [2 ** -24, 0x0001], [2 ** -25, 0x0000],
    [1.5 * 2 ** -25, 0x0001], [3 * 2 ** -25, 0x0002], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [2 ** -14, 0x0400],
  ];
  for (const [x, bits] of cases) assert.equal(toHalfBits(x), bits, `half(${x})`);
  const decoded: [number, number][] = [[0x3c02, 1 + 2 ** -9], [0x0001, 2 ** -24], [0x7bff, 65504], [0xc000, -2], [0x7c00, Infinity], [0x0400, 2 ** -14]];
  for (const [bits, x] of decoded) assert.equal(halfBitsToNumber(bits), x, `half bits ${bits.toString(16)}`);
  assert.equal(toBf16Bits(1 + 2 ** -8), 0x3f80); // tie -> even
  assert.equal(toBf16Bits(1 + 3 * 2 ** -8), 0x3f82);
  assert.equal(bf16BitsToNumber(0x3f82), 1 + 2 ** -6);
  const shared = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'fixtures', 'arch', 'llama');
  if (!existsSync(shared)) {
    t.skip(`${shared} not found: ../shared is absent, skipping the comparison with the fixtures' bf16 file`);
    return;
  }
  const f32 = readSafetensors(join(shared, 'model.safetensors'));
  const bf16 = readSafetensors(join(shared, 'bf16', 'model.bf16.safetensors'));
  for (const [name, tensor] of f32) {
    const ours = tensor.data.map((v) => bf16BitsToNumber(toBf16Bits(v)));
    assert.deepEqual(ours, bf16.get(name)!.data, name);
  }
});

test('gpt2: the original checkpoint layout (no transformer. prefix, attn.bias buffers) loads the same', () => {
  const dir = join(root, 'gpt2');
  const plain = join(root, 'gpt2-plain');
  writeTinyModel('gpt2', plain);
  const entries = [...readSafetensors(join(dir, 'model.safetensors'))].map(([name, t]) => ({ name: name.replace(/^transformer\./, ''), shape: t.shape, values: t.data }));
  const mask = new Float64Array(256 * 256).map((_, i) => (i % 256 <= Math.floor(i / 256) ? 1 : 0));
  for (let l = 0; l < 3; l++) entries.push({ name: `h.${l}.attn.bias`, shape: [1, 1, 256, 256], values: mask });
  writeFileSync(join(plain, 'model.safetensors'), encodeSafetensors(entries));
  assert.deepEqual(referenceForward(loadReferenceModel(plain), PROMPT).logits, referenceForward(loadReferenceModel(dir), PROMPT).logits);
});

test('loader rejects missing, misshapen and unknown tensors', () => {
  const dir = join(root, 'broken');
  writeTinyModel('qwen3', dir);
  const good: SafetensorsEntry[] = [...readSafetensors(join(dir, 'model.safetensors'))].map(([name, t]) => ({ name, shape: t.shape, values: t.data }));
  const write = (entries: SafetensorsEntry[]) => writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(entries));
  write(good.filter((e) => e.name !== 'model.layers.1.self_attn.k_norm.weight'));
  assert.throws(() => loadReferenceModel(dir), /missing tensor model\.layers\.1\.self_attn\.k_norm\.weight/);
  write(good.map((e) => (e.name === 'model.norm.weight' ? { ...e, shape: [1, 64] } : e)));
  assert.throws(() => loadReferenceModel(dir), /model\.norm\.weight has shape \[1,64\], expected \[64\]/);
  write([...good, { name: 'model.layers.0.extra.weight', shape: [2], values: [1, 2] }]);
  assert.throws(() => loadReferenceModel(dir), /unused tensors: model\.layers\.0\.extra\.weight/);
});

test('tokenizer files load in @huggingface/tokenizers; ChatML template renders', () => {
  const chatDir = join(root, 'smollm2-chat');
  writeTinyModel('smollm2', chatDir, { chatTemplate: true });
  const tj = JSON.parse(readFileSync(join(chatDir, 'tokenizer.json'), 'utf8'));
  const tc = JSON.parse(readFileSync(join(chatDir, 'tokenizer_config.json'), 'utf8'));
  assert.equal(Object.keys(tj.model.vocab).length, TINY_VOCAB_SIZE);
  assert.equal(new Set(Object.values(tj.model.vocab)).size, TINY_VOCAB_SIZE, 'ids are unique');
  assert.equal(tj.model.vocab['Ā'], 3, 'byte 0 is id 3');
  assert.equal(tj.model.vocab['!'], 36, 'byte 33 is id 36');
  const tok = new Tokenizer(tj, tc);
  const text = 'The dog went to the sea, happy! 2024 é';
  const ids: number[] = tok.encode(text).ids;
  assert.ok(ids.length < Buffer.byteLength(text), 'merges apply');
  assert.ok(ids.every((id) => id >= 3 && id < TINY_VOCAB_SIZE));
  assert.equal(tok.decode(ids), text);
  const prompt = new Template(tc.chat_template).render({ messages: [{ role: 'user', content: 'Hi' }], add_generation_prompt: true });
  assert.equal(prompt, '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
  const chatIds: number[] = tok.encode(prompt).ids;
  assert.equal(chatIds[0], 318);
  assert.ok(chatIds.includes(319));
  assert.equal(tc.eos_token, '<|im_end|>');
  assert.deepEqual(JSON.parse(readFileSync(join(chatDir, 'generation_config.json'), 'utf8')).eos_token_id, [2, 319]);
  // the chat ids run through the model
  assert.equal(referenceForward(loadReferenceModel(chatDir), chatIds).logits.length, chatIds.length);

  const plainTc = JSON.parse(readFileSync(join(root, 'smollm2', 'tokenizer_config.json'), 'utf8'));
  const plainTj = JSON.parse(readFileSync(join(root, 'smollm2', 'tokenizer.json'), 'utf8'));
  assert.equal(plainTc.chat_template, undefined);
  assert.deepEqual(plainTj.added_tokens.map((a: { content: string }) => a.content), ['<|endoftext|>', '<s>', '</s>']);
  assert.equal(new Tokenizer(plainTj, plainTc).decode(new Tokenizer(plainTj, plainTc).encode(text).ids), text);
});
