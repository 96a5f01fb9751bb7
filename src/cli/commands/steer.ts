// `limbic steer`: generate with and without emotion steering from the same seed and show the two
// continuations side by side (wrapped to the terminal; one after the other when it is narrow), with
// each strength as a fraction of the layer's mean residual norm and as the absolute scale added along
// the unit vector. `--sweep emotion=a:b:n` runs n evenly spaced strengths and prints a table: the
// continuation, its mean log-prob per token under the unsteered model (how far steering pushed the text
// from what the model would write), and the steered emotion's mean read-out (z) when the unsteered model
// reads the generated tokens (did the text itself take on the emotion). `--json` for every output.
import type { Model } from '../../engine/model.ts';
import { tokenLogprob } from '../../engine/sampling.ts';
import { VectorPack } from '../../vectors/pack.ts';
import { readout } from '../../vectors/readout.ts';
import { checkPackForModel, renderPlain, renderUserTurn, resolveEmotions } from '../../experiments/behaviour/prompts.ts';
import { linspace } from '../../experiments/stats.ts';
import { packSteering, parseStrength, type Strengths } from '../../experiments/steering.ts';
import { MODEL_OPTIONS, num, openModel, parse, req, UsageError } from '../args.ts';

const USAGE = `usage: limbic steer --model <m> --vectors <pack> --emotion desperate=+0.05 [--emotion calm=-0.05]
  (--prompt "..." | --chat "...") [--layers L|a-b|a,b] [--positions all|prompt|generated]
  [--max-tokens 64] [--temperature 0.7] [--seed S] [--absolute] [--json]
  [--sweep desperate=-0.1:0.1:5]
Strengths are fractions of the layer's mean residual norm (--absolute: multiples of the unit vector).
--chat renders the text as a user message with the chat template (plain "User: ...\\nAssistant:" without one).`;

/** "3", "2-4", "1,3-4" -> layer numbers (sorted, unique). */
export function parseLayers(spec: string): number[] {
  const out = new Set<number>();
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(-?\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) throw new UsageError(`cannot read layers "${spec}"`, 'write one layer (3), a range (2-4) or a list (2,3)');
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new UsageError(`layer range "${part}" runs backwards`);
    for (let l = a; l <= b; l++) out.add(l);
  }
  if (out.size === 0) throw new UsageError(`no layers in "${spec}"`);
  return [...out].sort((x, y) => x - y);
}

/** "desperate=-0.1:0.1:5" -> emotion and 5 evenly spaced strengths from -0.1 to 0.1. */
export function parseSweep(spec: string): { emotion: string; values: number[] } {
  const n = String.raw`[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?`;
  const m = new RegExp(String.raw`^\s*([^=]+?)\s*=\s*(${n})\s*:\s*(${n})\s*:\s*(\d+)\s*$`, 'i').exec(spec);
  if (!m) throw new UsageError(`cannot read sweep "${spec}"`, 'write emotion=from:to:steps, e.g. desperate=-0.1:0.1:5');
  const steps = Number(m[4]);
  if (steps < 2) throw new UsageError(`sweep "${spec}" needs at least 2 steps`);
  return { emotion: m[1]!, values: linspace(Number(m[2]), Number(m[3]), steps) };
}

interface Continuation {
  text: string;
  tokens: number[];
  finishReason: string | null;
  /** Mean log-prob per generated token under the unsteered model (null when nothing was generated). */
  meanLogprob: number | null;
  /** Mean z read-out of each steered emotion over the generated tokens, as the unsteered model reads them. */
  readout: Record<string, number>;
}

interface SteerSetup {
  model: Model;
  pack: VectorPack;
  promptIds: number[];
  layers: number[];
  positions: 'all' | 'prompt' | 'generated';
  absolute: boolean;
  gen: { maxTokens: number; temperature: number; seed: number };
  readEmotions: string[];
}

async function continuation(s: SteerSetup, strengths: Strengths): Promise<Continuation> {
  const steer = Object.keys(strengths).length ? packSteering(s.pack, strengths, { layers: s.layers, positions: s.positions, absolute: s.absolute }) : [];
  const tokens: number[] = [];
  let text = '';
  let finishReason: string | null = null;
  const eos = new Set(s.model.tokenizer?.eosTokenIds ?? s.model.config.eosTokenIds);
  for await (const t of s.model.generate(s.promptIds, { ...s.gen, steer })) {
    if (!eos.has(t.token)) tokens.push(t.token);
    text += t.text;
    finishReason = t.finishReason;
  }
  // The unsteered model reads prompt + continuation: per-token log-probs and read-outs.
  const layer = s.layers[0]!;
  const hook = `blocks.${layer}.hook_resid_post`;
  const P = s.promptIds.length;
  const out: Continuation = { text, tokens, finishReason, meanLogprob: null, readout: {} };
  if (tokens.length === 0) return out;
  const r = await s.model.forward([...s.promptIds, ...tokens], { logits: 'all', capture: [hook] });
  const V = s.model.config.dVocab;
  let lp = 0;
  for (let i = 0; i < tokens.length; i++) lp += tokenLogprob(r.logits!.data.subarray((P + i - 1) * V, (P + i) * V), tokens[i]!);
  out.meanLogprob = lp / tokens.length;
  const d = s.model.config.dModel;
  const ro = readout(s.pack, r.captures.get(hook)!.data.slice(P * d, (P + tokens.length) * d), layer, s.readEmotions);
  const E = s.readEmotions.length;
  s.readEmotions.forEach((e, j) => {
    let z = 0;
    for (let t = 0; t < tokens.length; t++) z += ro.z.data[t * E + j]! / tokens.length;
    out.readout[e] = z;
  });
  return out;
}

