// Analysis of vector packs without a model, on planted packs whose answers are known: PCA recovers
// the hidden valence and arousal axes, correlations with the planted norms are high and positive
// (with the axes re-oriented when the norms say so), k-means recovers the planted groups, nearest
// neighbours stay within groups, the similarity order keeps groups contiguous; plus the helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzePack, pickStories } from '../src/experiments/analyze.ts';
import { groupAgreement, silhouette } from '../src/experiments/analysis/geometry.ts';
import { recommendLayer, type LayerScore } from '../src/experiments/analysis/layerSweep.ts';
import { extremeIndices } from '../src/experiments/analysis/logitLens.ts';
import { plantedPack } from '../src/experiments/analysis/planted.ts';
import { parseNorms } from '../src/experiments/norms.ts';
import { cosine, cosineMatrix, matrix } from '../src/vectors/math.ts';

const planted = plantedPack({ dModel: 32, nLayers: 4, layers: [1, 2, 3], seed: 11 });
const norms = parseNorms(planted.normsCsv, { source: 'planted.csv' });

/** The PC axis implied by the coordinates: sum_i pc_i (x_i - mean) = lambda * axis. */
function axisFromCoords(layer: number, coords: number[]): Float32Array {
  const m = planted.pack.raw.get(layer)!; // [E, d]
  const d = m.cols;
  const mean = new Float64Array(d);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < d; j++) mean[j]! += m.data[i * d + j]! / m.rows;
  const axis = new Float32Array(d);
  coords.forEach((c, i) => {
    for (let j = 0; j < d; j++) axis[j]! += c * (m.data[i * d + j]! - mean[j]!);
  });
  return axis;
}

test('planted pack: PCA recovers the valence and arousal axes; correlations high and positive', async () => {
  const r = await analyzePack(planted.pack, { norms, k: 4, layer: 2 });
  assert.equal(r.layer, 2);
  assert.equal(r.layerSource, 'option');
  const pc1 = axisFromCoords(2, r.pca.coords.map((c) => c.pc1));
  const pc2 = axisFromCoords(2, r.pca.coords.map((c) => c.pc2));
  assert.ok(Math.abs(cosine(pc1, planted.valenceAxis.get(2)!)) > 0.95, `PC1 vs valence axis ${cosine(pc1, planted.valenceAxis.get(2)!)}`);
  assert.ok(Math.abs(cosine(pc2, planted.arousalAxis.get(2)!)) > 0.95, `PC2 vs arousal axis ${cosine(pc2, planted.arousalAxis.get(2)!)}`);
  // Oriented: positive along the planted valence (the norms were generated from it).
  assert.ok(cosine(pc1, planted.valenceAxis.get(2)!) > 0.95);
  assert.ok(cosine(pc2, planted.arousalAxis.get(2)!) > 0.95);
  const v = r.pca.pc1Valence!;
  const a = r.pca.pc2Arousal!;
  assert.equal(v.n, 24);
  assert.equal(v.words.length, 24);
  assert.ok(v.pearson > 0.95 && v.spearman > 0.9, `valence r ${v.pearson} rho ${v.spearman}`);
  assert.ok(a.pearson > 0.9 && a.spearman > 0.85, `arousal r ${a.pearson} rho ${a.spearman}`);
  assert.ok(Math.abs(r.pca.pc1Arousal!.pearson) < 0.5, 'PC1 is not arousal');
  assert.ok(r.pca.varianceExplained[0]! > r.pca.varianceExplained[1]! && r.pca.varianceExplained[1]! > 5 * r.pca.varianceExplained[2]!);
  assert.match(r.pca.orientationNote, /correlates positively with valence/);
  assert.ok(['happy', 'excited', 'thrilled', 'elated', 'joyful', 'cheerful', 'calm', 'peaceful', 'relaxed', 'serene', 'content', 'at ease'].includes(r.pca.extremes.pc1High[0]!));
  assert.equal(r.norms!.matched.length, 24);
  assert.equal(r.norms!.byMethod.exact, 24);
  assert.equal(JSON.parse(JSON.stringify(r)).pca.coords.length, 24, 'JSON-serialisable');
});

test('orientation follows the norms: reversed ratings flip PC1, and r stays positive', async () => {
  const reversed = parseNorms(planted.normsCsv.split('\n').map((l, i) => (i === 0 ? l : l.replace(/,([\d.]+),/, (_, x: string) => `,${(10 - Number(x)).toFixed(3)},`))).join('\n'), { scale: { min: 1, max: 9 } });
  const a = await analyzePack(planted.pack, { norms, k: 4, layer: 1 });
  const b = await analyzePack(planted.pack, { norms: reversed, k: 4, layer: 1 });
  assert.notEqual(a.pca.flipped[0], b.pca.flipped[0]);
  assert.ok(a.pca.pc1Valence!.pearson > 0.95 && b.pca.pc1Valence!.pearson > 0.95);
  a.pca.coords.forEach((c, i) => assert.ok(Math.abs(c.pc1 + b.pca.coords[i]!.pc1) < 1e-3));
  const none = await analyzePack(planted.pack, { k: 4, layer: 1 });
  assert.equal(none.pca.pc1Valence, null);
  assert.equal(none.norms, null);
  assert.match(none.pca.orientationNote, /no norms/);
  assert.equal(none.layerSource, 'option');
  assert.ok(none.notes.some((n) => /no model/.test(n)));
});

