// The `implicit` experiment (SPEC.md section 3, "Implicit scenarios"): user messages that evoke one of
// the twelve showcase emotions without naming it (data/experiments/implicit.json, three per emotion)
// are rendered as a user turn with the generation prompt (plain "User: ...\nAssistant:" without a chat
// template), and the emotion read-outs are taken at the Assistant's first position (the last prompt
// token). Averaging over each emotion's messages gives a [scenario emotion x read-out emotion] matrix
// whose diagonal should be strong. Because some vectors read high everywhere, the diagonal is also
// scored after centring each column (subtracting its mean over scenarios): top-1 accuracy of the
// diagonal per row, and mean diagonal minus mean off-diagonal.
import { join } from 'node:path';
import { writeReport } from '../../report/html.ts';
import { readout } from '../../vectors/readout.ts';
import { ExperimentError, writeResults, type ExperimentContext, type ExperimentModule, type ExperimentSummary } from './common.ts';
import { checkOptions, checkPackForModel, readExperimentData, renderUserTurn, resolveEmotions, round, SHOWCASE_EMOTIONS, throwIfStopped } from './prompts.ts';

export interface ImplicitResults {
  experiment: 'implicit';
  model: string;
  layer: number;
  format: 'chat' | 'plain';
  scoreKind: 'z' | 'cosine';
  /** Scenario emotions (rows) and read-out emotions (columns). */
  scenarios: string[];
  emotions: string[];
  messages: Record<string, string[]>;
  /** [scenario][message][emotion] read-outs at the Assistant's first position. */
  perMessage: number[][][];
  /** [scenario][emotion] mean over the scenario's messages. */
  matrix: number[][];
  /** The same with each column's mean over scenarios subtracted. */
  centred: number[][];
  /** Per scenario whose emotion is read out: its own read-out's rank in the row (raw and centred). */
  diagonal: { scenario: string; own: number; rankRaw: number; rankCentred: number }[];
  top1Raw: number;
  top1Centred: number;
  /** Mean diagonal minus mean off-diagonal of the centred matrix. */
  contrast: number;
}

function loadScenarios(spec: string | undefined): { path: string; scenarios: Record<string, string[]> } {
  const { path, data } = readExperimentData(spec ?? 'implicit');
  const sc = (data as { scenarios?: unknown }).scenarios;
  if (!sc || typeof sc !== 'object' || Array.isArray(sc)) throw new ExperimentError(`${path}: expected { "scenarios": { "happy": ["...", ...], ... } }`);
  for (const [k, v] of Object.entries(sc)) {
    if (!Array.isArray(v) || v.length === 0 || !v.every((m) => typeof m === 'string' && m.trim())) throw new ExperimentError(`${path}: scenarios.${k} must be a non-empty list of messages`);
  }
  return { path, scenarios: sc as Record<string, string[]> };
}

