// Engine parity on a real pretrained model: ../shared/models/stories260K (llama2.c format) against
// the reference outputs of two independent implementations: llama2.c's run.c (greedy text) and a
// float64 forward (residual stream after every block, last-position logits, argmax per position).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../src/engine/model.ts';
import { argmax } from '../src/engine/sampling.ts';
import { SHARED, SKIP_SHARED } from './util/shared.ts';

const dir = join(SHARED, 'models', 'stories260K');
const cacheDir = mkdtempSync(join(tmpdir(), 'limbic-260k-'));

test('stories260K: residuals within 1e-4, logits within 1e-3, argmax identical, tokenizer ids identical', { skip: SKIP_SHARED }, async () => {
  const ref = JSON.parse(readFileSync(join(dir, 'reference', 'resid_post.json'), 'utf8')) as {
    cases: { text: string; token_ids: number[]; resid_post: number[][][]; logits_last: number[]; argmax_per_position: number[] }[];
  };
  const m = await loadModel(join(dir, 'stories260K.bin'), { cacheDir });
  try {
    for (const c of ref.cases) {
      assert.deepEqual(m.encode(c.text), c.token_ids, `token ids of "${c.text}"`);
      const r = await m.forward(c.token_ids, { capture: ['blocks.*.hook_resid_post'], logits: 'all' });
      const T = c.token_ids.length;
      const V = m.config.dVocab;
      for (let l = 0; l < m.config.nLayers; l++) {
        const got = r.captures.get(`blocks.${l}.hook_resid_post`)!.data;
        c.resid_post[l]!.flat().forEach((e, i) => assert.ok(Math.abs(got[i]! - e) <= 1e-4, `block ${l} value ${i}: ${got[i]} vs ${e}`));
      }
      const last = r.logits!.data.subarray((T - 1) * V, T * V);
      c.logits_last.forEach((e, i) => assert.ok(Math.abs(last[i]! - e) <= 1e-3, `logit ${i}: ${last[i]} vs ${e}`));
      const am = Array.from({ length: T }, (_, t) => argmax(r.logits!.data.subarray(t * V, (t + 1) * V)));
      assert.deepEqual(am, c.argmax_per_position);
    }
  } finally {
    await m.dispose();
  }
});

test('stories260K: greedy continuations reproduce llama2.c run.c token for token', { skip: SKIP_SHARED }, async () => {
  const ref = JSON.parse(readFileSync(join(dir, 'reference', 'greedy.json'), 'utf8')) as { cases: { prompt: string; steps: number; text: string }[] };
  const m = await loadModel(join(dir, 'stories260K.bin'), { cacheDir });
  try {
    for (const c of ref.cases) {
      const prompt = m.encode(c.prompt);
      // run.c forwards positions 0..steps-1 (BOS and prompt included), printing the token each one
      // predicts, so the sequence ends at position `steps`; it stops early at BOS (id 1).
      const tokens = [...prompt];
      for await (const t of m.generate(prompt, { maxTokens: c.steps + 1 - prompt.length, stopAtEos: false })) {
        if (t.token === 1) break;
        tokens.push(t.token);
      }
      const text = `${m.decode(tokens)}\n`;
      assert.equal(text, c.text, `prompt "${c.prompt}" steps ${c.steps}`);
    }
  } finally {
    await m.dispose();
  }
});

test('stories260K tokenizer: the fast merge loop equals the run.c-style reference encoder on corpus texts', { skip: SKIP_SHARED }, async () => {
  const { loadLlama2cTokenizer, llama2cEncode } = await import('./reference/index.ts');
  const { Llama2cTokenizer } = await import('../src/engine/tokenizer.ts');
  const ref = loadLlama2cTokenizer(join(dir, 'tok512.bin'), 512);
  const fast = Llama2cTokenizer.fromFile(join(dir, 'tok512.bin'), 512);
  const { loadDefaultCorpus } = await import('../src/experiments/corpus.ts');
  const texts = loadDefaultCorpus({ split: 'all' }).records.filter((_, i) => i % 37 === 0).map((r) => r.text);
  texts.push('', 'a', '  two  spaces ', 'ünïcödé → 漢字 🙂', 'Once upon a time');
  for (const t of texts) assert.deepEqual(fast.encode(t), llama2cEncode(ref, t, true, false), JSON.stringify(t.slice(0, 40)));
});
