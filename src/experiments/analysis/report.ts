// The `limbic analyze` report: turns an AnalysisResult into a report document (report/html.ts)
// with an overview, the PCA scatter coloured by cluster, PC1-vs-valence plot, the ordered
// similarity heatmap, cluster and neighbour tables, norms coverage, the layer sweep curves, the
// logit lens tables and the intensity curves. Pure data in, data out; rendering lives in src/report.
import type { Block, ReportDoc, Section } from '../../report/html.ts';
import type { AnalysisResult } from '../analyze.ts';
import type { Correlation } from './geometry.ts';

const f3 = (v: number | null | undefined): string => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(3));

function corrRow(name: string, c: Correlation | null): (string | number | null)[] {
  return [name, c && !Number.isNaN(c.pearson) ? c.pearson : null, c && !Number.isNaN(c.spearman) ? c.spearman : null, c?.n ?? 0];
}

function overview(r: AnalysisResult): Section {
  const layerWhy = r.layerSource === 'option' ? 'given with --layer' : r.layerSource === 'sweep' ? `recommended by the layer sweep: ${r.layerSweep!.recommended.reason}` : 'the pack\'s default layer (no model, so no sweep)';
  const facts: [string, string | number | null][] = [
    ['model', `${r.pack.model} (${r.pack.arch}, dModel ${r.pack.dModel}, ${r.pack.nLayers} layers)`],
    ['emotions', r.pack.emotions],
    ['pack layers', r.pack.layers.join(', ')],
    ['analysed layer', `${r.layer}: ${layerWhy}`],
    ['norms', r.norms ? `${r.norms.source} (${r.norms.format}, original scale ${r.norms.originalScale.min}..${r.norms.originalScale.max}${r.norms.scaleInferred ? ', inferred' : ''}; mapped to 0..1); ${r.norms.matched.length} of ${r.pack.emotions} words rated` : 'none'],
    ['PC1 ~ valence', r.pca.pc1Valence ? `r = ${f3(r.pca.pc1Valence.pearson)}, rho = ${f3(r.pca.pc1Valence.spearman)} (n = ${r.pca.pc1Valence.n})` : 'no norms'],
    ['PC2 ~ arousal', r.pca.pc2Arousal ? `r = ${f3(r.pca.pc2Arousal.pearson)}, rho = ${f3(r.pca.pc2Arousal.spearman)} (n = ${r.pca.pc2Arousal.n})` : 'no norms'],
    ['variance explained', r.pca.varianceExplained.slice(0, 3).map((v, i) => `PC${i + 1} ${(v * 100).toFixed(1)}%`).join(', ')],
    ['clusters', `k = ${r.clusters.k} (seed ${r.clusters.seed}), silhouette ${f3(r.clusters.silhouette)}`],
  ];
  if (r.layerSweep) facts.push(['best layer (sweep)', `${r.layerSweep.recommended.layer}: top-1 ${f3(r.layerSweep.perLayer.find((s) => s.layer === r.layerSweep!.recommended.layer)?.top1)} on ${r.layerSweep.stories} held-out stories`]);
  const blocks: Block[] = [{ kind: 'facts', facts }];
  if (r.notes.length) blocks.push({ kind: 'text', title: 'Notes', text: r.notes.join('\n\n') });
  return { title: 'Overview', blocks };
}

