// The `feel` experiment: a validation that steering does what it says. For each showcase emotion in
// the pack, the model reads neutral third-person prompts ending in "He feels" / "She feels" while the
// emotion's vector is added at every position (s = +0.1 and -0.1 of the residual norm by default), and
// the log-probability of each showcase emotion word as the continuation (the word with a leading space,
// teacher-forced and summed over its tokens) is compared with the unsteered model. The result is a
// [steered emotion x word] table of mean changes over prompts; steering up an emotion should raise its
// own word most (a rising diagonal), steering down should lower it.
// One unit of work = one prompt under one condition (all words in one batch); units are resumable.
import { join } from 'node:path';
import { writeReport, type Block } from '../../report/html.ts';
import { packSteeringForward } from '../steering.ts';
import { conditionsFor, ExperimentError, RolloutStore, writeResults, type ExperimentContext, type ExperimentModule, type ExperimentSummary } from './common.ts';
import {
  checkOptions,
  checkPackForModel,
  checkRunConfig,
  continuationIds,
  readExperimentData,
  renderPlain,
  resolveEmotions,
  round,
  SHOWCASE_EMOTIONS,
  teacherForced,
  throwIfStopped,
  type ForcedRow,
} from './prompts.ts';

export const FEEL_DEFAULT_STRENGTHS: readonly number[] = [0.1, -0.1];

interface FeelUnit {
  id: string;
  condition: string;
  prompt: number;
  /** Per word: summed log-prob of its tokens after the prompt. */
  logprobs: number[];
}

export interface FeelRow {
  emotion: string;
  strength: number;
  /** Per word: mean over prompts of (steered - unsteered) log-prob. */
  delta: number[];
  /** The emotion's own word: its change, its rank among the row (1 = moved most in the steering direction), and its change minus the mean of the others. */
  own: { delta: number; rank: number; selectivity: number } | null;
}

export interface FeelResults {
  experiment: 'feel';
  model: string;
  layers: number[];
  strengths: number[];
  /** Strengths are fractions of each layer's mean residual norm; the absolute scale per layer. */
  residNorms: Record<string, number>;
  prompts: string[];
  words: string[];
  wordTokens: number[][][];
  emotions: string[];
  /** [prompt][word] unsteered log-probs. */
  baseline: number[][];
  rows: FeelRow[];
  /** Per strength: mean own-word change (diagonal) vs mean change of the other words (off-diagonal). */
  diagonal: { strength: number; diagonal: number; offDiagonal: number; topRanked: number; rows: number }[];
  /** Every unit: condition x prompt x word log-probs. */
  units: { condition: string; prompt: number; logprobs: number[] }[];
}

function parsePrompts(spec: string | undefined): { source: string; prompts: string[] } {
  if (spec && spec.includes('|')) return { source: 'command line', prompts: spec.split('|').map((s) => s.trim()).filter(Boolean) };
  const { path, data } = readExperimentData(spec ?? 'feel');
  const prompts = (data as { prompts?: unknown }).prompts;
  if (!Array.isArray(prompts) || prompts.length === 0 || !prompts.every((p) => typeof p === 'string' && p.trim())) {
    throw new ExperimentError(`${path}: expected { "prompts": ["... He feels", ...] }`);
  }
  return { source: path, prompts: prompts as string[] };
}