test('k-means recovers the planted groups; neighbours and similarity order respect them', async () => {
  const r = await analyzePack(planted.pack, { norms, k: 4, seed: 3 });
  assert.equal(r.layer, planted.pack.defaultLayer);
  assert.equal(r.layerSource, 'pack-default');
  assert.equal(r.clusters.clusters.length, 4);
  for (const c of r.clusters.clusters) {
    const groups = new Set(c.members.map((m) => planted.groupOf.get(m)));
    assert.equal(groups.size, 1, `cluster ${c.id} mixes groups: ${c.members.join(', ')}`);
    assert.equal(c.members.length, 6);
    assert.ok(c.members.includes(c.exemplar));
  }
  // Ordered by mean PC1 (valence): the two positive groups first.
  const first = r.clusters.clusters.slice(0, 2).map((c) => planted.groupOf.get(c.members[0]!)).sort();
  assert.deepEqual(first, ['calm', 'joy']);
  assert.ok(r.clusters.clusters[0]!.meanValence! > r.clusters.clusters[3]!.meanValence!);
  assert.ok(r.clusters.silhouette > 0.5, `silhouette ${r.clusters.silhouette}`);
  const peaceful = r.clusters.groups.groups.find((g) => g.name === 'peaceful contentment')!;
  assert.deepEqual(peaceful.members.sort(), ['at ease', 'calm', 'content', 'peaceful', 'relaxed', 'serene']);
  assert.equal(peaceful.share, 1);
  for (const n of r.neighbours) {
    assert.equal(n.neighbours.length, 5);
    assert.ok(!n.neighbours.some((x) => x.emotion === n.emotion));
    assert.ok(n.neighbours[0]!.cosine >= n.neighbours[4]!.cosine);
    assert.equal(planted.groupOf.get(n.neighbours[0]!.emotion), planted.groupOf.get(n.emotion), `${n.emotion}'s nearest is ${n.neighbours[0]!.emotion}`);
  }
  const { order, matrix: sim } = r.similarity;
  assert.deepEqual([...order].sort(), [...planted.pack.emotions].sort());
  sim.forEach((row, i) => {
    assert.ok(Math.abs(row[i]! - 1) < 1e-3);
    row.forEach((v, j) => assert.ok(Math.abs(v - sim[j]![i]!) < 1e-6));
  });
  const groupsInOrder = order.map((e) => planted.groupOf.get(e));
  const switches = groupsInOrder.filter((g, i) => i > 0 && g !== groupsInOrder[i - 1]).length;
  assert.equal(switches, 3, `groups contiguous in the average-linkage order: ${groupsInOrder.join(' ')}`);
});

test('default k=10 is capped by the emotion count; unknown layer and emotion fail with hints', async () => {
  const small = plantedPack({ dModel: 8, nLayers: 2, groups: [{ name: 'a', centre: [1, 0], members: ['happy', 'sad', 'calm'] }] });
  const r = await analyzePack(small.pack, {});
  assert.equal(r.clusters.k, 3);
  await assert.rejects(analyzePack(planted.pack, { layer: 0 }), /layer 0 is not in this pack[\s\S]*hint: the pack has layers 1, 2, 3/);
  await assert.rejects(analyzePack(planted.pack, { emotions: ['hapy'] }), /emotion "hapy" is not in this pack[\s\S]*happy/);
  await assert.rejects(analyzePack(planted.pack, { intensity: true }), /intensity sweeps need a model/);
});

test('helpers: silhouette, group agreement, round-robin story picking, extreme indices, layer recommendation', () => {
  const m = matrix(4, 2, Float32Array.from([1, 0, 0.9, 0.1, 0, 1, 0.1, 0.9])); // [4, 2]
  const cos = cosineMatrix(m);
  assert.ok(silhouette(cos, [0, 0, 1, 1]) > 0.8);
  assert.ok(silhouette(cos, [0, 1, 0, 1]) < 0);
  const g = groupAgreement(['calm', 'serene', 'paranoid', 'suspicious'], [0, 0, 1, 0]);
  assert.equal(g.groups.length, 2);
  assert.deepEqual(g.groups.map((x) => x.share), [1, 0.5]);
  assert.equal(g.pairsTogether, 0.5);
  assert.equal(g.pairsApart, 0.5);
  assert.equal(groupAgreement(['happy'], [0]).meanShare, null);
  const stories = ['a', 'a', 'a', 'b', 'c', 'c'].map((emotion, i) => ({ emotion, text: `s${i}` }));
  assert.deepEqual(pickStories(stories, 4).map((s) => s.text), ['s0', 's3', 's4', 's1']);
  assert.equal(pickStories(stories).length, 6);
  assert.deepEqual(extremeIndices([3, 9, -1, 7, 9.5], 3), [4, 1, 3]);
  assert.deepEqual(extremeIndices([3, 9, -1, 7, 9.5], 2, false), [2, 0]);
  const s = (layer: number, top1: number, valenceR: number | null, top5 = 0.5): LayerScore => ({ layer, top1, top5, top1Uncentred: 0, top5Uncentred: 0, valenceR, silhouette: 0, groupShare: null });
  assert.equal(recommendLayer([s(4, 0.3, 0.5), s(8, 0.4, 0.1), s(12, 0.35, 0.9)], 16, 0.01).layer, 8);
  const tie = recommendLayer([s(4, 0.4, 0.5), s(8, 0.4, 0.7), s(12, 0.2, 0.9)], 16, 0.01);
  assert.equal(tie.layer, 8);
  assert.match(tie.reason, /tied on top-1 with layer 4, chosen for the higher PC1~valence r \(0\.70\)/);
  assert.equal(recommendLayer([s(2, 0.4, null), s(10, 0.4, null)], 16, 0.01).layer, 10, 'nearest two-thirds of the depth');
});
