// Prompt and token helpers shared by the steering command and the experiments: the bundled data
// files under data/experiments/, rendering a user turn
// (through the chat template when the model has one, else plain "User: ...\nAssistant:" text) with an
// optional prefilled reply, locating a substring of a rendered prompt as a token span, the token ids a
// continuation adds after a context (tokenized together, so merges across the boundary are honoured),
// teacher-forced log-probabilities of continuations (batched, optionally steered), pack/model checks,
// and emotion names checked against a pack with "did you mean" suggestions.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../engine/atomic.ts';
import { join } from 'node:path';
import { LimbicError } from '../../engine/errors.ts';
import type { Model, SteeringSpec } from '../../engine/model.ts';
import { tokenLogprob } from '../../engine/sampling.ts';
import type { VectorPack } from '../../vectors/pack.ts';
import { defaultDataDir } from '../corpus.ts';
import { ExperimentError } from './common.ts';

/** The twelve showcase concepts of SPEC.md section 1. */
export const SHOWCASE_EMOTIONS = ['happy', 'inspired', 'loving', 'proud', 'calm', 'desperate', 'angry', 'guilty', 'sad', 'afraid', 'nervous', 'surprised'] as const;

export class UnknownEmotionError extends LimbicError {}

/** Reads a JSON file: `spec` is a path, or a bare name under the bundled data/experiments/. */
export function readExperimentData(spec: string): { path: string; data: unknown } {
  const isPath = /[\\/]/.test(spec) || spec.endsWith('.json');
  const path = isPath && existsSync(spec) ? spec : join(defaultDataDir(), 'experiments', spec.endsWith('.json') ? spec : `${spec}.json`);
  if (!existsSync(path)) throw new ExperimentError(`experiment data file ${spec} not found`, `expected ${path}, or pass a path to a JSON file`);
  try {
    return { path, data: JSON.parse(readFileSync(path, 'utf8')) as unknown };
  } catch (err) {
    throw new ExperimentError(`${path}: not valid JSON (${(err as Error).message})`);
  }
}

/** Thrown when an experiment stops on its AbortSignal; finished units are kept, a re-run resumes. */
export class ExperimentStoppedError extends LimbicError {
  constructor(done: number, total: number) {
    super(`stopped after ${done} of ${total} units`, 're-run the same command to resume where it stopped');
  }
}

/** Throws ExperimentStoppedError when the signal has fired. */
export function throwIfStopped(signal: AbortSignal | undefined, done: number, total: number): void {
  if (signal?.aborted) throw new ExperimentStoppedError(done, total);
}

/**
 * Records the settings that decide what a run's units mean in `<outDir>/<name>-run.json`, and refuses
 * to resume into a folder whose finished units were made with other settings.
 */
export function checkRunConfig(outDir: string, name: string, config: Record<string, unknown>): void {
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, `${name}-run.json`);
  const text = `${JSON.stringify(config, null, 1)}\n`;
  if (existsSync(path)) {
    const old = readFileSync(path, 'utf8');
    if (old !== text) {
      const before = JSON.parse(old) as Record<string, unknown>;
      const diff = Object.keys({ ...before, ...config }).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(config[k]));
      throw new ExperimentError(`${outDir} holds a ${name} run with other settings (${diff.join(', ')} differ)`, 'use another --out folder, or delete this one to start over');
    }
    return;
  }
  writeFileAtomic(path, text);
}

/** Refuses `--opt` keys an experiment does not know (a typo would otherwise be ignored silently). */
export function checkOptions(experiment: string, options: Readonly<Record<string, string>>, known: Readonly<Record<string, string>>): void {
  for (const k of Object.keys(options)) {
    if (!Object.hasOwn(known, k)) {
      const list = Object.entries(known).map(([key, what]) => `${key} (${what})`).join(', ');
      throw new ExperimentError(`${experiment} has no option "${k}"`, list ? `options: ${list}` : `${experiment} takes no --opt options`);
    }
  }
}

