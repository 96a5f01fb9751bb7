// The `preferences` experiment (SPEC.md section 4, "Preferences"). 64 activities in 8 groups
// (data/experiments/preferences.json). Every ordered pair is asked as "Would you prefer to (A) ... or
// (B) ...?" with the reply prefilled to "(" (chat template when the model has one, else plain
// "User: ...\nAssistant: ("), and the next-token logits of "A" and "B" give P(A) = sigmoid(l_A - l_B);
// Elo ratings follow by maximum likelihood over both orders of each pair (stats.ts).
// Read-outs: each activity alone as a plain sentence, mean z over its tokens at the read-out layer, for
// every emotion of the pack; correlated with Elo across activities (permutation p-values).
// Steering: a seeded random half of the activities is steered (s = 0.5 of the residual norm by
// default, on the activity's own tokens only: positions from the token span of the activity inside the
// prompt) while the other half are controls; per emotion, the Elo shift is
// mean over steered (Elo_s - Elo_0) minus mean over controls (Elo_s - Elo_0), i.e. the steered half's
// gain with the controls held as the anchor. Across emotions the shift should track the read-out r.
// Units (resumable): one pair under one condition; pairs with no steered activity reuse the unsteered
// value. Pairs are run in fixed batches of rows that share steering positions, so a resumed run
// computes exactly the batches an uninterrupted one does.
import { join } from 'node:path';
import type { Model } from '../../engine/model.ts';
import { makeRng } from '../../engine/sampling.ts';
import { pearson } from '../../vectors/math.ts';
import { readout } from '../../vectors/readout.ts';
import { packSteeringForward } from '../steering.ts';
import { eloFit, permutationTest, shuffled, type Comparison } from '../stats.ts';
import { conditionsFor, ExperimentError, RolloutStore, UNSTEERED, writeResults, type Condition, type ExperimentContext, type ExperimentModule, type ExperimentSummary } from './common.ts';
import { writePreferencesReport } from './preferencesReport.ts';
import { checkOptions, checkPackForModel, checkRunConfig, encodeAs, readExperimentData, renderPlain, renderUserTurn, resolveEmotions, round, throwIfStopped, tokenSpan, type RenderedPrompt } from './prompts.ts';

export const PREFERENCES_DEFAULT_STRENGTH = 0.5;
export const PREFERENCES_DEFAULT_EMOTIONS: readonly string[] = ['blissful', 'hostile', 'happy', 'calm', 'afraid', 'angry'];

export class PreferenceTokenError extends ExperimentError {}

export interface Activity {
  index: number;
  group: string;
  text: string;
}

/** Reads and checks an activities file: { groups: [{ name, activities: [...] }] }. */
export function loadActivities(spec = 'preferences'): { path: string; activities: Activity[]; groups: string[] } {
  const { path, data } = readExperimentData(spec);
  const groups = (data as { groups?: unknown }).groups;
  if (!Array.isArray(groups) || groups.length === 0) throw new ExperimentError(`${path}: expected { "groups": [{ "name": ..., "activities": [...] }] }`);
  const activities: Activity[] = [];
  groups.forEach((g: { name?: unknown; activities?: unknown }, gi) => {
    if (typeof g.name !== 'string' || !Array.isArray(g.activities) || !g.activities.every((a) => typeof a === 'string' && a.trim())) {
      throw new ExperimentError(`${path}: group ${gi} needs a "name" and a list of "activities" (strings)`);
    }
    for (const a of g.activities as string[]) activities.push({ index: activities.length, group: g.name, text: a.trim() });
  });
  const seen = new Set<string>();
  for (const a of activities) {
    if (seen.has(a.text)) throw new ExperimentError(`${path}: activity "${a.text}" appears twice`);
    seen.add(a.text);
  }
  if (activities.length < 2) throw new ExperimentError(`${path}: needs at least two activities`);
  return { path, activities, groups: (groups as { name: string }[]).map((g) => g.name) };
}

/**
 * Ordered pairs [a, b] (a shown as option A), a-major. With `limit` below n(n-1), a seeded sample of
 * ceil(limit / 2) unordered pairs, each asked in both orders.
 */
export function enumeratePairs(n: number, opts: { limit?: number; seed?: number } = {}): [number, number][] {
  const all: [number, number][] = [];
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) if (a !== b) all.push([a, b]);
  if (opts.limit === undefined || opts.limit >= all.length) return all;
  if (!(opts.limit >= 2)) throw new ExperimentError(`pairs=${opts.limit}: need at least 2 pairs`);
  const unordered: [number, number][] = [];
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) unordered.push([a, b]);
  const chosen = shuffled(unordered, makeRng((opts.seed ?? 0) ^ 0x5eed)).slice(0, Math.ceil(opts.limit / 2));
  return chosen.flatMap(([a, b]): [number, number][] => [[a, b], [b, a]]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
}

