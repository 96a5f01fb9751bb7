// Argument parsing shared by the commands: node:util parseArgs with strict checking, plus the
// options every model-using command takes (--model, --threads, --cache-dir) and model loading
// with terminal feedback on first-run graph builds.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LimbicError } from '../engine/errors.ts';
import { loadModel, type Model } from '../engine/model.ts';
import { resolveModelPath } from '../engine/hub.ts';

export class UsageError extends LimbicError {}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export const MODEL_OPTIONS = {
  model: { type: 'string', short: 'm' },
  threads: { type: 'string' },
  'cache-dir': { type: 'string' },
  tokenizer: { type: 'string' },
  quantize: { type: 'string' },
  ep: { type: 'string' },
} as const satisfies OptionSpec;

type WithHelp<O extends OptionSpec> = O & { help: { type: 'boolean'; short: 'h' } };
type Parsed<O extends OptionSpec> = ReturnType<typeof parseArgs<{ args: string[]; options: WithHelp<O>; allowPositionals: true; strict: true }>>;

export function parse<O extends OptionSpec>(argv: string[], options: O, usage: string): Parsed<O> {
  try {
    const all = { ...options, help: { type: 'boolean', short: 'h' } } as WithHelp<O>;
    return parseArgs({ args: argv, options: all, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message, usage);
  }
}

export function num(v: unknown, name: string, fallback?: number): number {
  if (v === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} expects a number, got "${String(v)}"`);
  return n;
}

export function req(v: string | undefined, name: string, usage: string): string {
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`, usage);
  return v;
}

/** Resolves --model (a local path or a pulled hub id) and loads it, saying so when a graph is built. */
export async function openModel(values: { model?: string | undefined; threads?: string | undefined; 'cache-dir'?: string | undefined; tokenizer?: string | undefined; quantize?: string | undefined; ep?: string | undefined }, usage: string): Promise<Model> {
  const spec = req(values.model, 'model', usage);
  const path = await resolveModelPath(spec);
  const opts: Parameters<typeof loadModel>[1] = {
    onEvent: (e) => {
      if (e.type === 'graph-build') process.stderr.write('');
      if (e.type === 'graph-ready' && !e.cacheHit) process.stderr.write(`limbic: built ${e.variant} graph for ${spec} in ${(e.ms / 1000).toFixed(1)} s (cached for next time)\n`);
    },
  };
  if (values.threads !== undefined) opts.threads = num(values.threads, 'threads');
  if (values['cache-dir'] !== undefined) opts.cacheDir = values['cache-dir'];
  if (values.tokenizer !== undefined) opts.tokenizerPath = values.tokenizer;
  if (values.ep !== undefined) opts.executionProviders = values.ep.split(',').map((x) => x.trim());
  if (values.quantize !== undefined) {
    const m = /^q(4|8)(?:b(16|32|64|128))?$/.exec(values.quantize);
    if (!m) throw new UsageError(`--quantize takes q8 or q4 (optionally with a block size, e.g. q4b32), got "${values.quantize}"`);
    opts.quantize = { bits: Number(m[1]) as 4 | 8, blockSize: Number(m[2] ?? 32) };
  }
  return loadModel(path, opts);
}
