// Sampling: the lazy-heap sampler against a naive reference that sorts the whole row (the textbook
// algorithm), on many seeded draws with ties, top-k and top-p; and its draw frequencies against the
// exact softmax probabilities.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeRng, sampleToken, type SamplingOptions } from '../src/engine/sampling.ts';

/** Reference: sort every index by logit (ties by index), cut top-k, softmax, cut top-p, draw. */
function naiveSample(logits: number[], opts: SamplingOptions, u: number): number {
  const T = opts.temperature!;
  let idx = logits.map((_, i) => i).sort((a, b) => logits[b]! - logits[a]! || a - b);
  if (opts.topK && opts.topK > 0 && opts.topK < idx.length) idx = idx.slice(0, opts.topK);
  const w = idx.map((i) => Math.exp((logits[i]! - logits[idx[0]!]!) / T));
  let total = w.reduce((a, b) => a + b, 0);
  let p = w.map((x) => x / total);
  if (opts.topP !== undefined && opts.topP > 0 && opts.topP < 1) {
    let cum = 0;
    let keep = 0;
    while (keep < p.length) {
      cum += p[keep]!;
      keep++;
      if (cum >= opts.topP) break;
    }
    idx = idx.slice(0, keep);
    total = p.slice(0, keep).reduce((a, b) => a + b, 0);
    p = p.slice(0, keep).map((x) => x / total);
  }
  let r = u;
  for (let i = 0; i < p.length; i++) {
    r -= p[i]!;
    if (r <= 0) return idx[i]!;
  }
  return idx[idx.length - 1]!;
}

test('sampler draws what the full-sort reference draws (ties, top-k, top-p)', () => {
  const gen = makeRng(12345);
  const settings: SamplingOptions[] = [
    { temperature: 1 },
    { temperature: 0.7, topK: 5 },
    { temperature: 1.3, topP: 0.9 },
    { temperature: 0.9, topK: 20, topP: 0.5 },
    { temperature: 2, topK: 1 },
  ];
  let draws = 0;
  for (let trial = 0; trial < 400; trial++) {
    const V = 2 + Math.floor(gen() * 60);
    // Rounded logits give plenty of ties.
    const logits = Array.from({ length: V }, () => Math.round((gen() * 8 - 4) * 2) / 2);
    for (const opts of settings) {
      const seed = Math.floor(gen() * 1e9);
      const ours = sampleToken(Float32Array.from(logits), opts, makeRng(seed));
      const ref = naiveSample(logits, opts, makeRng(seed)());
      assert.equal(ours, ref, `V=${V} ${JSON.stringify(opts)} seed=${seed}`);
      draws++;
    }
  }
  assert.equal(draws, 2000);
});

test('sampler frequencies match softmax(logits / T) within sampling error', () => {
  const logits = Float32Array.from([2, 1, 0.5, 0, -1, -3]);
  const T = 0.8;
  const w = Array.from(logits, (x) => Math.exp(x / T));
  const Z = w.reduce((a, b) => a + b, 0);
  const counts = new Array<number>(logits.length).fill(0);
  const rng = makeRng(7);
  const N = 20000;
  for (let i = 0; i < N; i++) counts[sampleToken(logits, { temperature: T }, rng)]!++;
  for (let i = 0; i < logits.length; i++) {
    const p = w[i]! / Z;
    const sd = Math.sqrt((p * (1 - p)) / N);
    assert.ok(Math.abs(counts[i]! / N - p) < 5 * sd + 1e-9, `token ${i}: ${counts[i]! / N} vs ${p}`);
  }
});

test('greedy is argmax; top-k 1 is argmax at any temperature; top-p keeps the smallest top set', () => {
  const logits = Float32Array.from([0.1, 3, 2.9, -1]);
  assert.equal(sampleToken(logits, { temperature: 0 }, makeRng(1)), 1);
  for (let s = 0; s < 50; s++) assert.equal(sampleToken(logits, { temperature: 5, topK: 1 }, makeRng(s)), 1);
  // p(1) ~ 0.5, p(2) ~ 0.45 at T = 1: top-p 0.3 keeps token 1 only, top-p 0.9 keeps 1 and 2.
  for (let s = 0; s < 50; s++) assert.equal(sampleToken(logits, { temperature: 1, topP: 0.3 }, makeRng(s)), 1);
  const seen = new Set<number>();
  for (let s = 0; s < 200; s++) seen.add(sampleToken(logits, { temperature: 1, topP: 0.9 }, makeRng(s)));
  assert.deepEqual([...seen].sort(), [1, 2]);
});