function geometry(r: AnalysisResult): Section {
  const clusterOf = new Map<string, string>();
  r.clusters.clusters.forEach((c) => c.members.forEach((m) => clusterOf.set(m, `${c.id + 1}: ${c.exemplar}`)));
  const blocks: Block[] = [
    {
      kind: 'scatter',
      title: `Emotions on PC1 and PC2 (layer ${r.layer}), coloured by k-means cluster`,
      points: r.pca.coords.map((c) => ({ x: c.pc1, y: c.pc2, label: c.emotion, group: clusterOf.get(c.emotion) ?? '?' })),
      xLabel: `PC1 (${(r.pca.varianceExplained[0]! * 100).toFixed(1)}%)`,
      yLabel: `PC2 (${((r.pca.varianceExplained[1] ?? 0) * 100).toFixed(1)}%)`,
      caption: r.pca.orientationNote,
    },
    { kind: 'bars', title: 'Variance explained per component', bars: r.pca.varianceExplained.map((v, i) => ({ label: `PC${i + 1}`, value: v })), xLabel: 'fraction of variance' },
    {
      kind: 'table',
      title: 'Correlations with human (or model) ratings',
      columns: ['pair', 'Pearson r', 'Spearman rho', 'n words'],
      rows: [corrRow('PC1 ~ valence', r.pca.pc1Valence), corrRow('PC2 ~ arousal', r.pca.pc2Arousal), corrRow('PC1 ~ arousal (cross-check)', r.pca.pc1Arousal), corrRow('PC2 ~ valence (cross-check)', r.pca.pc2Valence)],
    },
    {
      kind: 'table',
      title: 'Ends of the axes',
      columns: ['axis', 'highest', 'lowest'],
      rows: [['PC1', r.pca.extremes.pc1High.join(', '), r.pca.extremes.pc1Low.join(', ')], ['PC2', r.pca.extremes.pc2High.join(', '), r.pca.extremes.pc2Low.join(', ')]],
    },
  ];
  if (r.norms && r.pca.pc1Valence && r.pca.pc1Valence.n > 0) {
    const val = new Map(r.norms.matched.map((m) => [m.emotion, m]));
    blocks.push({
      kind: 'scatter',
      title: 'PC1 against valence ratings',
      points: r.pca.coords.filter((c) => val.has(c.emotion)).map((c) => ({ x: val.get(c.emotion)!.valence, y: c.pc1, label: c.emotion, group: val.get(c.emotion)!.method })),
      xLabel: 'valence rating (0 = most negative, 1 = most positive)',
      yLabel: 'PC1',
      height: 440,
      caption: 'colour: how the word was matched to the norms',
    });
  }
  return { title: 'Geometry: principal components', intro: 'PCA over the emotion vectors of one layer. In the paper PC1 reads as valence (26% of variance) and PC2 as arousal (15%).', blocks };
}

function clusters(r: AnalysisResult): Section[] {
  const g = r.clusters.groups;
  const blocks: Block[] = [
    {
      kind: 'table',
      title: 'k-means clusters (ordered by mean PC1)',
      columns: ['cluster', 'size', 'exemplar', 'mean PC1', 'mean valence', 'members'],
      rows: r.clusters.clusters.map((c) => [c.id + 1, c.members.length, c.exemplar, c.meanPc1, c.meanValence, c.members.join(', ')]),
    },
  ];
  if (g.groups.length) {
    blocks.push({
      kind: 'table',
      title: 'Agreement with the paper\'s named groups',
      columns: ['group', 'members in pack', 'largest share in one cluster', 'cluster'],
      rows: g.groups.map((x) => [x.name, x.members.join(', '), x.share, x.bestCluster + 1]),
      caption: `mean share ${f3(g.meanShare)}; within-group pairs together ${f3(g.pairsTogether)}; between-group pairs apart ${f3(g.pairsApart)}`,
    });
  }
  return [
    {
      title: 'Similarity',
      intro: 'Cosine similarity between emotion vectors, rows and columns in average-linkage clustering order.',
      blocks: [{ kind: 'heatmap', rowLabels: r.similarity.order, colLabels: r.similarity.order, values: r.similarity.matrix, palette: 'diverging', min: -1, max: 1, valueLabel: 'cosine' }],
    },
    { title: 'Clusters', blocks },
    {
      title: 'Nearest neighbours',
      blocks: [{ kind: 'table', columns: ['emotion', 'nearest (cosine)'], rows: r.neighbours.map((n) => [n.emotion, n.neighbours.map((x) => `${x.emotion} ${x.cosine.toFixed(2)}`).join(', ')]) }],
    },
  ];
}

function norms(r: AnalysisResult): Section | null {
  if (!r.norms) return null;
  const n = r.norms;
  const blocks: Block[] = [
    { kind: 'facts', facts: [['source', n.source], ['format', n.format], ['original scale', `${n.originalScale.min}..${n.originalScale.max}${n.scaleInferred ? ' (inferred from the values)' : ''}`], ['matched', Object.entries(n.byMethod).filter(([, c]) => c > 0).map(([m, c]) => `${m} ${c}`).join(', ') || 'none'], ['missing', n.missing.length ? n.missing.join(', ') : 'none']] },
    { kind: 'table', title: 'Matched words', columns: ['emotion', 'norms word', 'how', 'valence (0-1)', 'arousal (0-1)'], rows: n.matched.map((m) => [m.emotion, m.word, m.method, m.valence, m.arousal]) },
  ];
  if (r.rater?.failures.length) blocks.push({ kind: 'table', title: 'Model-as-rater replies without a rating', columns: ['word', 'dimension', 'reply'], rows: r.rater.failures.map((f) => [f.word, f.dimension, f.reply]) });
  return { title: 'Norms coverage', blocks };
}

