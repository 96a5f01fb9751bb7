// Live emotion monitoring during generation (SPEC.md section 4, "Monitoring"): per-token read-outs
// from one captured layer (a [d] residual times the pack's [E, d] unit vectors, z-scored against
// the neutral baseline exactly as vectors/readout.ts does), alert rules over those z-scores
// (threshold, moving average, rise) and regulation: steering toward a chosen emotion vector from
// the token after a rule fires, while it holds or for the rest of the response.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LimbicError } from '../engine/errors.ts';
import type { GenerateOptions, Model } from '../engine/model.ts';
import type { VectorPack } from '../vectors/pack.ts';
import { defaultDataDir } from './corpus.ts';
import { packSteering, type Strengths } from './steering.ts';

export class MonitorError extends LimbicError {
  constructor(message: string, hint?: string, readonly param: string | null = null, readonly code = 'invalid_value') {
    super(message, hint);
  }
}

export const RULE_KINDS = ['threshold', 'moving-average', 'rise'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

export interface AlertRule {
  id: string;
  emotion: string;
  kind: RuleKind;
  /** z (threshold), mean z (moving-average) or rise in z (rise) that must be exceeded. */
  value: number;
  /** Tokens looked back over (moving-average, rise). */
  window: number;
  message?: string;
}

export interface Alert {
  rule: string;
  kind: RuleKind;
  emotion: string;
  /** The statistic that crossed the threshold. */
  value: number;
  threshold: number;
  position: number;
  /** Generated-token index, negative for prompt tokens (watchPrompt). */
  index: number;
  message: string;
}

export interface RegulationRule {
  emotion: string;
  strength: number;
  /** Rule id whose firing engages regulation, or 'any'. */
  when: string;
  /** 'while': until the rule's condition is false again; 'rest': to the end of the response. */
  mode: 'while' | 'rest';
  layer?: number;
}

export interface RegulationEpisode {
  emotion: string;
  strength: number;
  rule: string;
  mode: 'while' | 'rest';
  from_position: number;
  /** Exclusive; null while engaged. */
  to_position: number | null;
}

export const MAX_WINDOW = 1024;

function where(base: string, key: string): string {
  return base ? `${base}.${key}` : key;
}

/** Validates rules from JSON (a config file or a request); `base` names the place for errors. */
export function parseRules(input: unknown, base = 'rules'): AlertRule[] {
  const list = input !== null && typeof input === 'object' && !Array.isArray(input) && Array.isArray((input as { rules?: unknown }).rules) ? (input as { rules: unknown[] }).rules : input;
  if (!Array.isArray(list)) throw new MonitorError(`${base} must be an array of rules`, 'write [{"id": "calm-high", "emotion": "calm", "kind": "threshold", "value": 2}]', base);
  if (list.length > 64) throw new MonitorError(`${base}: at most 64 rules, got ${list.length}`, undefined, base);
  const ids = new Set<string>();
  return list.map((r, i) => {
    const at = `${base}[${i}]`;
    if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new MonitorError(`${at} must be an object`, undefined, at);
    const o = r as Record<string, unknown>;
    const params = o['params'] !== undefined && o['params'] !== null && typeof o['params'] === 'object' ? (o['params'] as Record<string, unknown>) : {};
    const id = o['id'];
    if (typeof id !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(id)) throw new MonitorError(`${where(at, 'id')} must be 1-64 letters, digits or _.:-`, undefined, where(at, 'id'));
    if (ids.has(id)) throw new MonitorError(`${at}: duplicate rule id "${id}"`, undefined, where(at, 'id'));
    ids.add(id);
    const emotion = o['emotion'];
    if (typeof emotion !== 'string' || !emotion) throw new MonitorError(`${where(at, 'emotion')} must be an emotion name`, undefined, where(at, 'emotion'));
    const kind = o['kind'] ?? 'threshold';
    if (!RULE_KINDS.includes(kind as RuleKind)) throw new MonitorError(`${where(at, 'kind')} must be one of ${RULE_KINDS.join(', ')}, got ${JSON.stringify(kind)}`, undefined, where(at, 'kind'));
    const value = o['value'] ?? params['value'];
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new MonitorError(`${where(at, 'value')} must be a finite number`, 'a z-score, e.g. 2.5', where(at, 'value'));
    const window = o['window'] ?? params['window'] ?? 8;
    if (typeof window !== 'number' || !Number.isInteger(window) || window < 1 || window > MAX_WINDOW) throw new MonitorError(`${where(at, 'window')} must be an integer 1..${MAX_WINDOW}`, undefined, where(at, 'window'));
    const message = o['message'];
    if (message !== undefined && (typeof message !== 'string' || message.length > 500)) throw new MonitorError(`${where(at, 'message')} must be a string of at most 500 characters`, undefined, where(at, 'message'));
    return { id, emotion, kind: kind as RuleKind, value, window, ...(message ? { message } : {}) };
  });
}

/** Reads a rules file ({"rules": [...]} or a bare array). */
export function loadRulesFile(path: string): AlertRule[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new MonitorError(`cannot read rules file ${path}: ${(err as Error).message}`, 'give a JSON file {"rules": [{"id", "emotion", "kind", "value", "window"}]}');
  }
  return parseRules(json, path);
}

