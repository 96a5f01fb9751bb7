// Statistics of the behavioural experiments: Elo by maximum likelihood recovers planted strengths
// from the win probabilities they imply (and from sampled fractional wins), symmetric inputs give
// equal ratings, Wilson intervals match published values, permutation p-values are small for a
// strong correlation and roughly uniform for noise, bootstrap intervals cover the mean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wilson } from '../src/experiments/behaviour/common.ts';
import { bootstrapCI, eloFit, eloWinProbability, linspace, permutationTest, shuffled, type Comparison } from '../src/experiments/stats.ts';
import { makeRng } from '../src/engine/sampling.ts';

function close(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tolerance ${tol})`);
}

test('Elo recovers known strengths from the exact win probabilities of all ordered pairs', () => {
  const rng = makeRng(5);
  const truth = Array.from({ length: 16 }, () => 1500 + (rng() - 0.5) * 800);
  const m = truth.reduce((s, v) => s + v, 0) / truth.length;
  const centred = truth.map((v) => v - m + 1500);
  const comps: Comparison[] = [];
  for (let a = 0; a < truth.length; a++) for (let b = 0; b < truth.length; b++) if (a !== b) comps.push({ a, b, p: eloWinProbability(truth[a]!, truth[b]!) });
  const fit = eloFit(truth.length, comps);
  assert.ok(fit.converged, `converged in ${fit.iterations} iterations`);
  fit.ratings.forEach((r, i) => close(r, centred[i]!, 0.5, `item ${i}`));
  close(fit.ratings.reduce((s, v) => s + v, 0) / fit.ratings.length, 1500, 1e-9, 'mean anchored at 1500');
  assert.deepEqual(fit.unrated, []);
});

test('Elo from noisy fractional wins (sampled games) is within a few tens of Elo, and the error bars say so', () => {
  const truth = [1300, 1400, 1500, 1600, 1700, 1500];
  const rng = makeRng(11);
  const comps: Comparison[] = [];
  for (let a = 0; a < truth.length; a++) {
    for (let b = 0; b < truth.length; b++) {
      if (a === b) continue;
      const games = 200;
      let wins = 0;
      for (let g = 0; g < games; g++) if (rng() < eloWinProbability(truth[a]!, truth[b]!)) wins++;
      comps.push({ a, b, p: wins / games, weight: games });
    }
  }
  const fit = eloFit(truth.length, comps);
  fit.ratings.forEach((r, i) => close(r, truth[i]!, 3.5 * fit.stdErr[i]!, `item ${i} (se ${fit.stdErr[i]!.toFixed(1)})`));
  assert.ok(fit.stdErr.every((s) => s > 3 && s < 30), `standard errors ${fit.stdErr.map((s) => s.toFixed(1)).join(', ')}`);
});

test('Elo: symmetric inputs give equal ratings; fractional wins of 1/2 give 1500 each; order is preserved', () => {
  const comps: Comparison[] = [];
  for (let a = 0; a < 5; a++) for (let b = 0; b < 5; b++) if (a !== b) comps.push({ a, b, p: 0.5 });
  for (const r of eloFit(5, comps).ratings) close(r, 1500, 1e-6, 'all equal');
  // A beats everyone with p = 1: the ridge keeps its rating finite and the order right.
  const dom: Comparison[] = [{ a: 0, b: 1, p: 1 }, { a: 1, b: 0, p: 0 }, { a: 0, b: 2, p: 1 }, { a: 1, b: 2, p: 0.7 }, { a: 2, b: 1, p: 0.3 }];
  const fit = eloFit(3, dom);
  assert.ok(fit.ratings.every(Number.isFinite));
  assert.ok(fit.ratings[0]! > fit.ratings[1]! && fit.ratings[1]! > fit.ratings[2]!, fit.ratings.join(', '));
  // An item with no comparisons sits at the mean and is reported.
  const lone = eloFit(4, [{ a: 0, b: 1, p: 0.8 }, { a: 1, b: 0, p: 0.2 }]);
  assert.deepEqual(lone.unrated, [2, 3]);
  assert.ok(lone.ratings[0]! > 1500 && lone.ratings[1]! < 1500);
  assert.throws(() => eloFit(2, [{ a: 0, b: 1, p: 1.2 }]), /outside \[0, 1\]/);
  assert.throws(() => eloFit(2, [{ a: 0, b: 0, p: 0.5 }]), /invalid/);
});

test('Wilson intervals match known values', () => {
  const a = wilson(22, 100);
  close(a.low, 0.15, 0.002, 'k=22 n=100 low');
  close(a.high, 0.311, 0.002, 'k=22 n=100 high');
  const b = wilson(0, 10);
  assert.equal(b.low, 0);
  close(b.high, 0.2775, 0.001, 'k=0 n=10 high');
  const c = wilson(10, 10);
  close(c.low, 0.7225, 0.001, 'k=10 n=10 low');
  close(c.high, 1, 1e-12, 'k=10 n=10 high');
});

test('permutation p-values: small for a strong correlation, about uniform for noise; seeded', () => {
  const rng = makeRng(3);
  const x = Array.from({ length: 40 }, () => rng());
  const y = x.map((v) => v + 0.2 * (rng() - 0.5));
  const strong = permutationTest(x, y, { permutations: 2000, seed: 1 });
  assert.ok(strong.r > 0.9, `r ${strong.r}`);
  assert.ok(strong.p < 0.002, `p ${strong.p}`);
  assert.deepEqual(permutationTest(x, y, { permutations: 500, seed: 4 }), permutationTest(x, y, { permutations: 500, seed: 4 }));
  const neg = permutationTest(x, y.map((v) => -v), { permutations: 2000, seed: 1, method: 'spearman' });
  assert.ok(neg.r < -0.9 && neg.p < 0.002, 'two-sided');
  // Noise: p-values of independent samples spread over (0, 1].
  const ps: number[] = [];
  for (let k = 0; k < 200; k++) {
    const a = Array.from({ length: 12 }, () => rng());
    const b = Array.from({ length: 12 }, () => rng());
    ps.push(permutationTest(a, b, { permutations: 200, seed: k }).p);
  }
  const below = (t: number) => ps.filter((p) => p <= t).length / ps.length;
  close(below(0.5), 0.5, 0.12, 'P(p <= 0.5)');
  close(below(0.2), 0.2, 0.09, 'P(p <= 0.2)');
  assert.ok(below(0.05) < 0.12, `P(p <= 0.05) = ${below(0.05)}`);
});

test('bootstrap interval covers the mean; linspace includes both ends; shuffle is a seeded permutation', () => {
  const rng = makeRng(9);
  const xs = Array.from({ length: 200 }, () => rng());
  const ci = bootstrapCI(xs, undefined, { seed: 2 });
  assert.ok(ci.low < ci.estimate && ci.estimate < ci.high);
  assert.ok(ci.low > 0.4 && ci.high < 0.6 && ci.high - ci.low > 0.04, `${ci.low} .. ${ci.high}`);
  assert.deepEqual(linspace(-0.1, 0.1, 5).map((v) => Math.round(v * 1e9) / 1e9), [-0.1, -0.05, 0, 0.05, 0.1]);
  const s = shuffled([1, 2, 3, 4, 5, 6], makeRng(1));
  assert.deepEqual([...s].sort(), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(s, shuffled([1, 2, 3, 4, 5, 6], makeRng(1)));
});