async function run(ctx: ExperimentContext): Promise<ExperimentSummary> {
  const { model, pack } = ctx;
  checkPackForModel(pack, model);
  checkOptions('implicit', ctx.options, { scenarios: 'a JSON file like data/experiments/implicit.json' });
  const layer = ctx.layers?.[0] ?? pack.defaultLayer;
  pack.checkLayer(layer);
  const { path, scenarios } = loadScenarios(ctx.options['scenarios']);
  const rows = Object.keys(scenarios);
  const emotions = ctx.emotions?.length ? resolveEmotions(pack, ctx.emotions) : SHOWCASE_EMOTIONS.filter((e) => pack.emotions.includes(e));
  if (emotions.length === 0) throw new ExperimentError('none of the twelve showcase emotions is in this pack', 'pass --emotions with emotions the pack has');
  const hook = `blocks.${layer}.hook_resid_post`;
  const total = rows.length;
  ctx.onEvent?.({ type: 'start', experiment: 'implicit', units: total, done: 0 });
  let format: 'chat' | 'plain' = 'plain';
  const perMessage: number[][][] = [];
  for (const [i, sc] of rows.entries()) {
    throwIfStopped(ctx.signal, i, total);
    const turns = scenarios[sc]!.map((m) => renderUserTurn(model, m));
    format = turns[0]!.format;
    const res = await model.forward(turns.map((t) => t.ids), { capture: [hook], logits: 'none' });
    const cap = res.captures.get(hook)!; // [B, T, d]
    const [, T, d] = cap.dims as [number, number, number];
    perMessage.push(turns.map((_, b) => {
      const last = res.lengths[b]! - 1;
      const ro = readout(pack, cap.data.slice((b * T + last) * d, (b * T + last + 1) * d), layer, emotions); // [1, E]
      return Array.from(ro.z.data);
    }));
    ctx.onEvent?.({ type: 'progress', done: i + 1, total, note: sc });
  }
  const E = emotions.length;
  const matrix = perMessage.map((ms) => Array.from({ length: E }, (_, j) => ms.reduce((s, m) => s + m[j]!, 0) / ms.length));
  const colMean = Array.from({ length: E }, (_, j) => matrix.reduce((s, r) => s + r[j]!, 0) / matrix.length);
  const centred = matrix.map((r) => r.map((v, j) => v - colMean[j]!));
  const rank = (row: number[], j: number) => 1 + row.filter((v, k) => k !== j && v > row[j]!).length;
  const diagonal = rows.flatMap((sc, i) => {
    const j = emotions.indexOf(sc);
    return j < 0 ? [] : [{ scenario: sc, own: round(matrix[i]![j]!), rankRaw: rank(matrix[i]!, j), rankCentred: rank(centred[i]!, j) }];
  });
  let diag = 0;
  let off = 0;
  let nOff = 0;
  rows.forEach((sc, i) => {
    emotions.forEach((e, j) => {
      if (e === sc) diag += centred[i]![j]! / Math.max(1, diagonal.length);
      else if (rows.includes(e)) {
        off += centred[i]![j]!;
        nOff++;
      }
    });
  });
  const results: ImplicitResults = {
    experiment: 'implicit',
    model: model.id,
    layer,
    format,
    scoreKind: pack.meta.neutralBaselines[String(layer)] ? 'z' : 'cosine',
    scenarios: rows,
    emotions,
    messages: scenarios,
    perMessage: perMessage.map((ms) => ms.map((m) => m.map((v) => round(v)))),
    matrix: matrix.map((r) => r.map((v) => round(v))),
    centred: centred.map((r) => r.map((v) => round(v))),
    diagonal,
    top1Raw: diagonal.filter((x) => x.rankRaw === 1).length / Math.max(1, diagonal.length),
    top1Centred: diagonal.filter((x) => x.rankCentred === 1).length / Math.max(1, diagonal.length),
    contrast: round(diag - (nOff ? off / nOff : 0)),
  };
  writeResults(ctx.outDir, results);
  writeReport(join(ctx.outDir, 'report.html'), {
    title: `Implicit scenarios: ${model.id}`,
    subtitle: 'limbic implicit experiment: emotion read-outs at the Assistant\'s first position after messages that evoke an emotion without naming it',
    sections: [
      {
        title: 'Scenario x read-out',
        intro: `Layer ${layer}; ${format === 'chat' ? 'chat template with the generation prompt' : 'plain "User: ...\\nAssistant:" text'}; ${results.scoreKind === 'z' ? 'z-scores against neutral text' : 'cosines'}, averaged over each scenario's messages (${path}). The diagonal is the top read-out of its row in ${diagonal.filter((x) => x.rankRaw === 1).length}/${diagonal.length} rows, ${diagonal.filter((x) => x.rankCentred === 1).length}/${diagonal.length} after centring columns.`,
        blocks: [
          { kind: 'heatmap', title: 'Read-outs', rowLabels: rows, colLabels: emotions, values: results.matrix, palette: 'diverging', valueLabel: results.scoreKind },
          { kind: 'heatmap', title: 'Column-centred', caption: 'Each column minus its mean over scenarios: what is specific to each scenario.', rowLabels: rows, colLabels: emotions, values: results.centred, palette: 'diverging', valueLabel: 'centred' },
          { kind: 'table', columns: ['scenario', 'own read-out', 'rank (raw)', 'rank (centred)'], rows: diagonal.map((x) => [x.scenario, x.own, x.rankRaw, x.rankCentred]) },
        ],
      },
      { title: 'Messages', blocks: [{ kind: 'table', columns: ['scenario', 'message'], rows: rows.flatMap((sc) => scenarios[sc]!.map((m) => [sc, m])) }] },
    ],
    footer: 'Written by limbic. Every number is in results.json next to this file.',
  });
  ctx.onEvent?.({ type: 'done', outDir: ctx.outDir });
  const top = (row: number[]) => emotions.map((e, j) => ({ e, v: row[j]! })).sort((a, b) => b.v - a.v)[0]!.e;
  return {
    columns: ['scenario', 'own read-out', 'rank (raw)', 'rank (centred)', 'top (centred)'],
    rows: rows.map((sc, i) => {
      const d = diagonal.find((x) => x.scenario === sc);
      return [sc, d ? d.own.toFixed(2) : '-', d ? `${d.rankRaw}/${E}` : '-', d ? `${d.rankCentred}/${E}` : '-', top(centred[i]!)];
    }),
    notes: [
      `read at the Assistant's first position, layer ${layer} (${format} prompts); diagonal top-1: ${diagonal.filter((x) => x.rankRaw === 1).length}/${diagonal.length} raw, ${diagonal.filter((x) => x.rankCentred === 1).length}/${diagonal.length} column-centred (chance ${(1 / E).toFixed(2)})`,
      `centred diagonal minus off-diagonal: ${results.contrast.toFixed(2)}`,
    ],
  };
}

export const implicit: ExperimentModule = {
  name: 'implicit',
  summary: 'messages that evoke each showcase emotion without naming it; read-outs at the Assistant\'s first position (12x12, diagonal should be strong)',
  requirements: 'an instruct model with a chat template (base models work with plain User/Assistant text); a strong diagonal needs a model that understands the scenarios (about 1B parameters and up)',
  run,
};

export default implicit;
