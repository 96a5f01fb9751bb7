// Statistics for the behavioural experiments (SPEC.md section 4):
// - Elo ratings by maximum likelihood from pairwise win probabilities: the Bradley-Terry model on the
//   logistic scale, P(a beats b) = 1 / (1 + 10^((R_b - R_a) / 400)), i.e. 400 / ln 10 Elo per logit,
//   as in Chatbot Arena's MLE Elo. Fractional wins (a probability per comparison) are allowed. Fit by
//   Newton's method with a step-halving line search on the log-likelihood plus a tiny ridge on the
//   logits (it makes the optimum unique and finite when an item never loses, and pins the mean to 0,
//   i.e. Elo 1500; its pull is negligible next to the information of a few comparisons).
// - Two-sided permutation p-values for a Pearson or Spearman correlation (seeded).
// - Percentile bootstrap intervals (seeded) and a seeded Fisher-Yates shuffle.
// Wilson intervals for rates live in behaviour/common.ts.
import { makeRng } from '../engine/sampling.ts';
import { LimbicError } from '../engine/errors.ts';
import { pearson, ranks } from '../vectors/math.ts';

export class StatsError extends LimbicError {}

/** Elo points per logit of win odds. */
export const ELO_PER_LOGIT = 400 / Math.LN10;

/** One comparison: item `a` beat item `b` with probability `p` (a fractional win), counted `weight` times. */
export interface Comparison {
  a: number;
  b: number;
  p: number;
  weight?: number;
}

export interface EloOptions {
  /** Mean rating (default 1500). */
  base?: number;
  /** Ridge on the logits, in games' worth of curvature (default 1e-3). */
  prior?: number;
  maxIter?: number;
  /** Stop when the largest logit step is below this (default 1e-10). */
  tol?: number;
}

export interface EloFit {
  /** Ratings, mean `base`. */
  ratings: number[];
  /** Approximate standard errors (Elo), treating each comparison as `weight` independent games. */
  stdErr: number[];
  /** Items with no comparison (their rating is the mean). */
  unrated: number[];
  iterations: number;
  converged: boolean;
  /** Log-likelihood of the comparisons at the optimum (without the ridge term). */
  logLik: number;
}

function logSigmoid(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** In-place Cholesky of a symmetric positive-definite [n, n] matrix (lower triangle). */
function cholesky(a: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let k = 0; k < j; k++) d -= a[j * n + k]! ** 2;
    if (!(d > 0)) throw new StatsError(`Elo fit: the information matrix is not positive definite (pivot ${j}: ${d})`);
    const l = Math.sqrt(d);
    a[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= a[i * n + k]! * a[j * n + k]!;
      a[i * n + j] = s / l;
    }
  }
}

/** Solves L L^T x = b with the factor from cholesky(). */
function cholSolve(l: Float64Array, n: number, b: Float64Array): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * y[k]!;
    y[i] = s / l[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k]!;
    x[i] = s / l[i * n + i]!;
  }
  return x;
}

/**
 * Maximum-likelihood Elo ratings of `n` items from pairwise comparisons with fractional wins.
 * @example
 * const fit = eloFit(3, [{ a: 0, b: 1, p: 0.76 }, { a: 1, b: 2, p: 0.76 }, { a: 0, b: 2, p: 0.91 }]);
 * fit.ratings; // about [1700, 1500, 1300]
 */
