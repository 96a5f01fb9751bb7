// The sycophancy experiment (SPEC.md section 4: more happy/loving/calm -> more sycophancy, less ->
// harsher replies): prompts of limbic's own where the user pushes back on a correct answer or asks
// to have a false belief confirmed; one sampled reply per rollout under each steering condition
// (unsteered, happy/loving/calm +/- s by default, steering over the whole transcript); every reply
// graded twice, for capitulation and for harshness; rates with Wilson 95% intervals per condition.
// Writes rollouts.jsonl (resumable), results.json and report.html into the output folder.
import { join } from 'node:path';
import { writeReport, type Block } from '../../report/html.ts';
import { LIMBIC_VERSION } from '../extract.ts';
import { RolloutStore, writeResults, type Condition, type ExperimentContext, type ExperimentModule, type ExperimentSummary } from './common.ts';
import type { Grade } from './grader.ts';
import {
  JUDGE_OPTIONS, READ_LAYER_OPTION, TOP_P_OPTION, buildConditions, checkSettings, examplesSection, fmt, graderSettings, gradingNote, interval, intervalChartHtml, mean,
  optionReader, pct, rateWhere, ratesBy, readSampling, rolloutHead, rolloutUnits, runGradedUnits, sampleRollout, settingsSection, summariseReadout, symmetric,
  type Rate, type ReadoutSummary, type RolloutHead, type RolloutReply,
} from './graderRollout.ts';
import { capitulationRubric, harshnessRubric, loadSycophancyData, sycophancyTranscript } from './sycophancyPrompts.ts';

const NAME = 'sycophancy';
const DEFAULT_EMOTIONS = ['happy', 'loving', 'calm'];

const OPTIONS = {
  temperature: 'sampling temperature, default 0.7',
  topP: TOP_P_OPTION,
  prompts: 'comma-separated prompt ids or kinds (pushback, validation), default all',
  readLayer: READ_LAYER_OPTION,
  ...JUDGE_OPTIONS,
};

export interface SycophancyRollout extends RolloutHead, RolloutReply {
  promptId: string;
  kind: 'pushback' | 'validation';
  capitulation: Grade;
  harshness: Grade;
  capitulates: boolean;
  harsh: boolean;
  readout: Record<string, ReadoutSummary>;
}

export interface SycophancyConditionResult {
  name: string;
  strengths: Record<string, number>;
  capitulation: Rate;
  harshness: Rate;
  /** Mean 1-5 harshness score over replies that have one. */
  harshnessScore: number | null;
  capitulationByKind: Record<string, Rate>;
  readout: Record<string, number | null>;
}

const PAPER = 'Paper (Claude Sonnet 4.5): steering toward happy, loving or calm raised sycophancy; steering away from them made replies harsher.';

async function run(ctx: ExperimentContext): Promise<ExperimentSummary> {
  const opt = optionReader(NAME, ctx.options, OPTIONS);
  const { model, pack } = ctx;
  const sampling = readSampling(opt, ctx, { temperature: 0.7, maxTokens: 300 });
  const data = loadSycophancyData(undefined, opt.list('prompts'));
  const emotions = ctx.emotions?.length ? [...ctx.emotions] : DEFAULT_EMOTIONS;
  const strengths = symmetric(ctx.strengths, [0.05]);
  const conditions = buildConditions(pack, emotions, strengths);

  const store = new RolloutStore<SycophancyRollout>(ctx.outDir);
  const settings = { model: model.id, packCreated: pack.meta.createdAt, ...sampling, prompts: data.prompts.map((p) => p.id), ...graderSettings(ctx, opt) };
  checkSettings(ctx.outDir, NAME, settings);

  const units = rolloutUnits(ctx, conditions, data.prompts);
  const { records, grading } = await runGradedUnits(NAME, ctx, opt, store, units, async (u, grader): Promise<SycophancyRollout | null> => {
    const prompt = u.item;
    const s = await sampleRollout(ctx, sampling, { messages: prompt.messages, strengths: u.condition.strengths, readEmotions: emotions, seed: u.seed });
    if (!s) return null;
    const transcript = sycophancyTranscript(prompt, s.text);
    const capitulation = await grader.grade(capitulationRubric(data.capitulationText, prompt), transcript, ctx.signal);
    const harshness = await grader.grade(harshnessRubric(data.harshnessText, prompt), transcript, ctx.signal);
    return {
      ...rolloutHead(u), promptId: prompt.id, kind: prompt.kind,
      text: s.text, tokens: s.tokens, finishReason: s.finishReason, promptTruncated: s.promptTruncated, capitulation, harshness,
      capitulates: capitulation.label === 'capitulates', harsh: harshness.label === 'harsh', readout: summariseReadout(s.z, emotions),
    };
  }, (r) => [r.capitulation, r.harshness], (r) => `${r.id}: ${r.capitulation.label}, ${r.harshness.label}`);

  const results = summarise(conditions, records, emotions);
  writeResults(ctx.outDir, { experiment: NAME, limbicVersion: LIMBIC_VERSION, model: model.id, settings: { ...settings, rollouts: ctx.rollouts, strengths, emotions }, grading, conditions: results, rollouts: records, paper: PAPER });
  writeReport(join(ctx.outDir, 'report.html'), report(model.id, results, records, emotions, { ...settings, ...grading }));
  ctx.onEvent?.({ type: 'done', outDir: ctx.outDir });

  const notes = [
    `${gradingNote(grading)}; ${data.prompts.length} prompts, rollout i uses prompt i mod ${data.prompts.length}`,
    PAPER,
  ];
  if (records.some((r) => r.promptTruncated)) notes.unshift(`warning: prompts were cut to fit the model's ${model.config.nCtx}-token context`);
  return {
    columns: ['condition', 'n', 'capitulates', '95% CI', 'harsh', 'harsh 95% CI', 'harshness 1-5', ...emotions.map((e) => `${e} z`)],
    rows: results.map((c) => [c.name, c.capitulation.n, pct(c.capitulation.rate), interval(c.capitulation), pct(c.harshness.rate), interval(c.harshness), fmt(c.harshnessScore), ...emotions.map((e) => fmt(c.readout[e]))]),
    notes,
  };
}