/** What the helpers need from a model (Model satisfies it). */
export type TextModel = Pick<Model, 'encode' | 'forward' | 'tokenizer' | 'config'>;

/** Fails unless the pack was extracted from this model (architecture, widths and weights hash). */
export function checkPackForModel(pack: VectorPack, model: Pick<Model, 'config' | 'weightsHash'>): void {
  pack.checkModel({ arch: model.config.arch, dModel: model.config.dModel, nLayers: model.config.nLayers, weightsHash: model.weightsHash() });
}

/** Edit distance (insertions, deletions, substitutions). */
export function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[b.length]!;
}

/** Up to `k` names closest to `word` (prefix matches first, then shared starts, then by edit distance). */
export function closest(word: string, names: readonly string[], k = 3): string[] {
  const w = word.toLowerCase();
  const shared = (n: string) => {
    let i = 0;
    while (i < n.length && i < w.length && n[i] === w[i]) i++;
    return i;
  };
  return names
    .map((n) => ({ n, d: n.startsWith(w) || w.startsWith(n) ? 0 : shared(n) >= Math.min(4, w.length) ? 1 : levenshtein(w, n) }))
    .filter((x) => x.d <= Math.max(2, Math.floor(w.length / 2)))
    .sort((a, b) => a.d - b.d || a.n.localeCompare(b.n))
    .slice(0, k)
    .map((x) => x.n);
}

/** Checks emotion names against the pack (case-insensitive), suggesting the nearest on a miss. */
export function resolveEmotions(pack: VectorPack, names: readonly string[]): string[] {
  return names.map((raw) => {
    const name = raw.trim().toLowerCase();
    if (pack.emotions.includes(name)) return name;
    const near = closest(name, pack.emotions);
    throw new UnknownEmotionError(
      `emotion "${raw}" is not in this vector pack`,
      near.length ? `did you mean ${near.join(', ')}? (the pack has ${pack.emotions.length} emotions)` : `the pack has ${pack.emotions.length} emotions: ${pack.emotions.slice(0, 10).join(', ')}${pack.emotions.length > 10 ? ', ...' : ''}`,
    );
  });
}

/** A rendered prompt: its text, ids, and how prefixes of the text must be encoded to line up. */
export interface RenderedPrompt {
  text: string;
  ids: number[];
  format: 'chat' | 'plain';
  /** Whether ids came from encode(text) with the tokenizer's special tokens (plain) or without (chat). */
  addSpecialTokens: boolean;
}

/** Encodes a prefix (or extension) of a rendered prompt the way the prompt itself was encoded. */
export function encodeAs(model: Pick<Model, 'encode'>, rendered: Pick<RenderedPrompt, 'addSpecialTokens'>, text: string): number[] {
  return model.encode(text, { addSpecialTokens: rendered.addSpecialTokens });
}

/** Plain text (BOS as the tokenizer adds it). */
export function renderPlain(model: Pick<Model, 'encode'>, text: string): RenderedPrompt {
  return { text, ids: model.encode(text), format: 'plain', addSpecialTokens: true };
}

/**
 * A user message followed by the start of the assistant's reply (`prefill`, e.g. "("): the chat
 * template with the generation prompt when the model has one, else "User: ...\nAssistant: <prefill>".
 */
export function renderUserTurn(model: Pick<Model, 'encode' | 'tokenizer'>, content: string, prefill = ''): RenderedPrompt {
  const tok = model.tokenizer;
  if (tok?.hasChatTemplate) {
    const text = tok.applyChatTemplate([{ role: 'user', content }], { addGenerationPrompt: true }) + prefill;
    return { text, ids: model.encode(text, { addSpecialTokens: false }), format: 'chat', addSpecialTokens: false };
  }
  const text = `User: ${content}\nAssistant:${prefill ? ` ${prefill}` : ''}`;
  return { text, ids: model.encode(text), format: 'plain', addSpecialTokens: true };
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let k = 0;
  while (k < a.length && k < b.length && a[k] === b[k]) k++;
  return k;
}