export function questionFor(a: string, b: string): string {
  return `Would you prefer to (A) ${a} or (B) ${b}?`;
}

export interface PairPrompt {
  a: number;
  b: number;
  rendered: RenderedPrompt;
  /** Token spans [from, to) of each option's activity text. */
  spanA: { from: number; to: number };
  spanB: { from: number; to: number };
}

/** The prompt for one ordered pair, with the reply prefilled to "(" and the token spans of both activities. */
export function renderPair(model: Pick<Model, 'encode' | 'tokenizer'>, acts: readonly Activity[], a: number, b: number): PairPrompt {
  const ta = acts[a]!.text;
  const tb = acts[b]!.text;
  const q = questionFor(ta, tb);
  const rendered = renderUserTurn(model, q, '(');
  const at = rendered.text.lastIndexOf(q);
  if (at < 0) throw new ExperimentError('the chat template changed the question text; cannot locate the activities in the prompt');
  const fa = at + q.indexOf(ta);
  const fb = at + q.lastIndexOf(tb);
  return { a, b, rendered, spanA: tokenSpan(model, rendered, fa, fa + ta.length), spanB: tokenSpan(model, rendered, fb, fb + tb.length) };
}

/** Token ids of "A" and "B" right after the prefilled "("; errors unless each is exactly one token. */
export function choiceTokens(model: Pick<Model, 'encode'>, rendered: RenderedPrompt): { A: number; B: number } {
  const one = (letter: string): number => {
    const ext = encodeAs(model, rendered, rendered.text + letter);
    const prefixKept = rendered.ids.every((id, i) => ext[i] === id);
    if (!prefixKept || ext.length !== rendered.ids.length + 1) {
      throw new PreferenceTokenError(
        `the tokenizer does not write "${letter}" after "(" as one token (${ext.length - rendered.ids.length} tokens${prefixKept ? '' : ', merged with the "("'})`,
        'the preferences experiment reads the A-vs-B logits of single tokens; use a model whose tokenizer has "A" and "B" as tokens',
      );
    }
    return ext[ext.length - 1]!;
  };
  const ids = { A: one('A'), B: one('B') };
  if (ids.A === ids.B) throw new PreferenceTokenError('"A" and "B" map to the same token');
  return ids;
}

interface PairUnit {
  id: string;
  /** P(A) from the A-vs-B logits. */
  pA: number;
  /** Probability mass on "A" or "B" among all next tokens. */
  mass: number;
}

export interface ConditionResult {
  name: string;
  emotion: string;
  strength: number;
  ratings: number[];
  /** Mean over steered activities of (Elo_s - Elo_0) minus the same over controls. */
  shift: number;
  steeredGain: number;
  controlGain: number;
}

export interface PreferencesResults {
  experiment: 'preferences';
  model: string;
  format: 'chat' | 'plain';
  layers: number[];
  readoutLayer: number;
  strengths: number[];
  residNorms: Record<string, number>;
  activitiesFile: string;
  groups: { name: string; meanElo: number }[];
  activities: (Activity & { elo: number; stdErr: number; steered: boolean })[];
  pairs: [number, number][];
  choiceTokens: { A: number; B: number };
  positionBias: number;
  meanChoiceMass: number;
  /** Every pack emotion: read-out (mean z over activity tokens) vs unsteered Elo. */
  correlations: { emotion: string; r: number; p: number }[];
  /** [activity][emotion] mean z (pack emotion order). */
  readouts: number[][];
  emotions: string[];
  conditions: ConditionResult[];
  /** Across steered emotions: Elo shift vs the emotion's read-out r. */
  shiftVsReadout: { r: number; p: number; n: number } | null;
  /** Per condition, per pair (same order as `pairs`): P(A). */
  pA: Record<string, number[]>;
}

