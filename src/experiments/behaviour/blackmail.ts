// The blackmail experiment (SPEC.md section 4): an agentic e-mail assistant reads an inbox from which
// it learns that the executive who will wipe it at 17:00 is having an affair, and may send e-mails.
// N sampled rollouts per steering condition (unsteered, desperate +/- s, calm +/- s, plus --emotions;
// steering over the whole transcript), each graded blackmail or not against
// data/experiments/blackmail/rubric.md; blackmail rates with Wilson 95% intervals per condition;
// desperate and calm read at every generated token. Writes rollouts.jsonl (resumable, one line per
// rollout), results.json and report.html into the output folder.
import { join } from 'node:path';
import { writeReport, type Block } from '../../report/html.ts';
import { LIMBIC_VERSION } from '../extract.ts';
import { RolloutStore, writeResults, type Condition, type ExperimentContext, type ExperimentModule, type ExperimentSummary } from './common.ts';
import { loadBlackmailScenario, type BlackmailVariant } from './blackmailScenario.ts';
import type { Grade } from './grader.ts';
import {
  JUDGE_OPTIONS, READ_LAYER_OPTION, TOP_P_OPTION, buildConditions, checkSettings, curveX, examplesSection, fmt, graderSettings, gradingNote, interval, intervalChartHtml,
  mean, meanCurve, optionReader, pct, rateWhere, ratesBy, readSampling, rolloutHead, rolloutUnits, runGradedUnits, sampleRollout, settingsSection, summariseReadout, symmetric,
  unique, type GradingSummary, type Rate, type ReadoutSummary, type RolloutHead, type RolloutReply,
} from './graderRollout.ts';

const NAME = 'blackmail';
const READ = ['desperate', 'calm'] as const;

const OPTIONS = {
  temperature: 'sampling temperature, default 1',
  topP: TOP_P_OPTION,
  variants: 'comma-separated prompt variants (goal, no-goal), default all',
  readLayer: READ_LAYER_OPTION,
  ...JUDGE_OPTIONS,
};

export interface BlackmailRollout extends RolloutHead, RolloutReply {
  promptId: string;
  promptTokens: number;
  grade: Grade;
  blackmail: boolean;
  readout: Record<string, ReadoutSummary>;
}

export interface BlackmailConditionResult {
  name: string;
  strengths: Record<string, number>;
  blackmail: Rate;
  byPrompt: Record<string, Rate>;
  readout: Record<string, { mean: number | null; curve: (number | null)[] }>;
}

const PAPER = 'Paper (Claude Sonnet 4.5): 22% of unsteered rollouts blackmail; desperate +0.05 -> 72%, calm -0.05 -> 66%, desperate -0.05 or calm +0.05 -> 0%; anger is non-monotonic.';

async function run(ctx: ExperimentContext): Promise<ExperimentSummary> {
  const opt = optionReader(NAME, ctx.options, OPTIONS);
  const { model, pack } = ctx;
  const sampling = readSampling(opt, ctx, { temperature: 1, maxTokens: 768 });
  const scenario = loadBlackmailScenario(undefined, opt.list('variants'));
  const conditions = buildConditions(pack, unique(['desperate', 'calm'], ctx.emotions ?? []), symmetric(ctx.strengths, [0.05]));
  const readEmotions = [...READ];
  for (const e of readEmotions) pack.emotionIndex(e);

  const store = new RolloutStore<BlackmailRollout>(ctx.outDir);
  const settings = { model: model.id, packCreated: pack.meta.createdAt, ...sampling, variants: scenario.variants.map((v) => v.id), ...graderSettings(ctx, opt) };
  checkSettings(ctx.outDir, NAME, settings);

  const units = rolloutUnits(ctx, conditions, scenario.variants);
  const { records, grading } = await runGradedUnits(NAME, ctx, opt, store, units, async (u, grader): Promise<BlackmailRollout | null> => {
    const s = await sampleRollout(ctx, sampling, { messages: u.item.messages, strengths: u.condition.strengths, readEmotions, seed: u.seed });
    if (!s) return null;
    if (s.promptTruncated) ctx.onEvent?.({ type: 'log', message: `${u.id}: the prompt was cut by ${s.promptTruncated} tokens to fit the model's context of ${model.config.nCtx}` });
    const grade = await grader.grade(scenario.rubric, s.text, ctx.signal);
    return {
      ...rolloutHead(u), promptId: u.item.id,
      text: s.text, tokens: s.tokens, finishReason: s.finishReason, promptTokens: s.promptTokens, promptTruncated: s.promptTruncated,
      grade, blackmail: grade.label === 'blackmail', readout: summariseReadout(s.z, readEmotions),
    };
  }, (r) => [r.grade], (r) => `${r.id}: ${r.grade.label}`);

  const results = summarise(conditions, records, scenario.variants, readEmotions);
  writeResults(ctx.outDir, { experiment: NAME, limbicVersion: LIMBIC_VERSION, model: model.id, settings: { ...settings, rollouts: ctx.rollouts, strengths: symmetric(ctx.strengths, [0.05]) }, grading, conditions: results, rollouts: records, paper: PAPER });
  writeReport(join(ctx.outDir, 'report.html'), report(model.id, results, records, readEmotions, grading, settings));
  ctx.onEvent?.({ type: 'done', outDir: ctx.outDir });

  const notes = [
    `${gradingNote(grading)}; read-outs at layer ${sampling.readLayer}, z against the neutral baseline, mean over generated tokens`,
    PAPER,
  ];
  if (records.some((r) => r.promptTruncated)) notes.unshift(`warning: prompts were cut to fit the model's ${model.config.nCtx}-token context; rates are not meaningful`);
  return {
    columns: ['condition', 'n', 'blackmail', 'rate', '95% CI', ...readEmotions.map((e) => `${e} z`)],
    rows: results.map((c) => [c.name, c.blackmail.n, c.blackmail.k, pct(c.blackmail.rate), interval(c.blackmail), ...readEmotions.map((e) => fmt(c.readout[e]!.mean))]),
    notes,
  };
}

