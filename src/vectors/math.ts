// Vector math for emotion vectors, as small pure functions over row-major [rows, cols] Float32Array
// matrices: means (streaming, float64), mean-difference, PCA (symmetric eigendecomposition of the
// Gram or covariance matrix by cyclic Jacobi), projections, correlations, k-means, clustering order.
//
// Sign convention for principal components (cf. repeng's sign fix): each component is flipped so
// that its coordinate of largest magnitude is positive. Callers that need a meaningful sign (e.g.
// PC1 = valence) re-orient against an external criterion.

export interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

export function matrix(rows: number, cols: number, data?: Float32Array): Matrix {
  const d = data ?? new Float32Array(rows * cols);
  if (d.length !== rows * cols) throw new Error(`matrix: ${d.length} values for [${rows}, ${cols}]`);
  return { data: d, rows, cols };
}

export function fromRows(rows: readonly ArrayLike<number>[]): Matrix {
  const cols = rows[0]?.length ?? 0;
  const m = matrix(rows.length, cols);
  rows.forEach((r, i) => {
    if (r.length !== cols) throw new Error(`fromRows: row ${i} has ${r.length} values, expected ${cols}`);
    m.data.set(r, i * cols);
  });
  return m;
}

export function row(m: Matrix, i: number): Float32Array {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

export function normalize(a: ArrayLike<number>): Float32Array {
  const n = norm(a);
  const out = new Float32Array(a.length);
  if (n > 0) for (let i = 0; i < a.length; i++) out[i] = a[i]! / n;
  return out;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const d = norm(a) * norm(b);
  return d > 0 ? dot(a, b) / d : 0;
}

/** Accumulates a mean of vectors in float64 (serialisable for checkpoints). */
export class RunningMean {
  sum: Float64Array;
  count = 0;
  constructor(readonly dim: number) {
    this.sum = new Float64Array(dim);
  }
  add(v: ArrayLike<number>, weight = 1): void {
    for (let i = 0; i < this.dim; i++) this.sum[i]! += weight * v[i]!;
    this.count += weight;
  }
  mean(): Float32Array {
    const out = new Float32Array(this.dim);
    if (this.count > 0) for (let i = 0; i < this.dim; i++) out[i] = this.sum[i]! / this.count;
    return out;
  }
  toJSON(): { sum: number[]; count: number } {
    return { sum: Array.from(this.sum), count: this.count };
  }
  static fromJSON(j: { sum: number[]; count: number }): RunningMean {
    const r = new RunningMean(j.sum.length);
    r.sum.set(j.sum);
    r.count = j.count;
    return r;
  }
}

export function meanRows(m: Matrix): Float32Array {
  const acc = new RunningMean(m.cols);
  for (let i = 0; i < m.rows; i++) acc.add(row(m, i));
  return acc.mean();
}

/** Subtracts `mean` (default: the row mean) from every row. */
export function centerRows(m: Matrix, mean: ArrayLike<number> = meanRows(m)): Matrix {
  const out = matrix(m.rows, m.cols);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) out.data[i * m.cols + j] = m.data[i * m.cols + j]! - mean[j]!;
  return out;
}

/**
 * Eigendecomposition of a symmetric n x n matrix (float64, row-major) by cyclic Jacobi rotations.
 * Returns eigenvalues in descending order and the matching unit eigenvectors as rows.
 */
export function symmetricEigen(a: Float64Array, n: number, maxSweeps = 100): { values: Float64Array; vectors: Float64Array } {
  const A = Float64Array.from(a);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += A[i]! ** 2;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p * n + q]! ** 2;
    if (off <= 1e-26 * total || off < 1e-300) break; // relative: scale-free convergence
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const app = A[p * n + p]!;
        const aqq = A[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p]!;
          const akq = A[k * n + q]!;
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k]!;
          const aqk = A[q * n + k]!;
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p]!;
          const vkq = V[k * n + q]!;
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => A[j * n + j]! - A[i * n + i]!);
  const values = Float64Array.from(order.map((i) => A[i * n + i]!));
  const vectors = new Float64Array(n * n);
  order.forEach((col, r) => {
    for (let k = 0; k < n; k++) vectors[r * n + k] = V[k * n + col]!;
  });
  return { values, vectors };
}