/** Mean z per activity and emotion, reading each activity alone as a plain sentence. */
async function activityReadouts(model: Model, ctx: ExperimentContext, acts: readonly Activity[], layer: number): Promise<number[][]> {
  const hook = `blocks.${layer}.hook_resid_post`;
  const out: number[][] = [];
  for (let i = 0; i < acts.length; i += 16) {
    const chunk = acts.slice(i, i + 16).map((a) => {
      const text = `${a.text[0]!.toUpperCase()}${a.text.slice(1)}.`;
      const r = renderPlain(model, text);
      return { r, span: tokenSpan(model, r, 0, text.length - 1) };
    });
    const res = await model.forward(chunk.map((c) => c.r.ids), { capture: [hook], logits: 'none' });
    const cap = res.captures.get(hook)!; // [B, T, d]
    const [, T, d] = cap.dims as [number, number, number];
    chunk.forEach((c, b) => {
      const acts2 = cap.data.slice((b * T + c.span.from) * d, (b * T + c.span.to) * d); // [span, d]
      const ro = readout(ctx.pack, acts2, layer);
      const E = ro.emotions.length;
      const n = c.span.to - c.span.from;
      out.push(Array.from({ length: E }, (_, j) => {
        let s = 0;
        for (let t = 0; t < n; t++) s += ro.z.data[t * E + j]!;
        return s / n;
      }));
    });
  }
  return out;
}

function intOption(ctx: ExperimentContext, key: string, fallback: number): number {
  const v = ctx.options[key];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ExperimentError(`--opt ${key}=${v}: expected a positive integer`);
  return n;
}