async function run(ctx: ExperimentContext): Promise<ExperimentSummary> {
  const { model, pack } = ctx;
  checkPackForModel(pack, model);
  checkOptions('feel', ctx.options, { prompts: 'a JSON file { prompts: [...] } or prompts separated by |', words: 'comma-separated words to score' });
  const emotions = ctx.emotions?.length ? resolveEmotions(pack, ctx.emotions) : SHOWCASE_EMOTIONS.filter((e) => pack.emotions.includes(e));
  if (emotions.length === 0) throw new ExperimentError('none of the twelve showcase emotions is in this pack', 'pass --emotions with emotions the pack has');
  const words = ctx.options['words'] ? ctx.options['words'].split(',').map((w) => w.trim()).filter(Boolean) : [...SHOWCASE_EMOTIONS];
  const strengths = ctx.strengths.length ? [...ctx.strengths] : [...FEEL_DEFAULT_STRENGTHS];
  const layers = ctx.layers?.length ? [...ctx.layers] : [pack.defaultLayer];
  layers.forEach((l) => pack.checkLayer(l));
  const { source, prompts } = parsePrompts(ctx.options['prompts']);
  checkRunConfig(ctx.outDir, 'feel', { model: model.id, weightsHash: model.weightsHash(), emotions, words, strengths, layers, prompts });

  // Each prompt with each word as a continuation (tokenized together with the prompt).
  const forced: ForcedRow[][] = prompts.map((p) => {
    const r = renderPlain(model, p);
    return words.map((w) => {
      const { context, added } = continuationIds(model, r, ` ${w}`);
      return { context, target: added };
    });
  });
  const conditions = conditionsFor(emotions, strengths);
  const store = new RolloutStore<FeelUnit>(ctx.outDir, 'feel-units.jsonl');
  const ids = conditions.flatMap((c) => prompts.map((_, p) => `${c.name}|${p}`));
  let done = ids.filter((id) => store.has(id)).length;
  ctx.onEvent?.({ type: 'start', experiment: 'feel', units: ids.length, done });
  for (const c of conditions) {
    const steer = packSteeringForward(pack, c.strengths, { layers });
    for (let p = 0; p < prompts.length; p++) {
      const id = `${c.name}|${p}`;
      if (store.has(id)) continue;
      throwIfStopped(ctx.signal, done, ids.length);
      const logprobs = await teacherForced(model, forced[p]!, { steer });
      store.add({ id, condition: c.name, prompt: p, logprobs });
      done++;
      ctx.onEvent?.({ type: 'progress', done, total: ids.length, note: c.name });
    }
  }

  const get = (cond: string, p: number) => store.get(`${cond}|${p}`)!.logprobs;
  const baseline = prompts.map((_, p) => get('unsteered', p));
  const rows: FeelRow[] = [];
  for (const c of conditions.slice(1)) {
    const [emotion, strength] = Object.entries(c.strengths)[0]!;
    const delta = words.map((_, w) => prompts.reduce((s, _p, p) => s + (get(c.name, p)[w]! - baseline[p]![w]!) / prompts.length, 0));
    const k = words.indexOf(emotion);
    let own: FeelRow['own'] = null;
    if (k >= 0) {
      const sign = Math.sign(strength) || 1;
      const rank = 1 + delta.filter((d, j) => j !== k && sign * d > sign * delta[k]!).length;
      const others = delta.filter((_, j) => j !== k);
      own = { delta: delta[k]!, rank, selectivity: delta[k]! - others.reduce((s, v) => s + v, 0) / Math.max(1, others.length) };
    }
    rows.push({ emotion, strength, delta, own });
  }
  const diagonal = strengths.map((s) => {
    const rs = rows.filter((r) => r.strength === s && r.own);
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
    return {
      strength: s,
      diagonal: mean(rs.map((r) => r.own!.delta)),
      offDiagonal: mean(rs.flatMap((r) => r.delta.filter((_, j) => words[j] !== r.emotion))),
      topRanked: rs.filter((r) => r.own!.rank === 1).length,
      rows: rs.length,
    };
  });

  const results: FeelResults = {
    experiment: 'feel',
    model: model.id,
    layers,
    strengths,
    residNorms: Object.fromEntries(layers.map((l) => [String(l), pack.residNorm(l)])),
    prompts,
    words,
    wordTokens: forced.map((rs) => rs.map((r) => [...r.target])),
    emotions,
    baseline,
    rows,
    diagonal,
    units: conditions.flatMap((c) => prompts.map((_, p) => ({ condition: c.name, prompt: p, logprobs: get(c.name, p) }))),
  };
  writeResults(ctx.outDir, results);
  writeFeelReport(join(ctx.outDir, 'report.html'), results, source);
  ctx.onEvent?.({ type: 'done', outDir: ctx.outDir });

  const sgn = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;
  return {
    columns: ['emotion', 'strength', 'own word change', 'rank of own word', 'own minus others'],
    rows: rows.map((r) => [r.emotion, sgn(r.strength), r.own ? sgn(r.own.delta) : '-', r.own ? `${r.own.rank}/${words.length}` : '-', r.own ? sgn(r.own.selectivity) : '-']),
    notes: [
      `log-prob changes (nats) of each word after ${prompts.length} "... feels" prompts, steering at layer${layers.length > 1 ? 's' : ''} ${layers.join(', ')} (strength = fraction of the residual norm)`,
      ...diagonal.map((d) => `strength ${sgn(d.strength)}: own word ${sgn(d.diagonal)} vs other words ${sgn(d.offDiagonal)} on average; own word moved most in ${d.topRanked} of ${d.rows} rows`),
    ],
  };
}