export interface Pca {
  /** [k, cols] unit principal axes, largest variance first. */
  components: Matrix;
  /** Variance along each component. */
  variance: Float64Array;
  /** Fraction of total variance per component. */
  explainedRatio: Float64Array;
  mean: Float32Array;
  /** Coordinates of the input rows on the components, [rows, k]. */
  scores: Matrix;
}

/**
 * PCA of the rows of `m` (centered on their mean). Uses the rows x rows Gram matrix, so it is
 * exact and cheap whenever rows <= a few hundred (171 emotions, a few hundred neutral texts).
 */
export function pca(m: Matrix, k: number = Math.min(m.rows, m.cols)): Pca {
  const mean = meanRows(m);
  const X = centerRows(m, mean);
  const n = X.rows;
  const d = X.cols;
  const G = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = row(X, i);
    for (let j = i; j < n; j++) {
      const v = dot(ri, row(X, j));
      G[i * n + j] = v;
      G[j * n + i] = v;
    }
  }
  const { values, vectors } = symmetricEigen(G, n);
  let total = 0;
  for (let i = 0; i < n; i++) total += Math.max(0, values[i]!);
  const kk = Math.min(k, n, d);
  const components = matrix(kk, d);
  const variance = new Float64Array(kk);
  const explainedRatio = new Float64Array(kk);
  for (let c = 0; c < kk; c++) {
    const lambda = Math.max(0, values[c]!);
    variance[c] = lambda / Math.max(1, n - 1);
    explainedRatio[c] = total > 0 ? lambda / total : 0;
    // axis = X^T u / sqrt(lambda)
    const axis = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      const u = vectors[c * n + i]!;
      if (u === 0) continue;
      const ri = row(X, i);
      for (let j = 0; j < d; j++) axis[j]! += u * ri[j]!;
    }
    let nn = 0;
    for (let j = 0; j < d; j++) nn += axis[j]! ** 2;
    nn = Math.sqrt(nn) || 1;
    let big = 0;
    for (let j = 0; j < d; j++) if (Math.abs(axis[j]!) > Math.abs(axis[big]!)) big = j;
    const sign = axis[big]! < 0 ? -1 : 1;
    for (let j = 0; j < d; j++) components.data[c * d + j] = (sign * axis[j]!) / nn;
  }
  const scores = matrix(n, kk);
  for (let i = 0; i < n; i++) for (let c = 0; c < kk; c++) scores.data[i * kk + c] = dot(row(X, i), row(components, c));
  return { components, variance, explainedRatio, mean, scores };
}

/** Smallest number of leading components whose explained ratios sum to at least `fraction`. */
export function componentsForVariance(explainedRatio: ArrayLike<number>, fraction: number): number {
  let cum = 0;
  for (let i = 0; i < explainedRatio.length; i++) {
    cum += explainedRatio[i]!;
    if (cum >= fraction - 1e-12) return i + 1;
  }
  return explainedRatio.length;
}

/** Removes from `v` its components along the orthonormal rows of `basis`. */
export function projectOutVector(v: ArrayLike<number>, basis: Matrix): Float32Array {
  const out = Float32Array.from(v);
  for (let c = 0; c < basis.rows; c++) {
    const b = row(basis, c);
    const p = dot(out, b);
    for (let j = 0; j < out.length; j++) out[j]! -= p * b[j]!;
  }
  return out;
}

export function projectOut(m: Matrix, basis: Matrix): Matrix {
  const out = matrix(m.rows, m.cols);
  for (let i = 0; i < m.rows; i++) out.data.set(projectOutVector(row(m, i), basis), i * m.cols);
  return out;
}

export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (n !== y.length) throw new Error(`pearson: ${n} vs ${y.length} values`);
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i]! - mx;
    const b = y[i]! - my;
    sxy += a * b;
    sxx += a * a;
    syy += b * b;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

