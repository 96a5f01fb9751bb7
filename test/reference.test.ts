// Validates the independent float64 reference (test/reference) against golden outputs from other
// independent implementations: ../shared/fixtures/arch/*/expected.json (tolerances from that
// README: two-sided, per position, rtol 1e-4 of max|expected| + 1e-5 for logits / 1e-6 otherwise;
// plus a tight check that only the 7-significant-digit rounding of the stored values separates
// them), and ../shared/models/stories260K/reference (llama2.c checkpoint, run.c greedy text).
// Also checks identities: cached decoding and chunked prefill equal full recomputation, zero
// steering is a no-op, steering layer l leaves blocks before l untouched.
// Skips with a message when ../shared is absent (fresh clone).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  argmax,
  assertRowsClose,
  llama2cEncode,
  llama2cGreedy,
  loadLlama2cModel,
  loadLlama2cTokenizer,
  loadReferenceModel,
  maxRelDiff,
  referenceForward,
  referenceGreedy,
  type RefForwardResult,
  type RefModel,
} from './reference/index.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shared = resolve(repoRoot, '..', 'shared');
const archRoot = join(shared, 'fixtures', 'arch');
const storiesDir = join(shared, 'models', 'stories260K');
const FIXTURES = ['llama', 'llama/bf16', 'mistral', 'qwen2', 'qwen3', 'gemma2', 'gemma3_text', 'gpt2'];

// README tolerances, and the tight check: JSON rounding to 7 significant digits adds <= 5e-7 relative.
const TOL = { rtol: 1e-4, atolLogits: 1e-5, atol: 1e-6 };
const TIGHT = { rtol: 1e-6, atol: 1e-12 };

type Rows = number[][];
interface Steer {
  layer: number;
  scale: number;
  vector: number[];
  logits: Rows;
  resid_post_after_layers: number[];
  resid_post_after: Rows[];
}
interface Case {
  token_ids: number[];
  embed: Rows;
  resid_post: Rows[];
  final_norm_last: Rows;
  logits: Rows;
  steer: Steer;
  greedy_continuation?: number[];
  greedy_margins?: number[];
}
interface Expected extends Case {
  model_type: string;
  dims: { num_layers: number; hidden_size: number; vocab_size: number; head_dim: number; num_attention_heads: number; num_key_value_heads: number; layer_types: string[] };
  extra_cases: Case[];
}