function sign(x: number, digits = 3): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;
}

/** Greedy word wrap; newlines are kept, over-long words are split. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/ +/)) {
      let w = word;
      while (w.length > width) {
        if (line) lines.push(line);
        lines.push(w.slice(0, width));
        w = w.slice(width);
        line = '';
      }
      if (!line) line = w;
      else if (line.length + 1 + w.length <= width) line += ` ${w}`;
      else {
        lines.push(line);
        line = w;
      }
    }
    lines.push(line);
  }
  return lines;
}

/** Two texts in columns of the given total width, or one after the other below ~60 columns. */
export function sideBySide(left: { title: string; text: string }, right: { title: string; text: string }, width: number): string {
  if (width < 60) return [`--- ${left.title} ---`, ...wrap(left.text, Math.max(20, width)), '', `--- ${right.title} ---`, ...wrap(right.text, Math.max(20, width))].join('\n');
  const w = Math.floor((width - 3) / 2);
  const a = [left.title, '-'.repeat(w), ...wrap(left.text, w)];
  const b = [right.title, '-'.repeat(w), ...wrap(right.text, w)];
  const n = Math.max(a.length, b.length);
  const rows: string[] = [];
  for (let i = 0; i < n; i++) rows.push(`${(a[i] ?? '').padEnd(w)} ${i === 1 ? '+' : '|'} ${b[i] ?? ''}`.trimEnd());
  return rows.join('\n');
}

