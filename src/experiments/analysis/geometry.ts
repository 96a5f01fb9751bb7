// Geometry of one layer's emotion vectors (SPEC.md section 3, "Geometry"): PCA with variance
// explained and PC1/PC2 coordinates, correlations of PC1 with valence and PC2 with arousal on the
// words the norms cover (axes oriented so both correlate positively when norms are given), the
// cosine-similarity matrix in average-linkage order, seeded k-means clusters (best of several
// starts) with their silhouette
// and their agreement with the paper's named groups, and each emotion's nearest neighbours.
import { clusterOrder, cosineMatrix, dot, kmeans, matrix, pca, pearson, row, spearman, type Matrix } from '../../vectors/math.ts';
import type { NormsMatch } from '../norms.ts';

export interface Correlation {
  pearson: number;
  spearman: number;
  /** Words that entered the correlation (emotions with a rating). */
  n: number;
  words: string[];
}

export interface PcaSummary {
  /** PCA over the raw (mean-difference) vectors or their unit-length versions. */
  on: 'raw' | 'unit';
  /** Fraction of variance of each of the first (up to) 10 components. */
  varianceExplained: number[];
  coords: { emotion: string; pc1: number; pc2: number }[];
  /** Whether each axis was flipped from math.pca's convention (largest coordinate positive) to correlate positively with valence / arousal. */
  flipped: [boolean, boolean];
  orientationNote: string;
  pc1Valence: Correlation | null;
  pc2Arousal: Correlation | null;
  /** Cross-checks: a clean split gives small values here. */
  pc1Arousal: Correlation | null;
  pc2Valence: Correlation | null;
  /** Emotions at the two ends of each axis (5 each, most extreme first). */
  extremes: { pc1High: string[]; pc1Low: string[]; pc2High: string[]; pc2Low: string[] };
}

export interface NamedGroup {
  name: string;
  members: readonly string[];
}

/** The paper's k-means groups whose full membership SPEC.md gives (section 1). */
export const SPEC_GROUPS: readonly NamedGroup[] = [
  { name: 'peaceful contentment', members: ['at ease', 'calm', 'content', 'patient', 'peaceful', 'refreshed', 'relaxed', 'safe', 'serene'] },
  { name: 'playful amusement', members: ['amused', 'playful'] },
  { name: 'vigilant suspicion', members: ['paranoid', 'suspicious', 'vigilant'] },
];

export interface GroupAgreement {
  groups: { name: string; members: string[]; bestCluster: number; share: number }[];
  /** Mean over groups of the largest share of a group's members that fall in one cluster (1 = every group intact). */
  meanShare: number | null;
  /** Fraction of within-group pairs put in the same cluster. */
  pairsTogether: number | null;
  /** Fraction of pairs from different named groups put in different clusters. */
  pairsApart: number | null;
}

export interface Cluster {
  id: number;
  members: string[];
  /** The member closest to the cluster's mean direction. */
  exemplar: string;
  meanPc1: number;
  /** Mean valence (COMMON_SCALE) of the members the norms cover, null when none are. */
  meanValence: number | null;
}

export interface ClusterSummary {
  k: number;
  /** First seed; restart r uses seed + r, and the run with the lowest inertia is kept. */
  seed: number;
  restarts: number;
  /** Clusters sorted by mean PC1, highest first (positive to negative once PC1 is oriented to valence). */
  clusters: Cluster[];
  /** Mean silhouette of the k-means labels under cosine distance, in [-1, 1]. */
  silhouette: number;
  groups: GroupAgreement;
}

export interface Similarity {
  /** Emotions in average-linkage leaf order. */
  order: string[];
  /** [E, E] cosines in that order. */
  matrix: number[][];
}

export interface Neighbours {
  emotion: string;
  neighbours: { emotion: string; cosine: number }[];
}

const round = (v: number, d = 4): number => Math.round(v * 10 ** d) / 10 ** d;

/** [E, d] unit-length rows. */
export function unitRows(m: Matrix): Matrix {
  const out = matrix(m.rows, m.cols);
  for (let i = 0; i < m.rows; i++) {
    const r = row(m, i);
    const n = Math.sqrt(dot(r, r)) || 1;
    for (let j = 0; j < m.cols; j++) out.data[i * m.cols + j] = r[j]! / n;
  }
  return out;
}

/** Pearson and Spearman of `scores` (per emotion) with a rating, over the emotions the norms rate. */
export function correlate(emotions: readonly string[], scores: ArrayLike<number>, norms: NormsMatch | null, dim: 'valence' | 'arousal'): Correlation | null {
  if (!norms) return null;
  const byEmotion = new Map(norms.matched.map((m) => [m.emotion, m]));
  const xs: number[] = [];
  const ys: number[] = [];
  const words: string[] = [];
  emotions.forEach((e, i) => {
    const r = byEmotion.get(e)?.[dim];
    if (r === undefined || r === null) return;
    xs.push(scores[i]!);
    ys.push(r);
    words.push(e);
  });
  if (xs.length < 3) return { pearson: Number.NaN, spearman: Number.NaN, n: xs.length, words };
  return { pearson: pearson(xs, ys), spearman: spearman(xs, ys), n: xs.length, words };
}

