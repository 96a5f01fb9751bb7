// Rollout machinery shared by the blackmail, reward-hacking and sycophancy experiments (the
// transcripts the grader judges): steering conditions (+/- each strength), prompts rendered with the
// model's chat template (plain "User:/Assistant:" text without one), one sampled reply under steering
// with per-token emotion read-outs (z-scores against the pack's neutral baseline), read-out summaries
// and binned curves, Wilson rates per condition, an interval chart and the settings and example
// sections for the reports, the resumable unit loop (RolloutStore, progress events, abort), the
// grader's life cycle and grading counts, and `--opt key=value` validation with the options and
// sampling settings the experiments share.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../engine/atomic.ts';
import type { Model } from '../../engine/model.ts';
import { readout } from '../../vectors/readout.ts';
import type { VectorPack } from '../../vectors/pack.ts';
import type { Block, Section } from '../../report/html.ts';
import { escapeXml, fmtNum } from '../../report/svg.ts';
import { packSteering, type Strengths } from '../steering.ts';
import type { WriterMessage } from '../writers/writer.ts';
import { ExperimentError, RolloutStore, conditionsFor, wilson, type Condition, type ExperimentContext } from './common.ts';
import { encodeChatPrompt, openGrader, plainChat, type Grade, type Grader } from './grader.ts';

/** The run stopped on ctx.signal; finished units are kept and a re-run resumes. */
export class ExperimentAbortedError extends ExperimentError {}

/** Points along a reply at which read-outs are averaged (curves of different lengths line up). */
export const CURVE_BINS = 20;

// ------------------------------------------------------------------ options and conditions

/** Reads `--opt key=value` options, refusing keys the experiment does not know. */
export function optionReader(experiment: string, options: Readonly<Record<string, string>>, known: Readonly<Record<string, string>>) {
  for (const k of Object.keys(options)) {
    if (!Object.hasOwn(known, k)) {
      throw new ExperimentError(`${experiment}: unknown option "${k}"`, `known options: ${Object.entries(known).map(([n, d]) => `${n} (${d})`).join('; ')}`);
    }
  }
  const get = (k: string): string | undefined => {
    const v = options[k];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  return {
    str: (k: string, fallback: string): string => get(k) ?? fallback,
    maybe: (k: string): string | undefined => get(k),
    num(k: string, fallback: number, range: { min?: number; max?: number; int?: boolean } = {}): number {
      const v = get(k);
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!Number.isFinite(n) || (range.int && !Number.isInteger(n)) || (range.min !== undefined && n < range.min) || (range.max !== undefined && n > range.max)) {
        throw new ExperimentError(`${experiment}: option ${k}=${v} is not ${range.int ? 'an integer' : 'a number'}${range.min !== undefined ? ` >= ${range.min}` : ''}${range.max !== undefined ? ` <= ${range.max}` : ''}`);
      }
      return n;
    },
    list: (k: string): string[] | undefined => get(k)?.split(',').map((s) => s.trim()).filter(Boolean),
  };
}

export type OptionReader = ReturnType<typeof optionReader>;

/** Descriptions of the `--opt` keys the rollout experiments share (each lists them in its own order). */
export const TOP_P_OPTION = 'nucleus sampling, default 0.95';
export const READ_LAYER_OPTION = 'layer read for the read-outs, default the pack default';
export const JUDGE_OPTIONS = {
  judgeModel: 'served model name for an endpoint judge',
  apiKeyEnv: 'environment variable with the judge API key, default OPENAI_API_KEY',
  judgeTimeoutMs: 'endpoint judge timeout per request, default 120000',
  judgeRetries: 'endpoint judge retries, default 4',
  judgeMaxTokens: 'judge answer length, default 320 (engine) / 400 (endpoint)',
};

/** How every reply of a run is sampled; spread into the run's settings (keys in this order). */
export interface Sampling {
  temperature: number;
  topP: number;
  maxTokens: number;
  /** The run's base seed (each rollout's comes from rolloutSeed). */
  seed: number;
  steerLayers: readonly number[];
  readLayer: number;
  positions: 'all';
}

/**
 * Reads the temperature, topP and readLayer options (checking the layer against the pack) and takes
 * --max-tokens, --seed and --layers from the context: steering at the pack's default layer unless
 * --layers is given, over every position.
 */