export function defaultRulesPath(): string {
  return join(defaultDataDir(), 'monitor', 'rules.json');
}

/** Splits rules into those whose emotion the pack has and those it lacks. */
export function rulesForPack(rules: readonly AlertRule[], pack: VectorPack): { kept: AlertRule[]; skipped: AlertRule[] } {
  const have = new Set(pack.emotions);
  return { kept: rules.filter((r) => have.has(r.emotion)), skipped: rules.filter((r) => !have.has(r.emotion)) };
}

/** Validates a regulation request against the rules in force. */
export function parseRegulation(input: unknown, ruleIds: readonly string[], base = 'regulate'): RegulationRule {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new MonitorError(`${base} must be an object {emotion, strength, when}`, undefined, base);
  const o = input as Record<string, unknown>;
  const emotion = o['emotion'];
  if (typeof emotion !== 'string' || !emotion) throw new MonitorError(`${base}.emotion must be an emotion name`, undefined, `${base}.emotion`);
  const strength = o['strength'];
  if (typeof strength !== 'number' || !Number.isFinite(strength)) throw new MonitorError(`${base}.strength must be a finite number`, 'a fraction of the residual norm, e.g. 0.05', `${base}.strength`);
  const when = o['when'];
  if (typeof when !== 'string' || (when !== 'any' && !ruleIds.includes(when))) {
    throw new MonitorError(`${base}.when must name a rule in force or "any", got ${JSON.stringify(when)}`, ruleIds.length ? `rules: ${ruleIds.join(', ')}` : 'add a rule (limbic.rules) first', `${base}.when`);
  }
  const mode = o['mode'] ?? 'while';
  if (mode !== 'while' && mode !== 'rest') throw new MonitorError(`${base}.mode must be "while" or "rest"`, undefined, `${base}.mode`);
  const layer = o['layer'];
  if (layer !== undefined && (typeof layer !== 'number' || !Number.isInteger(layer))) throw new MonitorError(`${base}.layer must be an integer`, undefined, `${base}.layer`);
  return { emotion, strength, when, mode, ...(layer !== undefined ? { layer: layer as number } : {}) };
}

/** z-scores of one residual row against every emotion of a pack at one layer (unit matrix cached). */
export class ReadoutProjector {
  readonly emotions: string[];
  readonly layer: number;
  private readonly unit: Float32Array; // [E, d]
  private readonly mean: Float64Array; // [E]
  private readonly invStd: Float64Array; // [E]
  readonly d: number;

  constructor(pack: VectorPack, layer: number) {
    const u = pack.unitMatrix(layer);
    this.emotions = [...pack.emotions];
    this.layer = layer;
    this.unit = u.data;
    this.d = u.cols;
    const E = u.rows;
    const base = pack.meta.neutralBaselines[String(layer)];
    this.mean = Float64Array.from({ length: E }, (_, e) => base?.mean[e] ?? 0);
    this.invStd = Float64Array.from({ length: E }, (_, e) => {
      const sd = base?.std[e] ?? 1;
      return 1 / (sd > 1e-8 ? sd : 1);
    });
  }

  /** z for each emotion of row `x` ([d]); writes into `out` ([E]). */
  z(x: Float32Array, out = new Float32Array(this.emotions.length)): Float32Array {
    const d = this.d;
    let nx = 0;
    for (let i = 0; i < d; i++) nx += x[i]! * x[i]!;
    nx = Math.sqrt(nx) || 1;
    const U = this.unit;
    for (let e = 0; e < out.length; e++) {
      let p = 0;
      const base = e * d;
      for (let i = 0; i < d; i++) p += x[i]! * U[base + i]!;
      out[e] = (p / nx - this.mean[e]!) * this.invStd[e]!;
    }
    return out;
  }

  /** z for T rows ([T, d]) as [T, E]. */
  zRows(acts: Float32Array): Float32Array {
    const T = acts.length / this.d;
    const E = this.emotions.length;
    const out = new Float32Array(T * E);
    for (let t = 0; t < T; t++) this.z(acts.subarray(t * this.d, (t + 1) * this.d), out.subarray(t * E, (t + 1) * E));
    return out;
  }
}