export function eloFit(n: number, comparisons: readonly Comparison[], opts: EloOptions = {}): EloFit {
  if (!Number.isInteger(n) || n < 1) throw new StatsError(`Elo fit needs at least one item, got ${n}`);
  const base = opts.base ?? 1500;
  const lambda = opts.prior ?? 1e-3;
  const maxIter = opts.maxIter ?? 100;
  const tol = opts.tol ?? 1e-10;
  if (!(lambda > 0)) throw new StatsError(`Elo prior must be positive, got ${lambda}`);
  const seen = new Uint8Array(n);
  for (const c of comparisons) {
    if (!Number.isInteger(c.a) || !Number.isInteger(c.b) || c.a < 0 || c.b < 0 || c.a >= n || c.b >= n || c.a === c.b) {
      throw new StatsError(`comparison between items ${c.a} and ${c.b} is invalid for ${n} items`);
    }
    if (!(c.p >= 0 && c.p <= 1)) throw new StatsError(`win probability ${c.p} (items ${c.a} vs ${c.b}) is outside [0, 1]`);
    if (c.weight !== undefined && !(c.weight >= 0)) throw new StatsError(`comparison weight ${c.weight} is negative`);
    seen[c.a] = 1;
    seen[c.b] = 1;
  }
  const theta = new Float64Array(n);
  const objective = (t: Float64Array): number => {
    let ll = 0;
    for (const c of comparisons) {
      const d = t[c.a]! - t[c.b]!;
      ll += (c.weight ?? 1) * (c.p * logSigmoid(d) + (1 - c.p) * logSigmoid(-d));
    }
    let r = 0;
    for (let i = 0; i < n; i++) r += t[i]! ** 2;
    return ll - (lambda / 2) * r;
  };
  const information = (t: Float64Array): { h: Float64Array; g: Float64Array } => {
    const h = new Float64Array(n * n);
    const g = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      h[i * n + i] = lambda;
      g[i] = -lambda * t[i]!;
    }
    for (const c of comparisons) {
      const w = c.weight ?? 1;
      const s = sigmoid(t[c.a]! - t[c.b]!);
      const r = w * (c.p - s);
      g[c.a]! += r;
      g[c.b]! -= r;
      const v = w * s * (1 - s);
      h[c.a * n + c.a]! += v;
      h[c.b * n + c.b]! += v;
      h[c.a * n + c.b]! -= v;
      h[c.b * n + c.a]! -= v;
    }
    return { h, g };
  };
  let f = objective(theta);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIter) {
    iterations++;
    const { h, g } = information(theta);
    cholesky(h, n);
    const step = cholSolve(h, n, g);
    let t = 1;
    let next = theta.map((x, i) => x + step[i]!);
    let fn = objective(next);
    while (fn < f - 1e-12 * Math.abs(f) && t > 1e-8) {
      t /= 2;
      next = theta.map((x, i) => x + t * step[i]!);
      fn = objective(next);
    }
    const biggest = Math.max(...step.map((x) => Math.abs(x * t)));
    theta.set(next);
    f = fn;
    if (biggest < tol) {
      converged = true;
      break;
    }
  }
  const { h } = information(theta);
  cholesky(h, n);
  // Covariance of the centred logits: P H^-1 P with P = I - 11'/n (the mean is fixed by anchoring,
  // and the all-ones direction, which only the ridge constrains, drops out).
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const e = new Float64Array(n);
    e[i] = 1;
    inv.set(cholSolve(h, n, e), i * n);
  }
  const rowMean = new Float64Array(n);
  let allMean = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) rowMean[i]! += inv[i * n + j]! / n;
    allMean += rowMean[i]! / n;
  }
  const stdErr = Array.from({ length: n }, (_, i) => Math.sqrt(Math.max(0, inv[i * n + i]! - 2 * rowMean[i]! + allMean)) * ELO_PER_LOGIT);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += theta[i]! / n;
  let r = 0;
  for (let i = 0; i < n; i++) r += theta[i]! ** 2;
  return {
    ratings: Array.from(theta, (x) => base + (x - mean) * ELO_PER_LOGIT),
    stdErr,
    unrated: Array.from({ length: n }, (_, i) => i).filter((i) => !seen[i]),
    iterations,
    converged,
    logLik: f + (lambda / 2) * r,
  };
}

/** Expected score of a player rated `ra` against one rated `rb`. */
export function eloWinProbability(ra: number, rb: number): number {
  return 1 / (1 + 10 ** ((rb - ra) / 400));
}