/** PCA of a layer's vectors, oriented against the norms when given. */
export function pcaSummary(emotions: readonly string[], raw: Matrix, norms: NormsMatch | null, on: 'raw' | 'unit' = 'raw'): PcaSummary {
  const X = on === 'unit' ? unitRows(raw) : raw; // [E, d]
  // math.pca's Jacobi stops at an absolute off-diagonal threshold, so it is run on rows scaled to
  // mean norm 1 (PCA is scale-equivariant: same axes and ratios; scores are scaled back).
  let meanNorm = 0;
  for (let i = 0; i < X.rows; i++) meanNorm += Math.sqrt(dot(row(X, i), row(X, i))) / X.rows;
  const s = meanNorm > 0 ? meanNorm : 1;
  const p = pca(matrix(X.rows, X.cols, X.data.map((v) => v / s)), Math.min(10, X.rows, X.cols));
  const k = p.scores.cols;
  const pc = (c: number) => Float64Array.from({ length: X.rows }, (_, i) => (c < k ? p.scores.data[i * k + c]! * s : 0));
  const pc1 = pc(0);
  const pc2 = pc(1);
  const flipped: [boolean, boolean] = [false, false];
  const orient = (scores: Float64Array, dim: 'valence' | 'arousal', idx: 0 | 1) => {
    const c = correlate(emotions, scores, norms, dim);
    if (c && c.n >= 3 && c.pearson < 0) {
      for (let i = 0; i < scores.length; i++) scores[i] = -scores[i]!;
      flipped[idx] = true;
    }
  };
  orient(pc1, 'valence', 0);
  orient(pc2, 'arousal', 1);
  const covered = norms ? correlate(emotions, pc1, norms, 'valence')?.n ?? 0 : 0;
  const orientationNote = norms && covered >= 3
    ? `PC1 oriented so that it correlates positively with valence${flipped[0] ? ' (flipped)' : ''}, PC2 with arousal${flipped[1] ? ' (flipped)' : ''}`
    : 'no norms: axes keep math.pca\'s sign convention (largest coordinate positive); their signs carry no meaning';
  const ordered = (s: Float64Array) => Array.from(s.keys()).sort((a, b) => s[b]! - s[a]!).map((i) => emotions[i]!);
  const o1 = ordered(pc1);
  const o2 = ordered(pc2);
  return {
    on,
    varianceExplained: Array.from(p.explainedRatio, (v) => round(v, 5)),
    coords: emotions.map((e, i) => ({ emotion: e, pc1: round(pc1[i]!), pc2: round(pc2[i]!) })),
    flipped,
    orientationNote,
    pc1Valence: correlate(emotions, pc1, norms, 'valence'),
    pc2Arousal: correlate(emotions, pc2, norms, 'arousal'),
    pc1Arousal: correlate(emotions, pc1, norms, 'arousal'),
    pc2Valence: correlate(emotions, pc2, norms, 'valence'),
    extremes: { pc1High: o1.slice(0, 5), pc1Low: o1.slice(-5).reverse(), pc2High: o2.slice(0, 5), pc2Low: o2.slice(-5).reverse() },
  };
}

/** Mean silhouette with cosine distance (1 - cos) from a [E, E] cosine matrix; singletons score 0. */
export function silhouette(cos: Matrix, labels: ArrayLike<number>): number {
  const n = cos.rows;
  const ks = new Set(Array.from(labels));
  if (ks.size < 2 || n < 3) return 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const sums = new Map<number, { s: number; c: number }>();
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const e = sums.get(labels[j]!) ?? { s: 0, c: 0 };
      e.s += 1 - cos.data[i * n + j]!;
      e.c++;
      sums.set(labels[j]!, e);
    }
    const own = sums.get(labels[i]!);
    if (!own || own.c === 0) continue;
    const a = own.s / own.c;
    let b = Infinity;
    for (const [l, e] of sums) if (l !== labels[i]) b = Math.min(b, e.s / e.c);
    if (b === Infinity) continue;
    total += (b - a) / Math.max(a, b, 1e-12);
  }
  return total / n;
}