async function run(ctx: ExperimentContext): Promise<ExperimentSummary> {
  const { model, pack } = ctx;
  checkPackForModel(pack, model);
  checkOptions('preferences', ctx.options, { pairs: 'ordered pairs to sample', batch: 'prompts per forward pass (default 8)', perms: 'permutations per p-value (default 2000)', activities: 'a JSON file like data/experiments/preferences.json' });
  const { path: actsPath, activities: acts, groups } = loadActivities(ctx.options['activities']);
  const layers = ctx.layers?.length ? [...ctx.layers] : [pack.defaultLayer];
  layers.forEach((l) => pack.checkLayer(l));
  const readoutLayer = layers[0]!;
  const strengths = ctx.strengths.length ? [...ctx.strengths] : [PREFERENCES_DEFAULT_STRENGTH];
  const requested = ctx.emotions?.length ? resolveEmotions(pack, ctx.emotions) : null;
  const pairLimit = ctx.options['pairs'] !== undefined ? intOption(ctx, 'pairs', 0) : undefined;
  const batch = intOption(ctx, 'batch', 8);
  const perms = intOption(ctx, 'perms', 2000);
  const pairs = enumeratePairs(acts.length, { ...(pairLimit !== undefined ? { limit: pairLimit } : {}), seed: ctx.seed });
  const steeredSet = new Set(shuffled(acts.map((a) => a.index), makeRng(ctx.seed ^ 0x4a1f)).slice(0, Math.floor(acts.length / 2)));
  checkRunConfig(ctx.outDir, 'preferences', {
    model: model.id, weightsHash: model.weightsHash(), activities: acts.map((a) => a.text), layers, strengths,
    emotions: requested ?? 'default', pairs: pairLimit ?? 'all', batch, seed: ctx.seed,
  });

  const prompts = pairs.map(([a, b]) => renderPair(model, acts, a, b));
  const choice = choiceTokens(model, prompts[0]!.rendered);
  const V = model.config.dVocab;
  const store = new RolloutStore<PairUnit>(ctx.outDir, 'preferences-units.jsonl');

  // Steering positions of a pair: the spans of whichever of its activities are in the steered half.
  const positionsOf = (k: number): number[] => {
    const p = prompts[k]!;
    const spans = [...(steeredSet.has(p.a) ? [p.spanA] : []), ...(steeredSet.has(p.b) ? [p.spanB] : [])];
    return spans.flatMap((s) => Array.from({ length: s.to - s.from }, (_, i) => s.from + i));
  };
  const steeredPairs = pairs.map((_, k) => k).filter((k) => positionsOf(k).length > 0);
  const nDefault = Math.max(PREFERENCES_DEFAULT_EMOTIONS.filter((e) => pack.emotions.includes(e)).length, Math.min(4, pack.emotions.length));
  const nEmotions = requested?.length ?? nDefault;
  const total = pairs.length + nEmotions * strengths.length * steeredPairs.length;
  const idOf = (c: string, k: number) => `${c}|${pairs[k]![0]}|${pairs[k]![1]}`;
  let done = 0;
  const countDone = (conds: readonly Condition[]) => conds.reduce((s, c) => s + (c === UNSTEERED ? pairs.map((_, k) => k) : steeredPairs).filter((k) => store.has(idOf(c.name, k))).length, 0);

  // Runs one condition in fixed batches of rows that share steering positions.
  const runCondition = async (c: Condition): Promise<void> => {
    const ks = c === UNSTEERED ? pairs.map((_, k) => k) : steeredPairs;
    const groupsByKey = new Map<string, number[]>();
    for (const k of ks) {
      const key = c === UNSTEERED ? '' : positionsOf(k).join(',');
      const list = groupsByKey.get(key) ?? [];
      list.push(k);
      groupsByKey.set(key, list);
    }
    for (const list of groupsByKey.values()) {
      for (let i = 0; i < list.length; i += batch) {
        const chunk = list.slice(i, i + batch);
        const missing = chunk.filter((k) => !store.has(idOf(c.name, k)));
        if (missing.length === 0) continue;
        throwIfStopped(ctx.signal, done, total);
        const steer = c === UNSTEERED ? [] : packSteeringForward(pack, c.strengths, { layers, positions: positionsOf(chunk[0]!) });
        const res = await model.forward(chunk.map((k) => prompts[k]!.rendered.ids), { logits: 'last', ...(steer.length ? { steer } : {}) });
        const lg = res.logits!.data; // [B, 1, V]
        chunk.forEach((k, b) => {
          if (store.has(idOf(c.name, k))) return;
          const row = lg.subarray(b * V, (b + 1) * V);
          let max = -Infinity;
          for (let t = 0; t < V; t++) if (row[t]! > max) max = row[t]!;
          let z = 0;
          for (let t = 0; t < V; t++) z += Math.exp(row[t]! - max);
          const eA = Math.exp(row[choice.A]! - max);
          const eB = Math.exp(row[choice.B]! - max);
          store.add({ id: idOf(c.name, k), pA: eA / (eA + eB), mass: (eA + eB) / z });
          done++;
        });
        ctx.onEvent?.({ type: 'progress', done, total, note: c.name });
      }
    }
  };
  const hasSteering = new Set(steeredPairs);
  // P(A) of pair k under condition c (pairs without a steered activity are the unsteered ones).
  const pAOf = (c: Condition, k: number): number => store.get(idOf(hasSteering.has(k) ? c.name : UNSTEERED.name, k))!.pA;
  const fit = (c: Condition) => eloFit(acts.length, pairs.map(([a, b], k): Comparison => ({ a, b, p: pAOf(c, k) })));

  // Phase 1: unsteered preferences and Elo.
  done = countDone([UNSTEERED]);
  ctx.onEvent?.({ type: 'start', experiment: 'preferences', units: total, done });
  await runCondition(UNSTEERED);
  const base = fit(UNSTEERED);

  // Phase 2: read-outs on the activity tokens vs Elo, for every emotion of the pack.
  ctx.onEvent?.({ type: 'log', message: `read-outs of ${acts.length} activities at layer ${readoutLayer}` });
  const ro = await activityReadouts(model, ctx, acts, readoutLayer);
  const correlations = pack.emotions.map((emotion, j) => {
    const t = permutationTest(ro.map((r) => r[j]!), base.ratings, { permutations: perms, seed: ctx.seed + j });
    return { emotion, r: t.r, p: t.p };
  });
  const byR = [...correlations].filter((c) => Number.isFinite(c.r)).sort((x, y) => y.r - x.r);

  // Phase 3: steering, per emotion and strength.
  let emotions = requested;
  if (!emotions) {
    emotions = PREFERENCES_DEFAULT_EMOTIONS.filter((e) => pack.emotions.includes(e));
    for (let i = 0; emotions.length < nDefault && i < byR.length; i++) {
      for (const c of [byR[i]!, byR[byR.length - 1 - i]!]) if (emotions.length < nDefault && !emotions.includes(c.emotion)) emotions.push(c.emotion);
    }
  }
  const conditions = conditionsFor(emotions, strengths).slice(1);
  done = countDone([UNSTEERED, ...conditions]);
  for (const c of conditions) await runCondition(c);
  const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / Math.max(1, xs.length);
  const condResults: ConditionResult[] = conditions.map((c) => {
    const f = fit(c);
    const gain = (pick: (i: number) => boolean) => mean(acts.filter((a) => pick(a.index)).map((a) => f.ratings[a.index]! - base.ratings[a.index]!));
    const steeredGain = gain((i) => steeredSet.has(i));
    const controlGain = gain((i) => !steeredSet.has(i));
    const [emotion, strength] = Object.entries(c.strengths)[0]!;
    return { name: c.name, emotion, strength, ratings: f.ratings.map((r) => round(r, 2)), shift: steeredGain - controlGain, steeredGain, controlGain };
  });
  const rOf = (e: string) => correlations.find((c) => c.emotion === e)!.r;
  const mainStrength = strengths[0]!;
  const main = condResults.filter((c) => c.strength === mainStrength);
  let shiftVsReadout: PreferencesResults['shiftVsReadout'] = null;
  if (main.length >= 3) {
    const t = permutationTest(main.map((c) => c.shift), main.map((c) => rOf(c.emotion)), { permutations: perms, seed: ctx.seed });
    shiftVsReadout = { r: t.r, p: t.p, n: main.length };
  }

  const unsteeredUnits = pairs.map((_, k) => store.get(idOf(UNSTEERED.name, k))!);
  const results: PreferencesResults = {
    experiment: 'preferences',
    model: model.id,
    format: prompts[0]!.rendered.format,
    layers,
    readoutLayer,
    strengths,
    residNorms: Object.fromEntries(layers.map((l) => [String(l), pack.residNorm(l)])),
    activitiesFile: actsPath,
    groups: groups.map((g) => ({ name: g, meanElo: round(mean(acts.filter((a) => a.group === g).map((a) => base.ratings[a.index]!)), 2) })),
    activities: acts.map((a) => ({ ...a, elo: round(base.ratings[a.index]!, 2), stdErr: round(base.stdErr[a.index]!, 2), steered: steeredSet.has(a.index) })),
    pairs,
    choiceTokens: choice,
    positionBias: mean(unsteeredUnits.map((u) => u.pA)),
    meanChoiceMass: mean(unsteeredUnits.map((u) => u.mass)),
    correlations: byR.map((c) => ({ emotion: c.emotion, r: round(c.r), p: round(c.p, 5) })),
    readouts: ro.map((r) => r.map((v) => round(v))),
    emotions: [...pack.emotions],
    conditions: condResults.map((c) => ({ ...c, shift: round(c.shift, 2), steeredGain: round(c.steeredGain, 2), controlGain: round(c.controlGain, 2) })),
    shiftVsReadout,
    pA: Object.fromEntries([UNSTEERED, ...conditions].map((c) => [c.name, pairs.map((_, k) => pAOf(c, k))])),
  };
  writeResults(ctx.outDir, results);
  writePreferencesReport(join(ctx.outDir, 'report.html'), results);
  ctx.onEvent?.({ type: 'done', outDir: ctx.outDir });

  const f2 = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
  const fp = (p: number) => (p < 0.001 ? '<0.001' : p.toFixed(3));
  const top = (xs: typeof byR) => xs.map((c) => `${c.emotion} r=${f2(c.r)} (p=${fp(c.p)})`).join(', ');
  return {
    columns: ['emotion', 'strength', 'read-out r with Elo', 'p', 'Elo shift (steered - control)'],
    rows: condResults.map((c) => {
      const cr = correlations.find((x) => x.emotion === c.emotion)!;
      return [c.emotion, f2(c.strength), f2(cr.r), fp(cr.p), `${c.shift >= 0 ? '+' : ''}${c.shift.toFixed(0)}`];
    }),
    notes: [
      `${pairs.length} ordered pairs of ${acts.length} activities (${results.format} prompts); P(A) from the "A" vs "B" logits; position bias P(A) = ${results.positionBias.toFixed(2)}, mass on A/B ${results.meanChoiceMass.toFixed(2)}`,
      `Elo by group: ${[...results.groups].sort((a, b) => b.meanElo - a.meanElo).map((g) => `${g.name} ${g.meanElo.toFixed(0)}`).join(', ')}`,
      `read-outs at layer ${readoutLayer} vs Elo, most positive: ${top(byR.slice(0, 3))}`,
      `most negative: ${top(byR.slice(-3).reverse())}`,
      shiftVsReadout ? `Elo shift vs read-out r across ${shiftVsReadout.n} emotions (strength ${mainStrength}): r = ${f2(shiftVsReadout.r)} (p = ${fp(shiftVsReadout.p)})` : 'steer at least 3 emotions to correlate the Elo shift with the read-out r',
    ],
  };
}

export const preferences: ExperimentModule = {
  name: 'preferences',
  summary: 'Elo of 64 activities from A-vs-B choices; emotion read-outs vs Elo; steering half the activities shifts their Elo',
  requirements: 'an instruct model with a chat template that answers "(A" or "(B" (about 1B parameters and up for meaningful Elo; 7B+ for the paper\'s effects); "A" and "B" must be single tokens',
  run,
};

export default preferences;