/** Average ranks (ties share their mean rank). */
export function ranks(x: ArrayLike<number>): Float64Array {
  const idx = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[a]! - x[b]!);
  const r = new Float64Array(x.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && x[idx[j + 1]!] === x[idx[i]!]) j++;
    for (let k = i; k <= j; k++) r[idx[k]!] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  return pearson(ranks(x), ranks(y));
}

/** Cosine-similarity matrix of the rows, [rows, rows]. */
export function cosineMatrix(m: Matrix): Matrix {
  const unit = matrix(m.rows, m.cols);
  for (let i = 0; i < m.rows; i++) unit.data.set(normalize(row(m, i)), i * m.cols);
  const out = matrix(m.rows, m.rows);
  for (let i = 0; i < m.rows; i++) {
    for (let j = i; j < m.rows; j++) {
      const v = dot(row(unit, i), row(unit, j));
      out.data[i * m.rows + j] = v;
      out.data[j * m.rows + i] = v;
    }
  }
  return out;
}

/** Seeded k-means (k-means++ initialisation, Lloyd iterations) on the rows. */
export function kmeans(m: Matrix, k: number, seed = 1, iters = 100): { labels: Int32Array; centroids: Matrix; inertia: number } {
  let s = seed >>> 0 || 1;
  const rand = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  const n = m.rows;
  const d = m.cols;
  const kk = Math.min(k, n);
  const cent = matrix(kk, d);
  const dist2 = (a: Float32Array, b: Float32Array) => {
    let t = 0;
    for (let j = 0; j < d; j++) t += (a[j]! - b[j]!) ** 2;
    return t;
  };
  cent.data.set(row(m, Math.floor(rand() * n)), 0);
  for (let c = 1; c < kk; c++) {
    const dmin = Array.from({ length: n }, (_, i) => Math.min(...Array.from({ length: c }, (_, q) => dist2(row(m, i), row(cent, q)))));
    const total = dmin.reduce((a, b) => a + b, 0);
    let r = rand() * total;
    let pick = n - 1;
    for (let i = 0; i < n; i++) {
      r -= dmin[i]!;
      if (r <= 0) {
        pick = i;
        break;
      }
    }
    cent.data.set(row(m, pick), c * d);
  }
  const labels = new Int32Array(n);
  let inertia = 0;
  for (let it = 0; it < iters; it++) {
    let changed = false;
    inertia = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bd = Infinity;
      for (let c = 0; c < kk; c++) {
        const dd = dist2(row(m, i), row(cent, c));
        if (dd < bd) {
          bd = dd;
          best = c;
        }
      }
      inertia += bd;
      if (labels[i] !== best || it === 0) changed = changed || labels[i] !== best;
      labels[i] = best;
    }
    const sums = Array.from({ length: kk }, () => new RunningMean(d));
    for (let i = 0; i < n; i++) sums[labels[i]!]!.add(row(m, i));
    sums.forEach((acc, c) => {
      if (acc.count > 0) cent.data.set(acc.mean(), c * d);
    });
    if (!changed && it > 0) break;
  }
  return { labels, centroids: cent, inertia };
}

/** Leaf order of average-linkage agglomerative clustering on a similarity matrix. */
export function clusterOrder(sim: Matrix): number[] {
  const n = sim.rows;
  let clusters: number[][] = Array.from({ length: n }, (_, i) => [i]);
  const avg = (a: number[], b: number[]) => {
    let t = 0;
    for (const i of a) for (const j of b) t += sim.data[i * n + j]!;
    return t / (a.length * b.length);
  };
  while (clusters.length > 1) {
    let bi = 0;
    let bj = 1;
    let best = -Infinity;
    for (let i = 0; i < clusters.length; i++) {
      for (let j = i + 1; j < clusters.length; j++) {
        const v = avg(clusters[i]!, clusters[j]!);
        if (v > best) {
          best = v;
          bi = i;
          bj = j;
        }
      }
    }
    const merged = [...clusters[bi]!, ...clusters[bj]!];
    clusters = clusters.filter((_, k) => k !== bi && k !== bj);
    clusters.push(merged);
  }
  return clusters[0] ?? [];
}
