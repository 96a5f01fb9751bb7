// Resumable output of `limbic stories` (src/experiments/stories.ts): the sidecar state file
// (<out>.state.json: parameter hash, jobs done, drop counts, committed byte length) and opening an
// output to start or continue it, cutting a half-written last line and keeping a record appended
// just before a crash.
import { existsSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../engine/atomic.ts';
import type { DropReason } from './storiesFilter.ts';
import { StoriesError, type StoriesJob } from './storiesPrompts.ts';

// ---------------------------------------------------------------- state

export interface StoriesParams {
  writer: string;
  promptVersion: number;
  promptHash: string;
  emotions: string[];
  topics: string[];
  perTopic: number;
  neutral: number;
  seed: number;
  temperature: number;
  topP: number | null;
  heldout: number;
  maxTokens: { story: number; neutral: number };
}

export type DropCounts = Partial<Record<DropReason, Record<string, number>>>;

export interface StoriesState {
  format: 'limbic-stories-state';
  version: 1;
  /** sha256 over the parameters and the job id list. */
  hash: string;
  params: StoriesParams;
  total: number;
  /** Jobs finish in job order, so the done set is the first `done` jobs of the list. */
  done: number;
  /** Id of the last done job (a cross-check on the job list). */
  lastDone: string | null;
  /** Byte length of the output after the last done job. */
  bytes: number;
  kept: { story: number; neutral: number };
  dropped: DropCounts;
}

export function statePathFor(out: string): string {
  return `${out}.state.json`;
}

function freshState(hash: string, params: StoriesParams, total: number): StoriesState {
  return { format: 'limbic-stories-state', version: 1, hash, params, total, done: 0, lastDone: null, bytes: 0, kept: { story: 0, neutral: 0 }, dropped: {} };
}

function describeChanges(a: StoriesParams, b: StoriesParams): string {
  const out: string[] = [];
  const show = (v: unknown): string => {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  };
  for (const k of Object.keys(b) as Array<keyof StoriesParams>) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(`${k} ${show(a[k])} -> ${show(b[k])}`);
  }
  return out.length > 0 ? out.join('; ') : 'the job list differs';
}

function readState(path: string): StoriesState {
  let s: StoriesState;
  try {
    s = JSON.parse(readFileSync(path, 'utf8')) as StoriesState;
  } catch (e) {
    throw new StoriesError(`cannot read the state file ${path} (${(e as Error).message})`, 'pass --force to start the output over, or choose another --out');
  }
  if (s?.format !== 'limbic-stories-state' || s.version !== 1 || typeof s.hash !== 'string' || !Number.isInteger(s.done) || !Number.isInteger(s.bytes)) {
    throw new StoriesError(`${path} is not a limbic stories state file`, 'pass --force to start the output over, or choose another --out');
  }
  return s;
}

interface Opened {
  state: StoriesState;
  /** Events to report (a repaired tail). */
  repaired: { removedBytes: number; recovered: number } | null;
  resumed: boolean;
}

/**
 * Opens (or starts) the output and its state: checks the parameters match, cuts a half-written last
 * line, and counts a complete record that was appended just before a crash as done.
 */
export function openOutput(out: string, statePath: string, hash: string, params: StoriesParams, jobs: readonly StoriesJob[], force: boolean): Opened {
  const start = (): Opened => {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, '');
    const state = freshState(hash, params, jobs.length);
    writeFileAtomic(statePath, `${JSON.stringify(state, null, 1)}\n`);
    return { state, repaired: null, resumed: false };
  };
  if (force) return start();
  const haveOut = existsSync(out);
  if (!existsSync(statePath)) {
    if (haveOut && statSync(out).size > 0) {
      throw new StoriesError(`${out} already exists and has no ${statePath}, so it was not written by limbic stories (or its state was deleted)`,
        'choose another --out, or pass --force to overwrite it');
    }
    return start();
  }
  const state = readState(statePath);
  if (state.hash !== hash) {
    throw new StoriesError(`${out} was started with different parameters (${describeChanges(state.params, params)})`,
      'rerun with the original options to continue it, pass --force to discard it and start over, or choose another --out');
  }
  if (state.done > jobs.length || (state.done > 0 && state.lastDone !== jobs[state.done - 1]!.id)) {
    throw new StoriesError(`${statePath} does not match the job list`, 'pass --force to start the output over');
  }
  if (!haveOut) {
    if (state.bytes > 0) throw new StoriesError(`${out} is missing but ${statePath} says ${state.kept.story + state.kept.neutral} records were written`, 'restore the file, or pass --force to start over');
    writeFileSync(out, '');
  }
  const size = statSync(out).size;
  if (size < state.bytes) {
    throw new StoriesError(`${out} is shorter (${size} bytes) than its state file records (${state.bytes} bytes); was it edited?`, 'restore the file, or pass --force to start over');
  }
  let repaired: Opened['repaired'] = null;
  if (size > state.bytes) {
    const tail = readFileSync(out).subarray(state.bytes);
    let offset = 0;
    let recovered = 0;
    // Complete lines that are exactly the next job's record were written just before a crash: keep them.
    for (;;) {
      const nl = tail.indexOf(0x0a, offset);
      if (nl < 0) break;
      const next = jobs[state.done];
      let rec: { id?: unknown } | null = null;
      try {
        rec = JSON.parse(tail.subarray(offset, nl).toString('utf8')) as { id?: unknown };
      } catch {
        rec = null;
      }
      if (!next || rec?.id !== next.id) break;
      state.done++;
      state.lastDone = next.id;
      state.kept[next.kind]++;
      recovered++;
      offset = nl + 1;
    }
    state.bytes += offset;
    const removed = size - state.bytes;
    if (removed > 0) truncateSync(out, state.bytes);
    writeFileAtomic(statePath, `${JSON.stringify(state, null, 1)}\n`);
    repaired = { removedBytes: removed, recovered };
  }
  return { state, repaired, resumed: state.done > 0 };
}