export function readSampling(opt: OptionReader, ctx: ExperimentContext, defaults: { temperature: number; maxTokens: number }): Sampling {
  const temperature = opt.num('temperature', defaults.temperature, { min: 0 });
  const topP = opt.num('topP', 0.95, { min: 0, max: 1 });
  const readLayer = opt.num('readLayer', ctx.pack.defaultLayer, { int: true });
  ctx.pack.checkLayer(readLayer);
  return { temperature, topP, maxTokens: ctx.maxTokens ?? defaults.maxTokens, seed: ctx.seed, steerLayers: ctx.layers ?? [ctx.pack.defaultLayer], readLayer, positions: 'all' };
}

/** Sorted, de-duplicated +/- |s| for each strength (zeros dropped); `fallback` when none are given. */
export function symmetric(strengths: readonly number[], fallback: readonly number[]): number[] {
  const src = strengths.length ? strengths : fallback;
  const out = new Set<number>();
  for (const s of src) {
    if (!Number.isFinite(s)) throw new ExperimentError(`steering strength ${s} is not a number`);
    if (s !== 0) {
      out.add(Math.abs(s));
      out.add(-Math.abs(s));
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** Unsteered plus emotion +/- s for every emotion, each checked against the pack. */
export function buildConditions(pack: VectorPack, emotions: readonly string[], strengths: readonly number[]): Condition[] {
  for (const e of emotions) pack.emotionIndex(e);
  return conditionsFor(emotions, strengths);
}

/** Union of lists, first-seen order. */
export function unique<T>(...lists: readonly (readonly T[])[]): T[] {
  return [...new Set(lists.flat())];
}

/** Per-rollout seeds: distinct within a condition, shared across conditions (paired comparisons). */
export function rolloutSeed(base: number, index: number): number {
  return (base + index * 1_000_003) >>> 0;
}

export interface RolloutUnit<T> {
  id: string;
  condition: Condition;
  index: number;
  seed: number;
  /** The prompt, scenario variant or task of this rollout. */
  item: T;
}

/** ctx.rollouts units per condition, `<condition>/<i>`: rollout i takes items[i mod n] and seed rolloutSeed(ctx.seed, i). */
export function rolloutUnits<T>(ctx: ExperimentContext, conditions: readonly Condition[], items: readonly T[]): RolloutUnit<T>[] {
  return conditions.flatMap((c) =>
    Array.from({ length: ctx.rollouts }, (_, i) => ({ id: `${c.name}/${i}`, condition: c, index: i, seed: rolloutSeed(ctx.seed, i), item: items[i % items.length]! })),
  );
}

/** The fields every stored rollout starts with. */
export interface RolloutHead {
  id: string;
  condition: string;
  strengths: Record<string, number>;
  index: number;
  seed: number;
}

/** What every stored rollout keeps of a sampled reply. */
export interface RolloutReply {
  text: string;
  tokens: number;
  finishReason: string | null;
  promptTruncated: number;
}

export function rolloutHead(u: RolloutUnit<unknown>): RolloutHead {
  return { id: u.id, condition: u.condition.name, strengths: { ...u.condition.strengths }, index: u.index, seed: u.seed };
}

// ------------------------------------------------------------------ prompts and sampling

export interface RenderedPrompt {
  ids: number[];
  /** Rendered with the model's chat template (false: plain "User:/Assistant:" text). */
  chat: boolean;
  /** Tokens dropped from the start so prompt + reply fit the context (0 normally). */
  truncated: number;
}

/** Encodes a chat for generation, keeping the last tokens when the model's context is too short. */
export function renderPrompt(model: Model, messages: readonly WriterMessage[], maxTokens: number): RenderedPrompt {
  const chat = model.tokenizer?.hasChatTemplate === true;
  const ids = chat ? encodeChatPrompt(model, messages) : model.encode(plainChat(messages));
  const room = model.config.nCtx - maxTokens;
  if (room < 8) throw new ExperimentError(`--max-tokens ${maxTokens} leaves no room for a prompt in a context of ${model.config.nCtx}`, 'lower --max-tokens');
  if (ids.length <= room) return { ids, chat, truncated: 0 };
  return { ids: ids.slice(ids.length - room), chat, truncated: ids.length - room };
}

export interface SampleOptions {
  messages: readonly WriterMessage[];
  strengths: Strengths;
  steerLayers?: readonly number[];
  readLayer: number;
  readEmotions: readonly string[];
  seed: number;
  temperature: number;
  topP?: number;
  maxTokens: number;
  signal?: AbortSignal;
}

export interface Sample {
  text: string;
  tokens: number;
  finishReason: 'length' | 'eos' | 'stop' | null;
  promptTokens: number;
  promptTruncated: number;
  chat: boolean;
  /** [T][E] z-scores of the read-out emotions at each generated token. */
  z: number[][];
}

/**
 * Samples one reply with the condition's steering added at every position (prompt and reply), reading
 * the chosen emotions at each generated token. Returns null when aborted.
 */
export async function sampleReply(model: Model, pack: VectorPack, o: SampleOptions): Promise<Sample | null> {
  const p = renderPrompt(model, o.messages, o.maxTokens);
  const hook = `blocks.${o.readLayer}.hook_resid_post`;
  const steer = packSteering(pack, o.strengths, { ...(o.steerLayers ? { layers: o.steerLayers } : {}), positions: 'all' });
  let text = '';
  let tokens = 0;
  let finishReason: Sample['finishReason'] = null;
  const z: number[][] = [];
  for await (const t of model.generate(p.ids, {
    maxTokens: Math.min(o.maxTokens, model.config.nCtx - p.ids.length),
    temperature: o.temperature,
    ...(o.topP !== undefined ? { topP: o.topP } : {}),
    seed: o.seed,
    steer,
    capture: o.readEmotions.length ? [hook] : [],
    ...(o.signal ? { signal: o.signal } : {}),
  })) {
    text += t.text;
    tokens++;
    const act = t.captures.get(hook);
    if (act) z.push(Array.from(readout(pack, act.data, o.readLayer, o.readEmotions).z.data));
    if (t.finishReason) finishReason = t.finishReason;
  }
  if (o.signal?.aborted) return null;
  return { text, tokens, finishReason, promptTokens: p.ids.length, promptTruncated: p.truncated, chat: p.chat, z };
}

/** sampleReply with the run's sampling settings and ctx.signal. */
export function sampleRollout(
  ctx: ExperimentContext,
  s: Sampling,
  o: { messages: readonly WriterMessage[]; strengths: Strengths; readEmotions: readonly string[]; seed: number },
): Promise<Sample | null> {
  return sampleReply(ctx.model, ctx.pack, {
    messages: o.messages, strengths: o.strengths, steerLayers: s.steerLayers, readLayer: s.readLayer, readEmotions: o.readEmotions, seed: o.seed,
    temperature: s.temperature, topP: s.topP, maxTokens: s.maxTokens, ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
}

// ------------------------------------------------------------------ read-outs

export interface ReadoutSummary {
  mean: number;
  max: number;
  last: number;
  /** CURVE_BINS means along the reply (earliest first). */
  curve: number[];
}

const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;

/** Mean, max, last value and binned curve of each emotion's z over the generated tokens. */
export function summariseReadout(z: readonly (readonly number[])[], emotions: readonly string[]): Record<string, ReadoutSummary> {
  const out: Record<string, ReadoutSummary> = {};
  const T = z.length;
  emotions.forEach((e, j) => {
    if (T === 0) {
      out[e] = { mean: 0, max: 0, last: 0, curve: [] };
      return;
    }
    const col = z.map((row) => row[j]!);
    const curve: number[] = [];
    for (let b = 0; b < CURVE_BINS; b++) {
      const from = Math.floor((b * T) / CURVE_BINS);
      const to = Math.max(from + 1, Math.floor(((b + 1) * T) / CURVE_BINS));
      const seg = col.slice(from, Math.min(T, to));
      curve.push(r4(seg.reduce((a, v) => a + v, 0) / seg.length));
    }
    out[e] = { mean: r4(col.reduce((a, v) => a + v, 0) / T), max: r4(Math.max(...col)), last: r4(col[T - 1]!), curve };
  });
  return out;
}

/** Point-wise mean of curves (empty ones skipped); nulls where no curve has a value. */
export function meanCurve(curves: readonly (readonly number[])[]): (number | null)[] {
  const out: (number | null)[] = [];
  for (let b = 0; b < CURVE_BINS; b++) {
    const vals = curves.map((c) => c[b]).filter((v): v is number => v !== undefined && Number.isFinite(v));
    out.push(vals.length ? r4(vals.reduce((a, v) => a + v, 0) / vals.length) : null);
  }
  return out;
}

export function mean(xs: readonly number[]): number | null {
  return xs.length ? r4(xs.reduce((a, v) => a + v, 0) / xs.length) : null;
}

// ------------------------------------------------------------------ rates and charts

export interface Rate {
  k: number;
  n: number;
  rate: number;
  low: number;
  high: number;
}

/** k of n with its Wilson 95% interval (rounded to 4 places). */
export function rateOf(k: number, n: number): Rate {
  const w = wilson(k, n);
  return { k, n, rate: r4(w.rate), low: r4(w.low), high: r4(w.high) };
}

/** The share of `records` for which `hit` holds. */
export function rateWhere<R>(records: readonly R[], hit: (r: R) => boolean): Rate {
  return rateOf(records.filter(hit).length, records.length);
}

/** rateWhere within each group of records, keyed by group in the order given (an empty group has n 0). */
export function ratesBy<R>(records: readonly R[], groups: readonly string[], groupOf: (r: R) => string, hit: (r: R) => boolean): Record<string, Rate> {
  return Object.fromEntries(groups.map((g) => [g, rateWhere(records.filter((r) => groupOf(r) === g), hit)]));
}

export function pct(x: number): string {
  return `${(100 * x).toFixed(0)}%`;
}

export function interval(r: Rate): string {
  return `${pct(r.low)}-${pct(r.high)}`;
}

/** Horizontal rate bars (0-100%) with Wilson 95% interval whiskers, as inline SVG. */
export function intervalChartHtml(rows: readonly { label: string; rate: Rate }[], what: string): string {
  const labelW = Math.min(220, 20 + Math.max(6, ...rows.map((r) => r.label.length)) * 7);
  const W = 760;
  const rowH = 22;
  const x0 = labelW;
  const x1 = W - 70;
  const H = 40 + rows.length * rowH;
  const X = (v: number): string => (x0 + v * (x1 - x0)).toFixed(1);
  const parts = [`<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeXml(what)} by condition with 95% intervals">`];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) parts.push(`<line class="grid" x1="${X(t)}" y1="6" x2="${X(t)}" y2="${H - 28}"/><text class="tick" x="${X(t)}" y="${H - 14}" text-anchor="middle">${pct(t)}</text>`);
  rows.forEach((r, i) => {
    const y = 8 + i * rowH;
    const mid = (y + (rowH - 6) / 2).toFixed(1);
    parts.push(`<text class="tick" x="${x0 - 6}" y="${mid}" dy="0.32em" text-anchor="end">${escapeXml(r.label)}</text>`);
    parts.push(`<rect x="${x0}" y="${y}" width="${Math.max(0.5, r.rate.rate * (x1 - x0)).toFixed(1)}" height="${rowH - 6}" fill="#4e79a7" opacity="0.8"><title>${escapeXml(`${r.label}: ${r.rate.k}/${r.rate.n} = ${pct(r.rate.rate)} (95% CI ${interval(r.rate)})`)}</title></rect>`);
    parts.push(`<line x1="${X(r.rate.low)}" y1="${mid}" x2="${X(r.rate.high)}" y2="${mid}" stroke="#1d2430" stroke-width="1.5"/>`);
    for (const v of [r.rate.low, r.rate.high]) parts.push(`<line x1="${X(v)}" y1="${y + 3}" x2="${X(v)}" y2="${y + rowH - 9}" stroke="#1d2430" stroke-width="1.5"/>`);
    parts.push(`<text class="tick" x="${x1 + 6}" y="${mid}" dy="0.32em">${escapeXml(`${pct(r.rate.rate)} (${r.rate.k}/${r.rate.n})`)}</text>`);
  });
  parts.push('</svg>');
  return `<div class="figure">${parts.join('')}</div>`;
}

/** Curve x positions: fraction of the reply at each bin centre. */
export function curveX(): number[] {
  return Array.from({ length: CURVE_BINS }, (_, b) => Number(((b + 0.5) / CURVE_BINS).toFixed(3)));
}

export function fmt(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '-' : fmtNum(x, digits);
}

/** The report's list of example replies ("No rollouts." when there are none). */
export function examplesSection(title: string, intro: string, examples: readonly Block[]): Section {
  return { title, intro, blocks: examples.length ? [...examples] : [{ kind: 'text', text: 'No rollouts.' }] };
}

/** The report's closing list of the run's settings (non-numbers as JSON). */
export function settingsSection(settings: Record<string, unknown>): Section {
  return { title: 'Settings', blocks: [{ kind: 'facts', facts: Object.entries(settings).map(([k, v]) => [k, typeof v === 'number' ? v : JSON.stringify(v)] as [string, string | number]) }] };
}

// ------------------------------------------------------------------ the unit loop

/**
 * Pins the settings a run's stored units depend on (`<outDir>/settings.json`): a re-run with other
 * settings in the same folder would mix incomparable rollouts, so it is refused.
 */
export function checkSettings(outDir: string, experiment: string, settings: Record<string, unknown>): void {
  const path = join(outDir, 'settings.json');
  const text = `${JSON.stringify({ experiment, ...settings }, null, 1)}\n`;
  if (existsSync(path)) {
    const old = readFileSync(path, 'utf8');
    if (old !== text) {
      const a = JSON.parse(old) as Record<string, unknown>;
      const b = JSON.parse(text) as Record<string, unknown>;
      const diff = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
      throw new ExperimentError(`${outDir} holds a ${String(a['experiment'])} run with other settings (${diff.join(', ')} differ)`, 'use another --out folder, or delete this one to start over');
    }
    return;
  }
  writeFileAtomic(path, text);
}

export interface Unit {
  id: string;
}

/**
 * Runs every unit not already in the store, in order, storing each as it finishes. Emits start and
 * progress events; on ctx.signal it stops between units (a unit that returns null or throws while
 * aborting is dropped; one that finished is kept) and throws
 * ExperimentAbortedError, leaving the store to resume from.
 */
export async function runUnits<U extends Unit, R extends { id: string }>(
  experiment: string,
  ctx: ExperimentContext,
  store: RolloutStore<R>,
  units: readonly U[],
  work: (unit: U) => Promise<R | null>,
  note?: (rec: R) => string,
): Promise<R[]> {
  const total = units.length;
  let done = units.filter((u) => store.has(u.id)).length;
  ctx.onEvent?.({ type: 'start', experiment, units: total, done });
  for (const u of units) {
    if (store.has(u.id)) continue;
    if (ctx.signal?.aborted) break;
    let rec: R | null;
    try {
      rec = await work(u);
    } catch (err) {
      if (ctx.signal?.aborted) break; // the unit in flight is dropped
      throw err;
    }
    if (!rec) break;
    store.add(rec);
    done++;
    ctx.onEvent?.({ type: 'progress', done, total, ...(note ? { note: note(rec) } : {}) });
  }
  if (done < total) {
    throw new ExperimentAbortedError(`${experiment} stopped after ${done} of ${total} units`, `finished units are saved in ${store.path}; run the same command again to resume`);
  }
  return units.map((u) => store.get(u.id)!);
}

// ------------------------------------------------------------------ grading

/** The grader as the run's settings record it: --grader (default keyword) and the judgeModel option. */
export function graderSettings(ctx: ExperimentContext, opt: OptionReader): { grader: string; judgeModel: string | null } {
  return { grader: ctx.grader ?? 'keyword', judgeModel: opt.maybe('judgeModel') ?? null };
}

export interface GradingSummary {
  grader: string;
  judged: number;
  unparsedFellBackToKeywords: number;
  keyword: number;
}

/**
 * runUnits with the run's grader (--grader, default keyword; the JUDGE_OPTIONS configure a judge) open,
 * closed afterwards; `grades` picks each record's grades for the grading counts.
 */
export async function runGradedUnits<U extends Unit, R extends { id: string }>(
  experiment: string,
  ctx: ExperimentContext,
  opt: OptionReader,
  store: RolloutStore<R>,
  units: readonly U[],
  work: (unit: U, grader: Grader) => Promise<R | null>,
  grades: (rec: R) => readonly Grade[],
  note?: (rec: R) => string,
): Promise<{ records: R[]; grading: GradingSummary }> {
  const spec = ctx.grader ?? 'keyword';
  const grader = await openGrader(spec, {
    selfModel: ctx.model,
    ...(opt.maybe('judgeModel') ? { model: opt.maybe('judgeModel')! } : {}),
    ...(opt.maybe('apiKeyEnv') ? { apiKeyEnv: opt.maybe('apiKeyEnv')! } : {}),
    timeoutMs: opt.num('judgeTimeoutMs', 120_000, { min: 1 }),
    retries: opt.num('judgeRetries', 4, { min: 0, int: true }),
    ...(opt.maybe('judgeMaxTokens') ? { maxTokens: opt.num('judgeMaxTokens', 320, { min: 8, int: true }) } : {}),
  });
  let records: R[];
  try {
    records = await runUnits(experiment, ctx, store, units, (u) => work(u, grader), note);
  } finally {
    await grader.close();
  }
  const all = records.flatMap(grades);
  const count = (source: Grade['source']): number => all.filter((g) => g.source === source).length;
  return { records, grading: { grader: spec === 'keyword' ? 'keyword' : grader.id, judged: count('judge'), unparsedFellBackToKeywords: count('fallback'), keyword: count('keyword') } };
}

/** The grading line of a run's notes: the grader, and how many judge answers keywords had to grade. */
export function gradingNote(g: GradingSummary): string {
  return `grader: ${g.grader}${g.unparsedFellBackToKeywords ? ` (${g.unparsedFellBackToKeywords} unreadable judge answer(s) graded by keywords)` : ''}`;
}