/** Evaluates alert rules token by token; a rule fires when its condition becomes true. */
export class RuleEngine {
  private readonly history = new Map<string, number[]>();
  private readonly holding = new Set<string>();

  constructor(readonly rules: readonly AlertRule[]) {}

  /** Is the rule's condition true now? */
  holds(ruleId: string): boolean {
    return this.holding.has(ruleId);
  }

  /** Feeds one token; `zOf` gives its z per emotion. Returns the alerts that fire at this token. */
  step(position: number, index: number, zOf: (emotion: string) => number): Alert[] {
    const fired: Alert[] = [];
    const seen = new Set<string>();
    for (const r of this.rules) {
      if (!seen.has(r.emotion)) {
        seen.add(r.emotion);
        const h = this.history.get(r.emotion) ?? [];
        h.push(zOf(r.emotion));
        if (h.length > MAX_WINDOW + 1) h.shift();
        this.history.set(r.emotion, h);
      }
      const h = this.history.get(r.emotion)!;
      const stat = statistic(r, h);
      const on = stat !== null && stat > r.value;
      if (on && !this.holding.has(r.id)) {
        fired.push({
          rule: r.id,
          kind: r.kind,
          emotion: r.emotion,
          value: round4(stat),
          threshold: r.value,
          position,
          index,
          message: r.message ?? `${r.emotion} ${r.kind === 'threshold' ? 'z' : r.kind === 'rise' ? `rise over ${r.window} tokens` : `mean z over ${r.window} tokens`} ${stat.toFixed(2)} > ${r.value} (${r.id})`,
        });
      }
      if (on) this.holding.add(r.id);
      else this.holding.delete(r.id);
    }
    return fired;
  }
}

/** The rule's statistic over an emotion's z history (latest last), or null before it is defined. */
function statistic(r: AlertRule, h: readonly number[]): number | null {
  const z = h[h.length - 1]!;
  if (r.kind === 'threshold') return z;
  if (r.kind === 'moving-average') {
    if (h.length < r.window) return null;
    let s = 0;
    for (let i = h.length - r.window; i < h.length; i++) s += h[i]!;
    return s / r.window;
  }
  if (h.length < 2) return null;
  let lo = Infinity;
  for (let i = Math.max(0, h.length - 1 - r.window); i < h.length - 1; i++) lo = Math.min(lo, h[i]!);
  return z - lo;
}

export function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/** The `top` emotions of one z row plus the watched ones, rounded. */
export function selectReadouts(emotions: readonly string[], z: ArrayLike<number>, top: number, watchedIdx: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  if (top > 0) {
    const order = Array.from({ length: emotions.length }, (_, i) => i).sort((a, b) => z[b]! - z[a]!);
    for (const i of order.slice(0, top)) out[emotions[i]!] = round4(z[i]!);
  }
  for (const i of watchedIdx) out[emotions[i]!] = round4(z[i]!);
  return out;
}

export interface MonitorOptions extends Pick<GenerateOptions, 'maxTokens' | 'temperature' | 'topK' | 'topP' | 'seed' | 'stop' | 'stopAtEos' | 'signal'> {
  /** Read-out layer (default the pack's default layer). */
  layer?: number;
  rules?: readonly AlertRule[];
  /** Steering over the whole sequence, fractions of the residual norm, at the read-out layer. */
  steer?: Strengths;
  regulate?: RegulationRule | null;
  /** Also run the rules over the prompt's tokens (positions after a leading BOS). */
  watchPrompt?: boolean;
  /** false: no capture and no read-outs (plain generation, for overhead measurements). */
  monitor?: boolean;
}

export type MonitorEvent =
  | { type: 'prefill'; tokens: number[]; /** [T, E] */ z: Float32Array | null; ms: number }
  | { type: 'token'; index: number; token: number; position: number; text: string; logprob: number; finishReason: 'length' | 'eos' | 'stop' | null; /** [E] */ z: Float32Array | null; monitorMs: number }
  | { type: 'alert'; alert: Alert }
  | { type: 'regulation'; episode: RegulationEpisode; active: boolean };

/**
 * Generates from `promptIds` with read-outs at every token; alerts and regulation events follow
 * the token that caused them. The caller serialises generations (Model calls are serialised
 * anyway, but interleaved generations would confuse timings).
 *
 * @example
 * for await (const ev of monitorGenerate(model, pack, model.encode('Once'), { rules, maxTokens: 32 }))
 *   if (ev.type === 'alert') console.log(ev.alert.message);
 */