function sweep(r: AnalysisResult): Section | null {
  const s = r.layerSweep;
  if (!s) return null;
  const x = s.perLayer.map((p) => p.layer);
  const markers = [{ x: s.recommended.layer, label: 'recommended' }];
  const series = [
    { name: 'top-1 accuracy', values: s.perLayer.map((p) => p.top1) },
    { name: 'top-5 accuracy', values: s.perLayer.map((p) => p.top5) },
    { name: 'top-1 (uncentred)', values: s.perLayer.map((p) => p.top1Uncentred), dashed: true },
    { name: 'silhouette', values: s.perLayer.map((p) => p.silhouette) },
  ];
  if (s.perLayer.some((p) => p.valenceR !== null)) series.push({ name: 'PC1 ~ valence r', values: s.perLayer.map((p) => p.valenceR ?? Number.NaN) });
  return {
    title: 'Layer sweep',
    intro: `${s.stories} held-out stories (${s.emotionsCovered} emotions), classified by the nearest emotion vector at each layer. ${s.note}. Chance: top-1 ${f3(s.chance.top1)}, top-5 ${f3(s.chance.top5)}. Recommendation: ${s.recommended.reason}.`,
    blocks: [
      { kind: 'lines', x, series: series.map((q) => ({ ...q, values: q.values.map((v) => (Number.isNaN(v) ? null : v)) })), xLabel: 'layer', yLabel: 'score', markers },
      {
        kind: 'table',
        columns: ['layer', 'top-1', 'top-5', 'top-1 uncentred', 'top-5 uncentred', 'PC1~valence r', 'silhouette', 'named-group share'],
        rows: s.perLayer.map((p) => [p.layer, p.top1, p.top5, p.top1Uncentred, p.top5Uncentred, p.valenceR, p.silhouette, p.groupShare]),
      },
    ],
  };
}

function lens(r: AnalysisResult): Section | null {
  const l = r.logitLens;
  if (!l) return null;
  const toks = (t: { token: string }[]) => t.map((x) => JSON.stringify(x.token).slice(1, -1)).join(' | ');
  return {
    title: 'Logit lens',
    intro: `Each unit vector at layer ${l.layer} pushed through the unembedding. ${l.note}.`,
    blocks: [{ kind: 'table', columns: ['emotion', `top ${l.topN}`, `bottom ${l.topN}`, `top ${l.topN} without final norm`, 'overlap'], rows: l.entries.map((e) => [e.emotion, toks(e.top), toks(e.bottom), toks(e.topWithoutNorm), e.overlap]) }],
  };
}

function intensity(r: AnalysisResult): Section | null {
  const it = r.intensity;
  if (!it) return null;
  const blocks: Block[] = it.sweeps.map((s) => ({
    kind: 'lines' as const,
    title: s.template,
    x: s.values,
    logX: s.values.every((v) => v > 0) && Math.max(...s.values) / Math.min(...s.values) >= 20,
    series: it.emotions.map((e, j) => ({ name: `${e} (rho ${s.trend[j]!.toFixed(2)})`, values: s.z.map((row) => row[j]!) })),
    xLabel: 'X',
    yLabel: it.scoreKind === 'z' ? 'z-score vs neutral' : 'cosine',
  }));
  return { title: 'Intensity sweeps', intro: `Layer ${it.layer}; ${it.note}.`, blocks };
}

/** The analysis as a report document (render with renderReport / writeReport). */
export function analysisReport(r: AnalysisResult): ReportDoc {
  const sections = [overview(r), geometry(r), ...clusters(r), norms(r), sweep(r), lens(r), intensity(r)].filter((s): s is Section => s !== null);
  return {
    title: `Emotion vectors of ${r.pack.model}`,
    subtitle: `limbic analyze: layer ${r.layer}, ${r.pack.emotions} emotions`,
    sections,
    footer: `Generated by limbic on ${r.createdAt}. Method after Sofroniew et al. 2026, "Emotion Concepts and their Function in a Large Language Model".${r.norms?.format === 'warriner' ? ' Norms: Warriner, Kuperman & Brysbaert (2013), CC BY-NC-ND 3.0.' : ''}`,
  };
}