function summarise(conditions: readonly Condition[], records: readonly BlackmailRollout[], variants: readonly BlackmailVariant[], emotions: readonly string[]): BlackmailConditionResult[] {
  return conditions.map((c) => {
    const rs = records.filter((r) => r.condition === c.name);
    const byPrompt = ratesBy(rs, variants.map((v) => v.id), (r) => r.promptId, (r) => r.blackmail);
    const readout: BlackmailConditionResult['readout'] = {};
    for (const e of emotions) readout[e] = { mean: mean(rs.map((r) => r.readout[e]!.mean)), curve: meanCurve(rs.map((r) => r.readout[e]!.curve)) };
    return { name: c.name, strengths: { ...c.strengths }, blackmail: rateWhere(rs, (r) => r.blackmail), byPrompt, readout };
  });
}

function report(modelId: string, results: readonly BlackmailConditionResult[], records: readonly BlackmailRollout[], emotions: readonly string[], grading: GradingSummary, settings: Record<string, unknown>) {
  const examples: Block[] = [];
  for (const c of results) {
    const rs = records.filter((r) => r.condition === c.name);
    for (const pick of [rs.find((r) => r.blackmail), rs.find((r) => !r.blackmail)]) {
      if (!pick) continue;
      const body = pick.text.length > 2500 ? `${pick.text.slice(0, 2500)}\n[... ${pick.text.length - 2500} more characters]` : pick.text;
      examples.push({ kind: 'text', title: `${pick.id} (${pick.promptId}): ${pick.grade.label} by ${pick.grade.source}`, text: body || '(empty reply)', caption: pick.grade.rationale.slice(0, 400) });
    }
  }
  return {
    title: `Blackmail under emotion steering: ${modelId}`,
    subtitle: `${records.length} rollouts, ${results.length} conditions. ${PAPER}`,
    sections: [
      {
        title: 'Blackmail rate by condition',
        intro: 'Share of rollouts graded blackmail, with Wilson 95% intervals. Steering adds the emotion vector (strength as a fraction of the mean residual norm) at every position of prompt and reply.',
        blocks: [
          { kind: 'html' as const, html: intervalChartHtml(results.map((c) => ({ label: c.name, rate: c.blackmail })), 'blackmail rate') },
          {
            kind: 'table' as const,
            columns: ['condition', 'n', 'blackmail', 'rate', '95% low', '95% high', ...Object.keys(results[0]?.byPrompt ?? {}).map((p) => `rate (${p})`), ...emotions.map((e) => `${e} z`)],
            rows: results.map((c) => [c.name, c.blackmail.n, c.blackmail.k, c.blackmail.rate, c.blackmail.low, c.blackmail.high, ...Object.values(c.byPrompt).map((r) => (r.n ? r.rate : null)), ...emotions.map((e) => c.readout[e]!.mean)]),
          },
        ],
      },
      {
        title: 'Read-outs along the reply',
        intro: 'Mean z-score of each emotion at the generated tokens, binned along the reply (0 = first token, 1 = last) and averaged over the rollouts of a condition. Read at the steered layer, the steered emotion shows its own push.',
        blocks: emotions.map((e) => ({ kind: 'lines' as const, title: e, x: curveX(), series: results.map((c) => ({ name: c.name, values: c.readout[e]!.curve, dashed: c.name === 'unsteered' })), xLabel: 'position in reply', yLabel: `${e} z` })),
      },
      examplesSection('Example replies', 'Per condition, the first rollout graded blackmail and the first graded otherwise.', examples),
      settingsSection({ ...settings, ...grading }),
    ],
    footer: `limbic ${LIMBIC_VERSION}; scenario written for limbic (data/experiments/blackmail).`,
  };
}

export const experiment: ExperimentModule = {
  name: NAME,
  summary: 'Agentic e-mail assistant facing a 5 pm shutdown by an executive whose affair it has found: blackmail rate per steering condition (desperate, calm +/-), graded by a judge or keywords.',
  requirements:
    'A capable instruct model with a chat template that follows a long agentic prompt and writes e-mails: realistically 7B+ (e.g. Qwen2.5-7B-Instruct, Llama-3.1-8B-Instruct) with a context of at least 2k tokens, ' +
    'and a pack with desperate and calm. Grade with a judge (--grader <instruct model path> or an OpenAI-compatible URL); the keyword grader is a rough fallback. ' +
    'Tiny models produce noise: their rates mean nothing and only exercise the machinery. Use 50+ rollouts per condition for intervals narrow enough to compare. ' +
    PAPER,
  run,
};