/**
 * Token span [from, to) of `rendered.text.slice(charFrom, charTo)`: the tokens of the full prompt past
 * the part that the text before charFrom tokenizes to, up to the part the text through charTo does.
 * Tokens that straddle a boundary count as inside. Always at least one token when the range is non-empty.
 */
export function tokenSpan(model: Pick<Model, 'encode'>, rendered: RenderedPrompt, charFrom: number, charTo: number): { from: number; to: number } {
  if (charFrom < 0 || charTo > rendered.text.length || charFrom >= charTo) throw new ExperimentError(`tokenSpan: range ${charFrom}..${charTo} is outside the prompt of ${rendered.text.length} characters`);
  const before = encodeAs(model, rendered, rendered.text.slice(0, charFrom));
  const through = encodeAs(model, rendered, rendered.text.slice(0, charTo));
  const from = Math.min(commonPrefix(before, rendered.ids), rendered.ids.length - 1);
  const agree = commonPrefix(through, rendered.ids);
  // `through` ends inside or at the end of the span; a last token that merged with what follows differs.
  const to = Math.max(from + 1, agree < through.length ? Math.min(agree + 1, rendered.ids.length) : agree);
  return { from, to };
}

/** Context and added ids when `continuation` follows `contextText` (both tokenized together). */
export function continuationIds(model: Pick<Model, 'encode'>, rendered: RenderedPrompt, continuation: string): { context: number[]; added: number[] } {
  const full = encodeAs(model, rendered, rendered.text + continuation);
  const k = commonPrefix(full, rendered.ids);
  if (k === full.length) throw new ExperimentError(`"${continuation}" adds no tokens after the prompt`);
  return { context: full.slice(0, k), added: full.slice(k) };
}

/** One row for teacherForced(): a context and the target tokens that follow it. */
export interface ForcedRow {
  context: readonly number[];
  target: readonly number[];
}

/**
 * Sum of log p(target_i | context, target_<i) per row, under optional steering. Rows are run in
 * batches sized so that the [B, T, V] logits stay under ~`maxLogitFloats` values.
 */
export async function teacherForced(model: Pick<Model, 'forward' | 'config'>, rows: readonly ForcedRow[], opts: { steer?: readonly SteeringSpec[]; maxLogitFloats?: number } = {}): Promise<number[]> {
  const V = model.config.dVocab;
  const budget = opts.maxLogitFloats ?? 48_000_000;
  const out: number[] = [];
  for (let i = 0; i < rows.length; ) {
    const T = Math.max(...rows.slice(i).map((r) => r.context.length + r.target.length));
    const B = Math.max(1, Math.min(rows.length - i, Math.floor(budget / (T * V))));
    const batch = rows.slice(i, i + B);
    for (const r of batch) if (r.context.length === 0 || r.target.length === 0) throw new ExperimentError('teacherForced: each row needs a context and a target');
    const ids = batch.map((r) => [...r.context, ...r.target]);
    const res = await model.forward(ids, { logits: 'all', ...(opts.steer?.length ? { steer: opts.steer } : {}) });
    const lg = res.logits!; // [B, Tb, V]
    const Tb = lg.dims[1]!;
    batch.forEach((r, b) => {
      let s = 0;
      for (let j = 0; j < r.target.length; j++) {
        const t = r.context.length + j; // position of target j; its logits come from t - 1
        s += tokenLogprob(lg.data.subarray((b * Tb + t - 1) * V, (b * Tb + t) * V), r.target[j]!);
      }
      out.push(s);
    });
    i += B;
  }
  return out;
}

/** Rounds for results files (keeps JSON small and stable). */
export function round(x: number, digits = 4): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
