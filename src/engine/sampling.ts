// Next-token sampling: greedy at temperature 0, else temperature, top-k and top-p (nucleus) over a
// softmax, drawn from a seeded PRNG so that a seed reproduces a run exactly.

export interface SamplingOptions {
  temperature?: number;
  topK?: number;
  topP?: number;
}

/** mulberry32: a small, fast, seedable PRNG returning floats in [0, 1). */
export function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/** log(sum(exp(x))) of one row (float64 accumulation); log p(i) = x[i] - logSumExp(x). */
export function logSumExp(logits: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  return max + Math.log(sum);
}

/** log p(token) under softmax(row), without materialising the whole log-softmax row. */
export function tokenLogprob(row: ArrayLike<number>, token: number): number {
  return row[token]! - logSumExp(row);
}

/**
 * Indices of a row in descending order (ties: lower index first), produced lazily from a binary
 * max-heap: O(V) to build, O(log V) per index taken. Sampling walks only as far down the order as
 * top-k, top-p and the random draw need, instead of sorting the whole vocabulary every step.
 */
class DescendingOrder {
  private readonly heap: Int32Array;
  private size: number;
  private readonly taken: number[] = [];

  constructor(private readonly x: ArrayLike<number>) {
    this.size = x.length;
    this.heap = new Int32Array(this.size);
    for (let i = 0; i < this.size; i++) this.heap[i] = i;
    for (let i = (this.size >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /** The k-th index in descending order (k < length). */
  at(k: number): number {
    while (this.taken.length <= k) {
      this.taken.push(this.heap[0]!);
      this.heap[0] = this.heap[--this.size]!;
      this.siftDown(0);
    }
    return this.taken[k]!;
  }

  private above(a: number, b: number): boolean {
    const xa = this.x[a]!;
    const xb = this.x[b]!;
    return xa > xb || (xa === xb && a < b);
  }

  private siftDown(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.size) return;
      const r = l + 1;
      const c = r < this.size && this.above(h[r]!, h[l]!) ? r : l;
      if (!this.above(h[c]!, h[i]!)) return;
      const t = h[i]!;
      h[i] = h[c]!;
      h[c] = t;
      i = c;
    }
  }
}

/**
 * Picks the next token from one row of logits: greedy at temperature 0, else a draw from
 * softmax(logits / temperature) restricted to the top-k, then to the smallest top set whose
 * probability reaches top-p, walking candidates from the most likely down.
 */
export function sampleToken(logits: ArrayLike<number>, opts: SamplingOptions, rng: () => number): number {
  const temperature = opts.temperature ?? 0;
  if (temperature <= 0) return argmax(logits);
  const n = logits.length;
  const order = new DescendingOrder(logits);
  const max = logits[order.at(0)]!;
  const weight = (i: number): number => Math.exp((logits[i]! - max) / temperature);
  // Candidates: the first `keep` indices of the order; `total` is the softmax denominator.
  let keep = opts.topK && opts.topK > 0 && opts.topK < n ? opts.topK : n;
  let total = 0;
  if (keep < n) for (let k = 0; k < keep; k++) total += weight(order.at(k));
  else for (let i = 0; i < n; i++) total += weight(i);
  let mass = 1;
  if (opts.topP !== undefined && opts.topP > 0 && opts.topP < 1) {
    let cum = 0;
    let k = 0;
    while (k < keep) {
      cum += weight(order.at(k)) / total;
      k++;
      if (cum >= opts.topP) break;
    }
    keep = k;
    mass = cum;
  }
  let r = rng() * mass;
  for (let k = 0; k < keep; k++) {
    r -= weight(order.at(k)) / total;
    if (r <= 0) return order.at(k);
  }
  return order.at(keep - 1);
}