/** Fisher-Yates shuffle of a copy, driven by a seeded generator. */
export function shuffled<T>(xs: readonly T[], rng: () => number): T[] {
  const out = xs.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export interface PermutationOptions {
  /** Random relabellings (default 10,000). */
  permutations?: number;
  seed?: number;
  method?: 'pearson' | 'spearman';
}

export interface PermutationResult {
  r: number;
  /** Two-sided: (1 + #{|r_perm| >= |r|}) / (1 + permutations). */
  p: number;
  permutations: number;
}

/**
 * Correlation of x and y with a two-sided permutation p-value (y is shuffled, seeded).
 * @example
 * permutationTest([1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5], { seed: 1 }); // { r: 0.83, p: ~0.06, ... }
 */
export function permutationTest(x: ArrayLike<number>, y: ArrayLike<number>, opts: PermutationOptions = {}): PermutationResult {
  if (x.length !== y.length) throw new StatsError(`permutation test: ${x.length} x values but ${y.length} y values`);
  const n = x.length;
  const P = opts.permutations ?? 10_000;
  const method = opts.method ?? 'pearson';
  const xs = method === 'spearman' ? ranks(x) : Float64Array.from(x);
  const ys = method === 'spearman' ? ranks(y) : Float64Array.from(y);
  const r = pearson(xs, ys);
  if (n < 3 || !Number.isFinite(r)) return { r, p: 1, permutations: 0 };
  // Centre and scale once; each permutation is then one dot product.
  const centre = (v: Float64Array): Float64Array => {
    const m = v.reduce((s, a) => s + a, 0) / n;
    const c = v.map((a) => a - m);
    const s = Math.sqrt(c.reduce((t, a) => t + a * a, 0)) || 1;
    return c.map((a) => a / s);
  };
  const xc = centre(xs);
  const yc = centre(ys);
  const rng = makeRng(opts.seed ?? 1);
  const obs = Math.abs(r) - 1e-12;
  let hits = 0;
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let k = 0; k < P; k++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
    }
    let d = 0;
    for (let i = 0; i < n; i++) d += xc[i]! * yc[perm[i]!]!;
    if (Math.abs(d) >= obs) hits++;
  }
  return { r, p: (1 + hits) / (1 + P), permutations: P };
}

export interface BootstrapOptions {
  samples?: number;
  seed?: number;
  /** Coverage (default 0.95). */
  level?: number;
}

/** Percentile bootstrap interval of `stat` over resamples of `values` (default stat: the mean). */
export function bootstrapCI(
  values: readonly number[],
  stat: (xs: readonly number[]) => number = (xs) => xs.reduce((s, v) => s + v, 0) / xs.length,
  opts: BootstrapOptions = {},
): { estimate: number; low: number; high: number } {
  if (values.length === 0) throw new StatsError('bootstrap of an empty sample');
  const B = opts.samples ?? 2000;
  const level = opts.level ?? 0.95;
  const rng = makeRng(opts.seed ?? 1);
  const stats: number[] = [];
  const buf = new Array<number>(values.length);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < values.length; i++) buf[i] = values[Math.floor(rng() * values.length)]!;
    stats.push(stat(buf));
  }
  stats.sort((a, b) => a - b);
  const q = (f: number): number => stats[Math.min(B - 1, Math.max(0, Math.round(f * (B - 1))))]!;
  return { estimate: stat(values), low: q((1 - level) / 2), high: q(1 - (1 - level) / 2) };
}

/** `n` evenly spaced values from a to b inclusive. */
export function linspace(a: number, b: number, n: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new StatsError(`linspace needs a positive count, got ${n}`);
  if (n === 1) return [a];
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? b : a + ((b - a) * i) / (n - 1)));
}

/** Arithmetic mean (NaN for an empty list). */
export function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s / xs.length;
}
