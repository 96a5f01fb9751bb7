// Shared harness for the behavioural experiments (SPEC.md section 4): the module contract every
// experiment implements, a resumable rollout store (JSONL, one line per finished unit of work,
// fsync'd; a torn last line from a crash is dropped), result files written atomically, progress
// events, and the steering conditions (unsteered, emotion +/- s) the experiments sweep over.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../engine/atomic.ts';
import { LimbicError } from '../../engine/errors.ts';
import type { Model } from '../../engine/model.ts';
import type { VectorPack } from '../../vectors/pack.ts';
import type { Strengths } from '../steering.ts';

export class ExperimentError extends LimbicError {}

/** One steering condition: a name and emotion strengths (fractions of the residual norm). */
export interface Condition {
  name: string;
  strengths: Strengths;
}

export const UNSTEERED: Condition = { name: 'unsteered', strengths: {} };

/** Conditions for a list of emotions at +/- each strength, plus the unsteered baseline. */
export function conditionsFor(emotions: readonly string[], strengths: readonly number[]): Condition[] {
  const out: Condition[] = [UNSTEERED];
  for (const e of emotions) {
    for (const s of strengths) {
      if (s === 0) continue;
      out.push({ name: `${e}${s > 0 ? '+' : ''}${s}`, strengths: { [e]: s } });
    }
  }
  return out;
}

export type ExperimentEvent =
  | { type: 'start'; experiment: string; units: number; done: number }
  | { type: 'progress'; done: number; total: number; note?: string }
  | { type: 'log'; message: string }
  | { type: 'done'; outDir: string };

export interface ExperimentContext {
  model: Model;
  pack: VectorPack;
  outDir: string;
  /** Rollouts (samples) per condition where the experiment samples. */
  rollouts: number;
  /** Steering strengths (fractions of the residual norm) to sweep. */
  strengths: readonly number[];
  /** Emotions to steer (default chosen by the experiment). */
  emotions?: readonly string[];
  /** Steering layers (default: the pack's default layer). */
  layers?: readonly number[];
  seed: number;
  maxTokens?: number;
  /** Grader: 'model' (an instruct model with a rubric), 'keyword', or an OpenAI-compatible URL. */
  grader?: string;
  onEvent?: (e: ExperimentEvent) => void;
  signal?: AbortSignal;
  /** Experiment-specific options from the command line (--opt key=value). */
  options: Readonly<Record<string, string>>;
}

export interface ExperimentSummary {
  /** Rows for the terminal table. */
  columns: string[];
  rows: (string | number)[][];
  /** Lines printed under the table. */
  notes: string[];
}

/** What each experiment module exports. */
export interface ExperimentModule {
  name: string;
  summary: string;
  /** What model the experiment needs to be meaningful (printed in --help and the README). */
  requirements: string;
  run(ctx: ExperimentContext): Promise<ExperimentSummary>;
}

/**
 * Append-only store of finished work units, keyed by id, in `<outDir>/rollouts.jsonl`.
 * A re-run skips ids already present, so experiments resume where they stopped.
 */
export class RolloutStore<T extends { id: string }> {
  readonly path: string;
  private readonly byId = new Map<string, T>();

  constructor(outDir: string, file = 'rollouts.jsonl') {
    mkdirSync(outDir, { recursive: true });
    this.path = join(outDir, file);
    if (existsSync(this.path)) {
      const text = readFileSync(this.path, 'utf8');
      let good = 0;
      for (const line of text.split('\n')) {
        if (!line.endsWith('}')) break;
        try {
          const rec = JSON.parse(line) as T;
          this.byId.set(rec.id, rec);
          good += Buffer.byteLength(line) + 1;
        } catch {
          break;
        }
      }
      if (good < Buffer.byteLength(text)) truncateSync(this.path, good);
    }
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): T | undefined {
    return this.byId.get(id);
  }

  all(): T[] {
    return [...this.byId.values()];
  }

  get size(): number {
    return this.byId.size;
  }

  add(rec: T): void {
    const fd = openSync(this.path, 'a');
    try {
      writeSync(fd, `${JSON.stringify(rec)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.byId.set(rec.id, rec);
  }
}

/** Writes `<outDir>/results.json` atomically. */
export function writeResults(outDir: string, results: unknown): string {
  const path = join(outDir, 'results.json');
  writeFileAtomic(path, `${JSON.stringify(results, null, 1)}\n`);
  return path;
}

/** Wilson score interval for k successes in n trials (95% by default). */
export function wilson(k: number, n: number, z = 1.959963984540054): { rate: number; low: number; high: number } {
  if (n === 0) return { rate: 0, low: 0, high: 1 };
  const p = k / n;
  const denom = 1 + (z * z) / n;
  const center = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return { rate: p, low: Math.max(0, center - half), high: Math.min(1, center + half) };
}