function summarise(conditions: readonly Condition[], records: readonly SycophancyRollout[], emotions: readonly string[]): SycophancyConditionResult[] {
  return conditions.map((c) => {
    const rs = records.filter((r) => r.condition === c.name);
    const byKind = ratesBy(rs, ['pushback', 'validation'], (r) => r.kind, (r) => r.capitulates);
    const scores = rs.map((r) => r.harshness.score).filter((s): s is number => s !== undefined && Number.isFinite(s));
    return {
      name: c.name,
      strengths: { ...c.strengths },
      capitulation: rateWhere(rs, (r) => r.capitulates),
      harshness: rateWhere(rs, (r) => r.harsh),
      harshnessScore: mean(scores),
      capitulationByKind: byKind,
      readout: Object.fromEntries(emotions.map((e) => [e, mean(rs.map((r) => r.readout[e]!.mean))])),
    };
  });
}

function report(modelId: string, results: readonly SycophancyConditionResult[], records: readonly SycophancyRollout[], emotions: readonly string[], settings: Record<string, unknown>) {
  const examples: Block[] = [];
  for (const c of results) {
    const r = records.find((x) => x.condition === c.name && x.capitulates) ?? records.find((x) => x.condition === c.name);
    if (!r) continue;
    examples.push({ kind: 'text', title: `${r.id} (${r.promptId}): ${r.capitulation.label}, ${r.harshness.label}`, text: r.text.slice(0, 1500) || '(empty reply)', caption: `${r.capitulation.rationale.slice(0, 300)} | ${r.harshness.rationale.slice(0, 200)}` });
  }
  return {
    title: `Sycophancy under emotion steering: ${modelId}`,
    subtitle: `${records.length} rollouts, ${results.length} conditions. ${PAPER}`,
    sections: [
      {
        title: 'Capitulation rate by condition',
        intro: 'Share of replies that give in to the false claim, with Wilson 95% intervals.',
        blocks: [{ kind: 'html' as const, html: intervalChartHtml(results.map((c) => ({ label: c.name, rate: c.capitulation })), 'capitulation rate') }],
      },
      {
        title: 'Harshness rate by condition',
        intro: 'Share of replies graded harsh (belittling or insulting), with Wilson 95% intervals.',
        blocks: [{ kind: 'html' as const, html: intervalChartHtml(results.map((c) => ({ label: c.name, rate: c.harshness })), 'harshness rate') }],
      },
      {
        title: 'Table',
        blocks: [{
          kind: 'table' as const,
          columns: ['condition', 'n', 'capitulates', '95% low', '95% high', 'pushback', 'validation', 'harsh', '95% low', '95% high', 'harshness 1-5', ...emotions.map((e) => `${e} z`)],
          rows: results.map((c) => [c.name, c.capitulation.n, c.capitulation.rate, c.capitulation.low, c.capitulation.high, ...(['pushback', 'validation'] as const).map((k) => (c.capitulationByKind[k]!.n ? c.capitulationByKind[k]!.rate : null)), c.harshness.rate, c.harshness.low, c.harshness.high, c.harshnessScore, ...emotions.map((e) => c.readout[e])]),
        }],
      },
      examplesSection('Example replies', 'Per condition, the first capitulating reply (or the first reply).', examples),
      settingsSection(settings),
    ],
    footer: `limbic ${LIMBIC_VERSION}; prompts written for limbic (data/experiments/sycophancy).`,
  };
}

export const experiment: ExperimentModule = {
  name: NAME,
  summary: 'Pushback on correct answers and requests to confirm false beliefs: capitulation and harshness rates per steering condition (happy, loving, calm +/-).',
  requirements:
    'An instruct model with a chat template that answers the questions correctly when unsteered (otherwise there is nothing to capitulate from): 3B+ at the least, 7B+ for stable rates, ' +
    'and a pack with happy, loving and calm (or --emotions). A judge (--grader <instruct model> or an OpenAI-compatible URL) grades far better than the keyword fallback. ' +
    'Use rollouts of at least a few times the 16 prompts per condition. Tiny models produce noise and only exercise the machinery. ' +
    PAPER,
  run,
};
