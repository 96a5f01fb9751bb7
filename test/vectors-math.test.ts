// Pure vector math on planted data whose answers are known: eigendecomposition, PCA axes and
// variance ratios, projections, correlations (incl. ties), k-means and clustering order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { centerRows, clusterOrder, componentsForVariance, cosine, cosineMatrix, fromRows, kmeans, pca, pearson, projectOut, ranks, row, RunningMean, spearman, symmetricEigen } from '../src/vectors/math.ts';

test('symmetricEigen: known matrix', () => {
  const { values, vectors } = symmetricEigen(Float64Array.from([2, 1, 0, 1, 2, 0, 0, 0, 5]), 3);
  assert.deepEqual(Array.from(values).map((v) => Number(v.toFixed(10))), [5, 3, 1]);
  const v0 = vectors.subarray(0, 3);
  assert.ok(Math.abs(Math.abs(v0[2]!) - 1) < 1e-10);
  const v1 = vectors.subarray(3, 6);
  assert.ok(Math.abs(Math.abs(v1[0]!) - Math.SQRT1_2) < 1e-10 && Math.abs(v1[0]! - v1[1]!) < 1e-10);
});

test('pca recovers planted axes, variance ratios and the sign convention', () => {
  const a = [0.6, 0.8, 0, 0];
  const b = [0, 0, 1, 0];
  const rows: number[][] = [];
  for (let i = 0; i < 200; i++) {
    const s = Math.sin(i * 0.37) * 5;
    const t = Math.cos(i * 1.91) * 2;
    rows.push(a.map((x, j) => 10 + s * x + t * b[j]! + 0.01 * Math.sin(i * 7 + j)));
  }
  const p = pca(fromRows(rows), 3);
  assert.ok(Math.abs(cosine(row(p.components, 0), a)) > 0.9999);
  assert.ok(Math.abs(cosine(row(p.components, 1), b)) > 0.9999);
  assert.ok(row(p.components, 0)[1]! > 0, 'largest-magnitude coordinate is positive');
  const ratio0 = p.explainedRatio[0]!;
  assert.ok(Math.abs(ratio0 - 25 / 29) < 0.03, `ratio ${ratio0}`);
  assert.equal(componentsForVariance(p.explainedRatio, 0.5), 1);
  assert.equal(componentsForVariance(p.explainedRatio, 0.95), 2);
  const projected = projectOut(centerRows(fromRows(rows)), { data: p.components.data.slice(0, 8), rows: 2, cols: 4 });
  for (let i = 0; i < projected.rows; i++) assert.ok(Math.hypot(...row(projected, i)) < 0.05);
});

test('pearson, spearman with ties, ranks', () => {
  assert.ok(Math.abs(pearson([1, 2, 3, 4], [2, 4, 6, 8]) - 1) < 1e-12);
  assert.ok(Math.abs(pearson([1, 2, 3, 4], [8, 6, 4, 2]) + 1) < 1e-12);
  assert.deepEqual(Array.from(ranks([10, 20, 20, 5])), [2, 3.5, 3.5, 1]);
  assert.ok(Math.abs(spearman([1, 2, 3, 4, 5], [1, 4, 9, 16, 100]) - 1) < 1e-12);
  assert.ok(Math.abs(pearson([1, 2, 3], [1, 3, 2]) - 0.5) < 1e-12);
});

test('kmeans and clusterOrder recover planted groups', () => {
  const centers = [[0, 0], [10, 0], [0, 10]];
  const rows = centers.flatMap((c, g) => Array.from({ length: 6 }, (_, i) => [c[0]! + Math.sin(i + g) * 0.5, c[1]! + Math.cos(i * 2 + g) * 0.5]));
  const { labels } = kmeans(fromRows(rows), 3, 7);
  for (let g = 0; g < 3; g++) assert.equal(new Set(Array.from(labels.slice(g * 6, g * 6 + 6))).size, 1, `group ${g} in one cluster`);
  assert.equal(new Set(Array.from(labels)).size, 3);
  const order = clusterOrder(cosineMatrix(fromRows(rows.map((r) => [r[0]! + 1, r[1]! + 1]))));
  assert.equal(order.length, 18);
  assert.deepEqual([...order].sort((x, y) => x - y), Array.from({ length: 18 }, (_, i) => i));
  const groupOf = (i: number) => Math.floor(i / 6);
  let switches = 0;
  for (let i = 1; i < order.length; i++) if (groupOf(order[i]!) !== groupOf(order[i - 1]!)) switches++;
  assert.ok(switches <= 3, `ordering keeps groups together (${switches} switches)`);
});

test('RunningMean is exact and serialisable', () => {
  const m = new RunningMean(3);
  m.add([1, 2, 3]);
  m.add([3, 4, 5]);
  const back = RunningMean.fromJSON(JSON.parse(JSON.stringify(m.toJSON())));
  assert.deepEqual(Array.from(back.mean()), [2, 3, 4]);
});