function describe(s: SteerSetup, strengths: Strengths): { emotion: string; strength: number; scales: Record<string, number>; residNorms: Record<string, number>; text: string }[] {
  return Object.entries(strengths).map(([emotion, strength]) => {
    const norms = Object.fromEntries(s.layers.map((l) => [String(l), s.pack.residNorm(l)]));
    const scales = Object.fromEntries(s.layers.map((l) => [String(l), s.absolute ? strength : strength * s.pack.residNorm(l)]));
    const per = s.layers.map((l) => (s.absolute ? `layer ${l}: ${sign(strength / s.pack.residNorm(l))} x |resid| (${s.pack.residNorm(l).toFixed(2)})` : `layer ${l}: |resid| ${s.pack.residNorm(l).toFixed(2)} -> ${sign(scales[String(l)]!)} along the unit vector`));
    const text = s.absolute ? `${emotion} ${sign(strength)} along the unit vector (${per.join('; ')})` : `${emotion} ${sign(strength)} x |resid| (${per.join('; ')})`;
    return { emotion, strength, scales, residNorms: norms, text };
  });
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      ...MODEL_OPTIONS,
      vectors: { type: 'string' },
      emotion: { type: 'string', short: 'e', multiple: true },
      layers: { type: 'string' },
      positions: { type: 'string' },
      prompt: { type: 'string', short: 'p' },
      chat: { type: 'string' },
      'max-tokens': { type: 'string' },
      temperature: { type: 'string' },
      seed: { type: 'string' },
      absolute: { type: 'boolean' },
      json: { type: 'boolean' },
      sweep: { type: 'string' },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const packDir = req(values.vectors, 'vectors', USAGE);
  if ((values.prompt === undefined) === (values.chat === undefined)) throw new UsageError('give exactly one of --prompt or --chat', USAGE);
  const fixed = (values.emotion ?? []).map(parseStrength);
  const sweep = values.sweep !== undefined ? parseSweep(values.sweep) : null;
  if (!fixed.length && !sweep) throw new UsageError('nothing to steer: give --emotion name=strength or --sweep name=from:to:steps', USAGE);
  const positions = (values.positions ?? 'all') as SteerSetup['positions'];
  if (!['all', 'prompt', 'generated'].includes(positions)) throw new UsageError(`--positions must be all, prompt or generated, not "${positions}"`);
  const gen = { maxTokens: num(values['max-tokens'], 'max-tokens', 64), temperature: num(values.temperature, 'temperature', 0.7), seed: num(values.seed, 'seed', 1) };
  const pack = VectorPack.load(packDir);
  const names = resolveEmotions(pack, [...fixed.map(([e]) => e), ...(sweep ? [sweep.emotion] : [])]);
  const strengths: Record<string, number> = Object.fromEntries(fixed.map(([, s], i) => [names[i]!, s]));
  const sweepEmotion = sweep ? names[names.length - 1]! : null;
  const layers = values.layers !== undefined ? parseLayers(values.layers) : [pack.defaultLayer];
  layers.forEach((l) => pack.checkLayer(l));

  const model = await openModel(values, USAGE);
  try {
    checkPackForModel(pack, model);
    const rendered = values.chat !== undefined ? renderUserTurn(model, values.chat) : renderPlain(model, values.prompt!);
    if (values.chat !== undefined && rendered.format === 'plain' && !values.json) process.stderr.write('limbic steer: the model has no chat template; using plain "User: ...\\nAssistant:" text\n');
    const s: SteerSetup = { model, pack, promptIds: rendered.ids, layers, positions, absolute: values.absolute ?? false, gen, readEmotions: [...new Set(names)] };
    const width = process.stdout.columns || Number(process.env['COLUMNS']) || 100;
    const head = { model: model.id, prompt: values.chat ?? values.prompt, format: rendered.format, promptTokens: rendered.ids.length, layers, positions, absolute: s.absolute, ...gen };

    if (sweep) {
      const rows = [];
      for (const v of sweep.values) {
        const st = { ...strengths, [sweepEmotion!]: v };
        rows.push({ strength: v, steering: describe(s, st), ...(await continuation(s, st)) });
      }
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ ...head, sweep: { emotion: sweepEmotion, values: sweep.values }, fixed: strengths, rows })}\n`);
        return 0;
      }
      const norm = pack.residNorm(layers[0]!);
      process.stdout.write(`prompt: ${head.prompt}\n`);
      process.stdout.write(`sweep ${sweepEmotion} from ${sign(sweep.values[0]!)} to ${sign(sweep.values.at(-1)!)} in ${sweep.values.length} steps, ${s.absolute ? 'absolute scale along the unit vector' : `fraction of |resid| (layer ${layers[0]}: ${norm.toFixed(2)})`}; layers ${layers.join(', ')}, positions ${positions}; seed ${gen.seed}, temperature ${gen.temperature}${Object.keys(strengths).length ? `; also ${describe(s, strengths).map((x) => x.text).join('; ')}` : ''}\n\n`);
      const zName = `${sweepEmotion} z`;
      const cols = ['strength', 'scale', 'logprob', zName];
      const widths = [8, 8, 8, Math.max(8, zName.length)];
      const excerptWidth = Math.max(20, width - widths.reduce((a, b) => a + b + 2, 0));
      process.stdout.write(`${cols.map((c, i) => c.padStart(widths[i]!)).join('  ')}  continuation\n`);
      for (const r of rows) {
        const scale = s.absolute ? r.strength : r.strength * norm;
        const ex = r.text.replace(/\s*\n\s*/g, ' / ').trim();
        const cells = [sign(r.strength), sign(scale, 2), r.meanLogprob === null ? '-' : r.meanLogprob.toFixed(2), r.readout[sweepEmotion!] === undefined ? '-' : sign(r.readout[sweepEmotion!]!, 2)];
        process.stdout.write(`${cells.map((c, i) => c.padStart(widths[i]!)).join('  ')}  ${ex.length > excerptWidth ? `${ex.slice(0, excerptWidth - 3)}...` : ex}\n`);
      }
      process.stdout.write(`\nlogprob: mean per token of the continuation under the unsteered model; ${zName}: its read-out over the generated tokens as the unsteered model reads them (layer ${layers[0]})\n`);
      return 0;
    }

    const base = await continuation(s, {});
    const steered = await continuation(s, strengths);
    const steering = describe(s, strengths);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ ...head, steering, unsteered: base, steered })}\n`);
      return 0;
    }
    const label = Object.entries(strengths).map(([e, v]) => `${e}=${sign(v)}`).join(' ');
    process.stdout.write(`prompt: ${head.prompt}\n`);
    for (const d of steering) process.stdout.write(`steering: ${d.text}\n`);
    process.stdout.write(`positions ${positions}; seed ${gen.seed}, temperature ${gen.temperature}, up to ${gen.maxTokens} tokens\n\n`);
    process.stdout.write(`${sideBySide({ title: 'unsteered', text: base.text }, { title: `steered ${label}`, text: steered.text }, width)}\n\n`);
    const f = (x: number | null | undefined) => (x === null || x === undefined ? '-' : sign(x, 2));
    process.stdout.write(`mean log-prob per token under the unsteered model: unsteered ${f(base.meanLogprob)}, steered ${f(steered.meanLogprob)}\n`);
    for (const e of s.readEmotions) process.stdout.write(`${e} read-out over the generated tokens (z, layer ${layers[0]}): unsteered ${f(base.readout[e])}, steered ${f(steered.readout[e])}\n`);
    return 0;
  } finally {
    await model.dispose();
  }
}