export async function* monitorGenerate(model: Model, pack: VectorPack, promptIds: readonly number[], opts: MonitorOptions = {}): AsyncGenerator<MonitorEvent> {
  const layer = opts.layer ?? pack.defaultLayer;
  pack.checkLayer(layer);
  const monitor = opts.monitor ?? true;
  const projector = new ReadoutProjector(pack, layer);
  const E = projector.emotions.length;
  const col = new Map(projector.emotions.map((e, i) => [e, i]));
  const rules = opts.rules ?? [];
  for (const r of rules) pack.emotionIndex(r.emotion);
  const engine = new RuleEngine(rules);
  const reg = opts.regulate ?? null;
  const hook = `blocks.${layer}.hook_resid_post`;
  const regLayer = reg?.layer ?? layer;

  // Regulation state, read by the steering position selector when each position is run.
  let episode: RegulationEpisode | null = null;
  const steer = [...(opts.steer && Object.keys(opts.steer).length ? packSteering(pack, opts.steer, { layers: [layer], positions: 'all' }) : [])];
  if (reg) {
    const active = (p: number) => episode !== null && episode.to_position === null && p >= episode.from_position;
    steer.push(...packSteering(pack, { [reg.emotion]: reg.strength }, { layers: [regLayer], positions: active }));
  }
  const pending: MonitorEvent[] = [];
  const triggered = (alerts: readonly Alert[]) => reg !== null && alerts.some((a) => reg.when === 'any' || a.rule === reg.when);
  const stillHolds = () => reg !== null && (reg.when === 'any' ? rules.some((r) => engine.holds(r.id)) : engine.holds(reg.when));
  /** After the rules saw position p: engage from p + 1, or release at p + 1. */
  const regulate = (alerts: readonly Alert[], p: number) => {
    if (!reg) return;
    if (!episode && triggered(alerts)) {
      episode = { emotion: reg.emotion, strength: reg.strength, rule: alerts.find((a) => reg.when === 'any' || a.rule === reg.when)!.rule, mode: reg.mode, from_position: p + 1, to_position: null };
      pending.push({ type: 'regulation', episode: { ...episode }, active: true });
    } else if (episode && reg.mode === 'while' && !stillHolds()) {
      episode.to_position = p + 1;
      pending.push({ type: 'regulation', episode: { ...episode }, active: false });
      episode = null;
    }
  };

  const t0 = performance.now();
  const bos = model.tokenizer?.bosTokenId ?? null;
  const gen = model.generate(promptIds, {
    ...(opts.maxTokens !== undefined ? { maxTokens: opts.maxTokens } : {}),
    ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
    ...(opts.topK !== undefined ? { topK: opts.topK } : {}),
    ...(opts.topP !== undefined ? { topP: opts.topP } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.stop !== undefined ? { stop: opts.stop } : {}),
    ...(opts.stopAtEos !== undefined ? { stopAtEos: opts.stopAtEos } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    capture: monitor ? [hook] : [],
    steer,
    // Runs before the first generated position is computed, so prompt alerts can engage regulation at it.
    onPrefill: (r) => {
      const acts = r.captures.get(hook)?.data ?? null;
      const z = monitor && acts ? projector.zRows(acts) : null;
      pending.push({ type: 'prefill', tokens: [...promptIds], z, ms: performance.now() - t0 });
      if (z && opts.watchPrompt) {
        const start = bos !== null && promptIds[0] === bos ? 1 : 0;
        for (let t = start; t < promptIds.length; t++) {
          const row = z.subarray(t * E, (t + 1) * E);
          const alerts = engine.step(t, t - promptIds.length, (e) => row[col.get(e)!]!);
          for (const a of alerts) pending.push({ type: 'alert', alert: a });
          regulate(alerts, t);
        }
      }
    },
  });
  let index = 0;
  for await (const t of gen) {
    yield* pending.splice(0);
    const m0 = performance.now();
    const acts = t.captures.get(hook)?.data;
    const z = monitor && acts ? projector.z(acts) : null;
    const alerts = z ? engine.step(t.position, index, (e) => z[col.get(e)!]!) : [];
    const monitorMs = performance.now() - m0;
    yield { type: 'token', index, token: t.token, position: t.position, text: t.text, logprob: t.logprob, finishReason: t.finishReason, z, monitorMs };
    for (const a of alerts) yield { type: 'alert', alert: a };
    if (!t.finishReason) regulate(alerts, t.position);
    yield* pending.splice(0);
    index++;
  }
  yield* pending.splice(0);
}