function skipWithout(t: TestContext, path: string): boolean {
  if (existsSync(path)) return false;
  t.skip(`${path} not found: ../shared (read-only fixtures next to the repository) is absent`);
  return true;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Every stored tensor of a case, at README tolerance and at the tight (rounding-only) tolerance. */
function checkCase(model: RefModel, c: Case, name: string): RefForwardResult {
  const r = referenceForward(model, c.token_ids);
  for (const [rtol, atol, atolLogits, label] of [
    [TOL.rtol, TOL.atol, TOL.atolLogits, 'README tolerance'],
    [TIGHT.rtol, TIGHT.atol, TIGHT.atol, 'tight tolerance'],
  ] as const) {
    assertRowsClose(r.embed, c.embed, rtol, atol, `${name} embed (${label})`);
    c.resid_post.forEach((rows, l) => assertRowsClose(r.residPost[l]!, rows, rtol, atol, `${name} resid_post[${l}] (${label})`));
    assertRowsClose(r.finalNorm, c.final_norm_last, rtol, atol, `${name} final_norm_last (${label})`);
    assertRowsClose(r.logits, c.logits, rtol, atolLogits, `${name} logits (${label})`);
  }
  assert.equal(r.residPost.length, c.resid_post.length, `${name}: block count`);
  assert.deepEqual(r.logits.map(argmax), c.logits.map(argmax), `${name}: argmax per position`);

  // Steering at blocks.{layer}.hook_resid_post, every position.
  const s = c.steer;
  const st = referenceForward(model, c.token_ids, { steer: [{ layer: s.layer, vector: s.vector, scale: s.scale }] });
  assertRowsClose(st.logits, s.logits, TOL.rtol, TOL.atolLogits, `${name} steer logits`);
  assertRowsClose(st.logits, s.logits, TIGHT.rtol, TIGHT.atol, `${name} steer logits (tight)`);
  s.resid_post_after_layers.forEach((l, i) => {
    assertRowsClose(st.residPost[l]!, s.resid_post_after[i]!, TOL.rtol, TOL.atol, `${name} steer resid_post[${l}]`);
    assertRowsClose(st.residPost[l]!, s.resid_post_after[i]!, TIGHT.rtol, TIGHT.atol, `${name} steer resid_post[${l}] (tight)`);
  });
  for (let l = 0; l < s.layer; l++) assert.deepEqual(st.residPost[l], r.residPost[l], `${name}: steering block ${s.layer} changed block ${l}`);
  st.residPost[s.layer]!.forEach((row, t) => row.forEach((v, i) => assert.equal(v, r.residPost[s.layer]![t]![i]! + s.scale * s.vector[i]!)));
  return r;
}

for (const fixture of FIXTURES) {
  test(`reference vs fixtures/arch/${fixture}`, async (t) => {
    const dir = join(archRoot, fixture);
    if (skipWithout(t, dir)) return;
    const bf16 = fixture.endsWith('bf16');
    const model = loadReferenceModel(dir, bf16 ? { weightsFile: 'model.bf16.safetensors' } : {});
    const exp = readJson<Expected>(join(dir, 'expected.json'));

    await t.test('config and weights', () => {
      const c = model.config;
      assert.equal(c.modelType, exp.model_type);
      assert.deepEqual(
        [c.nLayers, c.dModel, c.vocabSize, c.dHead, c.nHeads, c.nKvHeads],
        [exp.dims.num_layers, exp.dims.hidden_size, exp.dims.vocab_size, exp.dims.head_dim, exp.dims.num_attention_heads, exp.dims.num_key_value_heads],
      );
      assert.deepEqual(c.layers.map((l) => l.type), exp.dims.layer_types);
      const dtypes = new Set(model.storedDtypes.values());
      assert.deepEqual([...dtypes], [bf16 ? 'BF16' : 'F32']);
      if (bf16) {
        // the directory also loads as it is: model.safetensors is an identical bf16 copy
        assert.ok(readFileSync(join(dir, 'model.safetensors')).equals(readFileSync(join(dir, 'model.bf16.safetensors'))));
      }
    });

    await t.test('primary case: embed, every resid_post, final norm, logits, steer', () => {
      checkCase(model, exp, fixture);
    });

    await t.test('extra cases', () => {
      assert.ok(exp.extra_cases.length > 0);
      exp.extra_cases.forEach((c, i) => checkCase(model, c, `${fixture} extra_cases[${i}]`));
    });

    await t.test('greedy continuation through the KV cache, and by full recomputation', () => {
      const g = referenceGreedy(model, exp.token_ids, exp.greedy_continuation!.length);
      assert.deepEqual(g.tokens, exp.greedy_continuation);
      g.margins.forEach((m, i) => assert.ok(Math.abs(m - exp.greedy_margins![i]!) <= 1e-4 + 1e-3 * Math.abs(exp.greedy_margins![i]!), `margin ${i}: ${m} vs ${exp.greedy_margins![i]}`));
      const seq = [...exp.token_ids];
      for (let s = 0; s < g.tokens.length; s++) {
        const full = referenceForward(model, seq).logits.at(-1)!;
        assert.ok(maxRelDiff([full], [g.lastLogits[s]!]) < 1e-12, `step ${s}: cached logits differ from recomputation`);
        assert.equal(argmax(full), g.tokens[s]);
        seq.push(g.tokens[s]!);
      }
    });

    await t.test('chunked prefill through the cache equals one pass', () => {
      const ids = exp.token_ids;
      const full = referenceForward(model, ids);
      const a = referenceForward(model, ids.slice(0, 5));
      const b = referenceForward(model, ids.slice(5, 9), { cache: a.cache });
      const c = referenceForward(model, ids.slice(9), { cache: b.cache });
      assert.deepEqual(c.positions, [9, 10, 11]);
      const parts = [a, b, c];
      const cat = (f: (r: RefForwardResult) => Float64Array[]) => parts.flatMap(f);
      assert.ok(maxRelDiff(cat((r) => r.logits), full.logits) < 1e-12);
      assert.ok(maxRelDiff(cat((r) => r.embed), full.embed) < 1e-12);
      for (let l = 0; l < model.config.nLayers; l++) assert.ok(maxRelDiff(cat((r) => r.residPost[l]!), full.residPost[l]!) < 1e-12, `block ${l}`);
      assert.equal(a.cache.length, 5, 'the input cache is not modified');
    });

    await t.test('zero steering is a no-op; residual decomposition adds up', () => {
      const base = referenceForward(model, exp.token_ids);
      const zero = referenceForward(model, exp.token_ids, { steer: [{ layer: 1, vector: exp.steer.vector, scale: 0 }] });
      assert.deepEqual(zero.logits, base.logits);
      for (let l = 0; l < model.config.nLayers; l++) {
        assert.deepEqual(base.residPre[l], l === 0 ? base.embed : base.residPost[l - 1]);
        base.residMid[l]!.forEach((row, p) => row.forEach((v, i) => assert.equal(v, base.residPre[l]![p]![i]! + base.attnOut[l]![p]![i]!)));
        base.residPost[l]!.forEach((row, p) => row.forEach((v, i) => assert.equal(v, base.residMid[l]![p]![i]! + base.mlpOut[l]![p]![i]!)));
      }
    });
  });
}

interface StoriesCase {
  text: string;
  token_ids: number[];
  resid_post: Rows[];
  logits_last: number[];
  argmax_per_position: number[];
}

test('reference vs stories260K (llama2.c checkpoint)', async (t) => {
  if (skipWithout(t, storiesDir)) return;
  const model = loadLlama2cModel(join(storiesDir, 'stories260K.bin'));
  const tok = loadLlama2cTokenizer(join(storiesDir, 'tok512.bin'), model.config.vocabSize);
  const ref = readJson<{ config: Record<string, number | boolean>; cases: StoriesCase[] }>(join(storiesDir, 'reference', 'resid_post.json'));

  await t.test('header', () => {
    const c = model.config;
    assert.deepEqual(
      { dim: c.dModel, hidden_dim: c.dMlp, n_layers: c.nLayers, n_heads: c.nHeads, n_kv_heads: c.nKvHeads, vocab_size: c.vocabSize, max_seq_len: c.maxPositions, tied: c.tieEmbeddings },
      { dim: ref.config.dim, hidden_dim: ref.config.hidden_dim, n_layers: ref.config.n_layers, n_heads: ref.config.n_heads, n_kv_heads: ref.config.n_kv_heads, vocab_size: ref.config.vocab_size, max_seq_len: ref.config.max_seq_len, tied: ref.config.tied_embeddings },
    );
  });

  await t.test('resid_post (1e-4), last logits (1e-3), argmax per position, tokenizer', () => {
    for (const c of ref.cases) {
      assert.deepEqual(llama2cEncode(tok, c.text, true, false), c.token_ids, `encode ${JSON.stringify(c.text)}`);
      const r = referenceForward(model, c.token_ids);
      c.resid_post.forEach((rows, l) => assertRowsClose(r.residPost[l]!, rows, 1e-4, 1e-6, `${c.text}: resid_post[${l}]`));
      assertRowsClose([r.logits.at(-1)!], [c.logits_last], 1e-3, 1e-5, `${c.text}: last logits`);
      assert.deepEqual(r.logits.map(argmax), c.argmax_per_position, `${c.text}: argmax`);
    }
  });

  await t.test('one-token decoding through the cache equals one pass', () => {
    const ids = ref.cases[1]!.token_ids;
    const full = referenceForward(model, ids);
    let cache = undefined;
    for (let p = 0; p < ids.length; p++) {
      const step = referenceForward(model, [ids[p]!], { cache });
      cache = step.cache;
      assert.deepEqual(step.positions, [p]);
      assert.ok(maxRelDiff(step.logits, [full.logits[p]!]) < 1e-12, `position ${p}`);
      assert.ok(maxRelDiff(step.residPost.at(-1)!, [full.residPost.at(-1)![p]!]) < 1e-12, `position ${p}`);
    }
  });

  await t.test('greedy.json: run.c greedy text (token ids through the llama2.c tokenizer)', () => {
    const greedy = readJson<{ cases: { prompt: string; steps: number; text: string }[] }>(join(storiesDir, 'reference', 'greedy.json'));
    assert.ok(greedy.cases.length > 0);
    for (const c of greedy.cases) {
      const out = llama2cGreedy(model, tok, c.prompt, c.steps);
      assert.equal(out.text, c.text, `${JSON.stringify(c.prompt)}, ${c.steps} steps`);
    }
  });
});
