// `limbic analyze`: validates a vector pack (geometry against valence/arousal norms, clusters,
// neighbours; with --model also the logit lens, a layer sweep on held-out stories and, with
// --intensity, intensity sweeps), prints a readable summary or --json, and writes --html reports.
import { LimbicError } from '../../engine/errors.ts';
import type { Model } from '../../engine/model.ts';
import { analyzePack, type AnalysisResult, type AnalyzeEvent, type AnalyzeOptions } from '../../experiments/analyze.ts';
import { analysisReport } from '../../experiments/analysis/report.ts';
import { loadNorms } from '../../experiments/norms.ts';
import { writeReport } from '../../report/html.ts';
import { VectorPack } from '../../vectors/pack.ts';
import { MODEL_OPTIONS, num, openModel, parse, UsageError } from '../args.ts';
import { formatBytes, ProgressBar } from '../progress.ts';

const USAGE = `usage: limbic analyze --vectors <pack-dir> [--model <m>] [--layer L] [--norms file] [--rater] [--k 10]
  [--intensity] [--emotions a,b] [--stories N] [--skip lens,sweep] [--seed 1] [--json] [--html report.html]
  --vectors   a vector pack (npx limbic extract ... --out <dir>)
  --model     the pack's model: adds the logit lens, a layer sweep on held-out stories, --intensity and --rater
  --layer     layer to analyse (default: the sweep's recommendation, else the pack's default layer)
  --norms     human ratings: Warriner 2013 CSV, NRC-VAD TSV, or CSV word,valence,arousal
  --rater     ask the model to rate (1-7) the words the norms miss (all words without --norms)
  --k         k-means clusters (default 10); --seed for k-means (default 1)
  --intensity intensity sweeps (tylenol mg, hours without water, days a dog is missing)
  --emotions  emotions for the intensity curves and the logit lens (default: afraid,calm,sad,happy,desperate / all)
  --stories   evaluate at most N held-out stories in the layer sweep
  --skip      comma list of model stages to skip: lens, sweep
  --json      print the full result as JSON on stdout
  --html      write a self-contained HTML report`;

const OPTIONS = {
  ...MODEL_OPTIONS,
  vectors: { type: 'string' },
  layer: { type: 'string', short: 'l' },
  norms: { type: 'string' },
  rater: { type: 'boolean' },
  k: { type: 'string' },
  seed: { type: 'string' },
  intensity: { type: 'boolean' },
  emotions: { type: 'string', short: 'e' },
  stories: { type: 'string' },
  skip: { type: 'string' },
  json: { type: 'boolean' },
  html: { type: 'string' },
} as const;

const f2 = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(2));
const pct = (v: number | undefined) => (v === undefined ? 'n/a' : `${(v * 100).toFixed(1)}%`);

/** Renders analysis progress events as progress bars on stderr. */
function progressRenderer(): (e: AnalyzeEvent) => void {
  let bar: ProgressBar | null = null;
  return (e) => {
    if (e.type === 'stage') {
      bar?.finish();
      bar = e.total > 1 ? new ProgressBar({ label: e.label, total: e.total, unit: 'items', plainEveryPercent: 25 }) : null;
    } else if (e.type === 'progress') bar?.update(e.done);
    else if (e.type === 'stage-done') {
      bar?.finish();
      bar = null;
    } else process.stderr.write(`${e.message}\n`);
  };
}