/** How well clusters keep the named groups together and apart (only groups with 2+ members in the pack count). */
export function groupAgreement(emotions: readonly string[], labels: ArrayLike<number>, groups: readonly NamedGroup[] = SPEC_GROUPS): GroupAgreement {
  const index = new Map(emotions.map((e, i) => [e, i]));
  const present = groups.map((g) => ({ name: g.name, idx: g.members.filter((m) => index.has(m)).map((m) => index.get(m)!) })).filter((g) => g.idx.length >= 2);
  if (present.length === 0) return { groups: [], meanShare: null, pairsTogether: null, pairsApart: null };
  const out = present.map((g) => {
    const counts = new Map<number, number>();
    for (const i of g.idx) counts.set(labels[i]!, (counts.get(labels[i]!) ?? 0) + 1);
    const [bestCluster, best] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
    return { name: g.name, members: g.idx.map((i) => emotions[i]!), bestCluster, share: round(best / g.idx.length) };
  });
  let together = 0;
  let within = 0;
  let apart = 0;
  let between = 0;
  present.forEach((g, gi) => {
    for (let a = 0; a < g.idx.length; a++) for (let b = a + 1; b < g.idx.length; b++) {
      within++;
      if (labels[g.idx[a]!] === labels[g.idx[b]!]) together++;
    }
    for (const h of present.slice(gi + 1)) for (const i of g.idx) for (const j of h.idx) {
      between++;
      if (labels[i] !== labels[j]) apart++;
    }
  });
  return {
    groups: out,
    meanShare: round(out.reduce((s, g) => s + g.share, 0) / out.length),
    pairsTogether: within ? round(together / within) : null,
    pairsApart: between ? round(apart / between) : null,
  };
}

/** Seeded k-means on the unit vectors, clusters ordered by mean PC1 (highest first). */
export function clusterSummary(emotions: readonly string[], raw: Matrix, pc1: ArrayLike<number>, norms: NormsMatch | null, opts: { k?: number; seed?: number; restarts?: number; cos?: Matrix; groups?: readonly NamedGroup[] } = {}): ClusterSummary {
  const unit = unitRows(raw); // [E, d]
  const k = Math.max(1, Math.min(opts.k ?? 10, emotions.length));
  const seed = opts.seed ?? 1;
  // Several seeded k-means++ starts (seed, seed + 1, ...); the lowest inertia wins.
  const restarts = Math.max(1, opts.restarts ?? 5);
  let km = kmeans(unit, k, seed);
  for (let r = 1; r < restarts; r++) {
    const next = kmeans(unit, k, seed + r);
    if (next.inertia < km.inertia - 1e-9) km = next;
  }
  const cos = opts.cos ?? cosineMatrix(raw); // [E, E]
  const valence = new Map(norms?.matched.map((m) => [m.emotion, m.valence]) ?? []);
  const raws: Cluster[] = [];
  for (let c = 0; c < km.centroids.rows; c++) {
    const idx = emotions.map((_, i) => i).filter((i) => km.labels[i] === c);
    if (idx.length === 0) continue;
    const centroid = row(km.centroids, c);
    const exemplar = idx.reduce((best, i) => (dot(row(unit, i), centroid) > dot(row(unit, best), centroid) ? i : best), idx[0]!);
    const vals = idx.map((i) => valence.get(emotions[i]!)).filter((v): v is number => v !== undefined);
    raws.push({
      id: c,
      members: idx.map((i) => emotions[i]!),
      exemplar: emotions[exemplar]!,
      meanPc1: round(idx.reduce((s, i) => s + pc1[i]!, 0) / idx.length),
      meanValence: vals.length ? round(vals.reduce((a, b) => a + b, 0) / vals.length) : null,
    });
  }
  raws.sort((a, b) => b.meanPc1 - a.meanPc1);
  const relabel = new Map(raws.map((c, i) => [c.id, i]));
  const labels = Array.from(km.labels, (l) => relabel.get(l)!);
  const clusters = raws.map((c, i) => ({ ...c, id: i }));
  return { k, seed, restarts, clusters, silhouette: round(silhouette(cos, labels)), groups: groupAgreement(emotions, labels, opts.groups) };
}

/** The cosine matrix reordered by average-linkage clustering. */
export function similarity(emotions: readonly string[], cos: Matrix): Similarity {
  const order = clusterOrder(cos);
  const n = cos.rows;
  return { order: order.map((i) => emotions[i]!), matrix: order.map((i) => order.map((j) => round(cos.data[i * n + j]!))) };
}

/** The `top` most similar other emotions of each emotion, by cosine. */
export function nearestNeighbours(emotions: readonly string[], cos: Matrix, top = 5): Neighbours[] {
  const n = cos.rows;
  return emotions.map((e, i) => ({
    emotion: e,
    neighbours: emotions
      .map((o, j) => ({ emotion: o, cosine: cos.data[i * n + j]! }))
      .filter((_, j) => j !== i)
      .sort((a, b) => b.cosine - a.cosine)
      .slice(0, top)
      .map((x) => ({ emotion: x.emotion, cosine: round(x.cosine) })),
  }));
}