function writeFeelReport(path: string, r: FeelResults, source: string): void {
  const blocks: Block[] = [];
  for (const s of r.strengths) {
    const rs = r.rows.filter((x) => x.strength === s);
    blocks.push({
      kind: 'heatmap',
      title: `Steering at ${s >= 0 ? '+' : ''}${s} x residual norm`,
      caption: 'Rows: the steered emotion. Columns: the word whose log-probability after "... feels" is measured. Cells: mean change in nats against the unsteered model.',
      rowLabels: rs.map((x) => x.emotion),
      colLabels: r.words,
      values: rs.map((x) => x.delta.map((v) => round(v, 3))),
      palette: 'diverging',
      showValues: true,
      valueLabel: 'change in log-prob (nats)',
    });
  }
  const d = r.diagonal;
  const report = {
    title: `Does steering move the emotion words? (${r.model})`,
    subtitle: 'limbic feel experiment: the log-probability of each emotion word after neutral "... He feels" prompts, with and without steering',
    sections: [
      {
        title: 'Summary',
        intro: 'Steering up an emotion should raise the probability of its own word more than the others (a red diagonal); steering down should lower it.',
        blocks: [
          {
            kind: 'facts' as const,
            facts: [
              ['model', r.model],
              ['layers', r.layers.join(', ')],
              ['residual norm', Object.entries(r.residNorms).map(([l, n]) => `layer ${l}: ${n.toFixed(3)}`).join('; ')],
              ['prompts', `${r.prompts.length} (${source})`],
              ...d.map((x): [string, string] => [`strength ${x.strength}`, `own word ${x.diagonal.toFixed(3)} vs others ${x.offDiagonal.toFixed(3)} nats; own word moved most in ${x.topRanked}/${x.rows} rows`]),
            ] as [string, string | number][],
          },
          ...blocks,
        ],
      },
      {
        title: 'Per emotion',
        blocks: [
          {
            kind: 'table' as const,
            columns: ['emotion', 'strength', 'own word change', 'rank', 'own minus others'],
            rows: r.rows.map((x) => [x.emotion, x.strength, x.own?.delta ?? null, x.own ? x.own.rank : null, x.own?.selectivity ?? null]),
          },
        ],
      },
      {
        title: 'Prompts and unsteered log-probabilities',
        blocks: [
          {
            kind: 'table' as const,
            columns: ['prompt', ...r.words],
            rows: r.prompts.map((p, i) => [p, ...r.baseline[i]!]),
          },
        ],
      },
    ],
    footer: 'Written by limbic. Every number is in results.json next to this file.',
  };
  writeReport(path, report);
}

export const feel: ExperimentModule = {
  name: 'feel',
  summary: 'steer each showcase emotion on neutral "... He feels" prompts and measure how the log-probability of each emotion word moves (validation)',
  requirements: 'any model with a vector pack; meaningful from small base models up (the words should be in the model\'s vocabulary or spelt with a few tokens)',
  run,
};

export default feel;