/** The human-readable summary printed after an analysis. */
export function formatSummary(r: AnalysisResult): string {
  const out: string[] = [];
  const why = r.layerSource === 'option' ? 'given with --layer' : r.layerSource === 'sweep' ? 'recommended by the layer sweep' : 'the pack\'s default layer';
  out.push(`pack: ${r.pack.model} (${r.pack.arch}, dModel ${r.pack.dModel}), ${r.pack.emotions} emotions, layers ${r.pack.layers.join(', ')}`);
  out.push(`analysed layer: ${r.layer} (${why})`);
  if (r.norms) {
    const n = r.norms;
    const how = Object.entries(n.byMethod).filter(([, c]) => c > 0).map(([m, c]) => `${m} ${c}`).join(', ');
    out.push(`norms: ${n.source} [${n.format}, scale ${n.originalScale.min}..${n.originalScale.max}${n.scaleInferred ? ' (inferred)' : ''} -> 0..1]: ${n.matched.length}/${r.pack.emotions} words (${how || 'none'})`);
    if (n.missing.length) out.push(`  missing: ${n.missing.slice(0, 20).join(', ')}${n.missing.length > 20 ? `, ... (${n.missing.length})` : ''}`);
  } else out.push('norms: none (pass --norms <file> or --rater to correlate PC1/PC2 with valence/arousal)');
  if (r.rater) out.push(`model-as-rater (${r.rater.promptFormat} prompt): ${r.rater.rated} words rated, ${r.rater.failures.length} unparseable replies`);
  const ve = r.pca.varianceExplained;
  out.push('', `PCA (${r.pca.on} vectors): ${ve.slice(0, 5).map((v, i) => `PC${i + 1} ${pct(v)}`).join(', ')}`);
  const c1 = r.pca.pc1Valence;
  const c2 = r.pca.pc2Arousal;
  if (c1) out.push(`  PC1 ~ valence: r = ${f2(c1.pearson)}, rho = ${f2(c1.spearman)} (n = ${c1.n})`);
  if (c2) out.push(`  PC2 ~ arousal: r = ${f2(c2.pearson)}, rho = ${f2(c2.spearman)} (n = ${c2.n})`);
  out.push(`  ${r.pca.orientationNote}`);
  out.push(`  PC1 high: ${r.pca.extremes.pc1High.join(', ')} | low: ${r.pca.extremes.pc1Low.join(', ')}`);
  out.push(`  PC2 high: ${r.pca.extremes.pc2High.join(', ')} | low: ${r.pca.extremes.pc2Low.join(', ')}`);
  out.push('', `clusters (k = ${r.clusters.k}, seed ${r.clusters.seed}, best of ${r.clusters.restarts} starts, silhouette ${f2(r.clusters.silhouette)}), by mean PC1:`);
  for (const c of r.clusters.clusters) out.push(`  ${String(c.id + 1).padStart(2)}. ${c.exemplar} (${c.members.length}): ${c.members.slice(0, 10).join(', ')}${c.members.length > 10 ? ', ...' : ''}`);
  const g = r.clusters.groups;
  if (g.groups.length) out.push(`  named groups kept together: ${g.groups.map((x) => `${x.name} ${f2(x.share)}`).join(', ')}`);
  if (r.layerSweep) {
    const s = r.layerSweep;
    out.push('', `layer sweep: ${s.stories} held-out stories, ${s.emotionsCovered} emotions (chance top-1 ${f2(s.chance.top1)}, top-5 ${f2(s.chance.top5)})`);
    out.push('  layer  top-1  top-5  PC1~val r  silhouette');
    for (const p of s.perLayer) out.push(`  ${p.layer === s.recommended.layer ? '*' : ' '}${String(p.layer).padStart(4)}  ${f2(p.top1).padStart(5)}  ${f2(p.top5).padStart(5)}  ${f2(p.valenceR).padStart(9)}  ${f2(p.silhouette).padStart(10)}`);
    out.push(`  recommended: ${s.recommended.reason}`);
  }
  if (r.logitLens) {
    const l = r.logitLens;
    const show = l.entries.slice(0, 12);
    out.push('', `logit lens (layer ${l.layer}, through the final norm; top / bottom tokens):`);
    for (const e of show) out.push(`  ${e.emotion}: ${e.top.slice(0, 6).map((t) => JSON.stringify(t.token)).join(' ')} / ${e.bottom.slice(0, 4).map((t) => JSON.stringify(t.token)).join(' ')}`);
    if (l.entries.length > show.length) out.push(`  ... ${l.entries.length - show.length} more in --json / --html`);
  }
  if (r.intensity) {
    const it = r.intensity;
    out.push('', `intensity (layer ${it.layer}, ${it.format} prompt, ${it.scoreKind}; Spearman rho with X):`);
    for (const s of it.sweeps) out.push(`  ${s.id}: ${it.emotions.map((e, j) => `${e} ${f2(s.trend[j])}`).join(', ')}`);
  }
  if (r.notes.length) out.push('', ...r.notes.map((n) => `note: ${n}`));
  return out.join('\n');
}

function loadPack(path: string): VectorPack {
  return VectorPack.load(path);
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, OPTIONS, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.vectors) throw new UsageError('--vectors is required', USAGE);
  const pack = loadPack(values.vectors);
  const opts: AnalyzeOptions = {};
  if (values.layer !== undefined) {
    const layer = num(values.layer, 'layer');
    if (!pack.layers.includes(layer)) throw new UsageError(`layer ${layer} is not in the pack ${values.vectors}`, `the pack has layers ${pack.layers.join(', ')}`);
    opts.layer = layer;
  }
  if (values.emotions !== undefined) {
    const list = values.emotions.split(',').map((s) => s.trim()).filter(Boolean);
    for (const e of list) {
      try {
        pack.emotionIndex(e);
      } catch (err) {
        throw new UsageError(`unknown emotion "${e}" in --emotions`, (err as LimbicError).hint);
      }
    }
    if (list.length === 0) throw new UsageError('--emotions needs at least one emotion', USAGE);
    opts.emotions = list;
  }
  if (values.k !== undefined) {
    const k = num(values.k, 'k');
    if (!Number.isInteger(k) || k < 1) throw new UsageError(`--k expects a positive whole number, got ${values.k}`);
    opts.k = k;
  }
  if (values.seed !== undefined) opts.seed = num(values.seed, 'seed');
  if (values.stories !== undefined) opts.maxStories = num(values.stories, 'stories');
  const skip = new Set((values.skip ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  for (const s of skip) if (s !== 'lens' && s !== 'sweep') throw new UsageError(`--skip: unknown stage "${s}"`, 'stages that can be skipped: lens, sweep');
  opts.lens = !skip.has('lens');
  opts.sweep = !skip.has('sweep');
  if ((values.rater || values.intensity) && !values.model) throw new UsageError(`${values.rater ? '--rater' : '--intensity'} needs --model`, USAGE);
  if (values.norms !== undefined) opts.norms = loadNorms(values.norms);
  opts.rater = values.rater ?? false;
  opts.intensity = values.intensity ?? false;
  opts.onEvent = progressRenderer();
  let model: Model | null = null;
  if (values.model) model = await openModel(values, USAGE);
  try {
    opts.model = model;
    const result = await analyzePack(pack, opts);
    let reportNote = '';
    if (values.html) {
      const bytes = writeReport(values.html, analysisReport(result));
      reportNote = `report: ${values.html} (${formatBytes(bytes)})`;
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      if (reportNote) process.stderr.write(`${reportNote}\n`);
    } else {
      process.stdout.write(`${formatSummary(result)}\n`);
      if (reportNote) process.stdout.write(`\n${reportNote}\n`);
    }
    return 0;
  } finally {
    await model?.dispose();
  }
}
