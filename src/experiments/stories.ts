// `limbic stories`: writes emotion stories and neutral dialogues with an instruct model (a Writer),
// filters them and appends the kept ones to a corpus JSONL file that loadCorpus() reads.
// Method: ../shared/SPEC.md section 2 (stories per emotion and premise that never name the emotion,
// first and third person mixed; neutral Human/Assistant dialogues with no emotional content).
//
// Jobs (emotion x premise x k, plus premise x k dialogues) run with a few in flight but finish in
// job order: each kept record is appended as one fsync'd line, then a small sidecar state file
// (<out>.state.json: parameter hash, how many jobs are done, drop counts, committed byte length) is
// replaced atomically. A re-run resumes after the last finished job; a line left half-written by a
// crash is cut off, and a record written just before a crash (state not yet updated) is kept.
//
// Split by concern: storiesPrompts.ts (prompt file, forbidden words, job list), storiesFilter.ts
// (parsing and checking replies), storiesState.ts (state file, resume and repair). This file runs the
// jobs and re-exports the public names of the others.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { writeFileAtomic } from '../engine/atomic.ts';
import { defaultDataDir, loadEmotionList, loadForbiddenWords, loadPleasantries, loadPremises, wordMatcher, type Premise } from './corpus.ts';
import { checkOutput, dedupeKey, NEUTRAL_KEY, type CheckContext, type DropReason, type Verdict } from './storiesFilter.ts';
import { forbiddenFor, jobPrompt, loadStoryPrompts, planJobs, promptsPath, StoriesError, type StoriesJob } from './storiesPrompts.ts';
import { openOutput, statePathFor, type DropCounts, type StoriesParams } from './storiesState.ts';
import type { WriteResult, Writer } from './writers/writer.ts';

export { isEndpointUrl, openWriter, WriterAuthError, WriterError, type Writer } from './writers/writer.ts';
export {
  StoriesError, type StoryPromptSpec, type NeutralTask, type NeutralPromptSpec, type StoryPrompts, promptsPath,
  loadStoryPrompts, simpleInflections, forbiddenFor, type StoryJob, type NeutralJob, type StoriesJob,
  type PlanOptions, planJobs, jobPrompt,
} from './storiesPrompts.ts';
export {
  type DropReason, DROP_REASONS, NEUTRAL_KEY, cleanStory, parseDialogue, type Verdict, type CheckContext,
  checkOutput,
} from './storiesFilter.ts';
export {
  type StoriesParams, type DropCounts, type StoriesState, statePathFor,
} from './storiesState.ts';

// ---------------------------------------------------------------- the run

export type StoriesEvent =
  | { type: 'start'; out: string; statePath: string; writer: string; total: number; done: number; resumed: boolean }
  | { type: 'repair'; removedBytes: number; recovered: number }
  | {
      type: 'job'; id: string; kind: 'story' | 'neutral'; emotion: string | null; kept: boolean;
      reason: DropReason | null; detail: string | null; done: number; total: number; keptCount: number; droppedCount: number;
    }
  | { type: 'end'; summary: StoriesSummary };

export interface StoriesOptions {
  writer: Writer;
  /** Output JSONL path; the state goes beside it as <out>.state.json. */
  out: string;
  /** 'all' (default) or emotion words from data/emotions.json. */
  emotions?: 'all' | readonly string[];
  /** How many premises (the first N of premises.json) or which premise ids; default all. */
  topics?: number | readonly string[];
  /** Stories per (emotion, premise); default 1. */
  perTopic?: number;
  /** Neutral dialogues per premise; default 0. */
  neutral?: number;
  seed?: number;
  temperature?: number;
  topP?: number;
  /** Fraction of stories marked split "heldout" (hashed from the seed and job id); default 0. */
  heldout?: number;
  /** Override the prompt file's token limits. */
  maxTokens?: { story?: number; neutral?: number };
  /** Jobs in flight at once (default 1; capped by the writer). The file is identical for any value. */
  concurrency?: number;
  /** Discard an existing output and state and start over. */
  force?: boolean;
  /** Stop early (e.g. Ctrl-C): in-flight jobs are abandoned, finished ones stay recorded. */
  signal?: AbortSignal;
  /** Stop after this many jobs finish in this run (tests use it to simulate a crash). */
  stopAfter?: number;
  dataDir?: string;
  /** Prompt file to use (default data/prompts/stories.json). */
  promptsFile?: string;
  onEvent?: (e: StoriesEvent) => void;
}

export interface StoriesSummary {
  out: string;
  statePath: string;
  writer: string;
  source: string;
  total: number;
  done: number;
  /** Jobs already done when this run started. */
  resumedFrom: number;
  complete: boolean;
  /** Why the run ended before the last job. */
  stopped: 'aborted' | 'limit' | null;
  kept: { story: number; neutral: number };
  dropped: DropCounts;
  droppedTotal: number;
}

/** Total of a drop table, or of one reason. */
export function countDrops(d: DropCounts, reason?: DropReason): number {
  const rows = reason ? [d[reason] ?? {}] : Object.values(d);
  return rows.reduce((n, r) => n + Object.values(r ?? {}).reduce((a, b) => a + b, 0), 0);
}

function selectEmotions(choice: 'all' | readonly string[] | undefined, known: readonly string[]): string[] {
  if (choice === undefined || choice === 'all') return [...known];
  const list = [...new Set(choice.map((e) => e.trim()).filter((e) => e !== ''))];
  if (list.length === 0) throw new StoriesError('no emotions given', 'pass "all" or a comma-separated list, e.g. calm,afraid');
  const unknown = list.filter((e) => !known.includes(e));
  if (unknown.length > 0) throw new StoriesError(`unknown emotion(s): ${unknown.join(', ')}`, 'use the spelling in data/emotions.json (e.g. "at ease", "grief-stricken"), or "all"');
  return list;
}

function selectPremises(choice: number | readonly string[] | undefined, all: readonly Premise[]): Premise[] {
  if (choice === undefined) return [...all];
  if (typeof choice === 'number') {
    if (!Number.isInteger(choice) || choice < 1 || choice > all.length) throw new StoriesError(`topics must be 1-${all.length}, got ${choice}`, `data/corpus/premises.json has ${all.length} premises`);
    return all.slice(0, choice);
  }
  const byId = new Map(all.map((p) => [p.id, p]));
  const missing = choice.filter((id) => !byId.has(id));
  if (missing.length > 0) throw new StoriesError(`unknown premise id(s): ${missing.join(', ')}`, `use ids from data/corpus/premises.json (p01-p${all.length})`);
  return [...new Set(choice)].map((id) => byId.get(id)!);
}

function count(name: string, v: number | undefined, fallback: number, min: number): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < min) throw new StoriesError(`${name} must be an integer >= ${min}, got ${n}`, `set ${name} to a whole number`);
  return n;
}

/**
 * Writes (or continues) a generated corpus.
 * @example
 * const writer = await openWriter('http://127.0.0.1:8080/v1', { model: 'qwen2.5-7b-instruct' });
 * const s = await runStories({ writer, out: 'corpus.jsonl', emotions: ['calm', 'afraid'], topics: 10, perTopic: 2, neutral: 1 });
 * loadCorpus('corpus.jsonl').stories.length === s.kept.story; // true
 */
export async function runStories(o: StoriesOptions): Promise<StoriesSummary> {
  const dataDir = o.dataDir ?? defaultDataDir();
  const prompts = loadStoryPrompts(o.promptsFile ?? promptsPath(dataDir));
  const known = loadEmotionList(dataDir);
  const emotions = selectEmotions(o.emotions, known);
  const premises = selectPremises(o.topics, loadPremises(dataDir));
  const perTopic = count('perTopic', o.perTopic, 1, 0);
  const neutral = count('neutral', o.neutral, 0, 0);
  if (perTopic + neutral === 0) throw new StoriesError('nothing to write: perTopic and neutral are both 0', 'ask for at least one story per topic or one dialogue');
  const heldout = o.heldout ?? 0;
  if (!(heldout >= 0 && heldout < 1)) throw new StoriesError(`heldout must be in [0, 1), got ${heldout}`, 'e.g. 0.2 marks a fifth of the stories "heldout"');
  const temperature = o.temperature ?? 0.9;
  if (!(temperature >= 0)) throw new StoriesError(`temperature must be >= 0, got ${temperature}`, 'e.g. 0.9');
  const seed = count('seed', o.seed, 0, 0);
  const maxTokens = { story: o.maxTokens?.story ?? prompts.story.maxTokens, neutral: o.maxTokens?.neutral ?? prompts.neutral.maxTokens };
  const params: StoriesParams = {
    writer: o.writer.id, promptVersion: prompts.version, promptHash: prompts.hash,
    emotions, topics: premises.map((p) => p.id), perTopic, neutral, seed, temperature, topP: o.topP ?? null, heldout, maxTokens,
  };
  const jobs = planJobs({ emotions, premises, perTopic, neutral, seed, heldout, prompts });
  const hash = createHash('sha256').update(JSON.stringify({ params, jobs: jobs.map((j) => j.id) })).digest('hex');

  const out = resolve(o.out);
  const statePath = statePathFor(out);
  const opened = openOutput(out, statePath, hash, params, jobs, o.force === true);
  const state = opened.state;
  const resumedFrom = state.done;
  const source = `limbic stories: ${o.writer.id}, prompt v${prompts.version}`;
  const emit = o.onEvent ?? ((): void => {});
  if (opened.repaired) emit({ type: 'repair', ...opened.repaired });
  emit({ type: 'start', out, statePath, writer: o.writer.id, total: jobs.length, done: state.done, resumed: opened.resumed });

  const forbidden = loadForbiddenWords(dataDir);
  const matchers = new Map<string, RegExp>();
  const ctx: CheckContext = {
    prompts, source, seen: new Set(),
    storyMatcher: (e) => {
      let m = matchers.get(e);
      if (!m) matchers.set(e, (m = wordMatcher(forbiddenFor(e, forbidden).filter)));
      return m;
    },
    emotionMatcher: wordMatcher(known),
    pleasantryMatcher: wordMatcher(loadPleasantries(dataDir)),
  };
  if (state.bytes > 0) {
    for (const line of readFileSync(out, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const r = JSON.parse(line) as { kind: string; text: string };
      ctx.seen.add(dedupeKey(r.kind, r.text));
    }
  }

  const summary = (stopped: StoriesSummary['stopped']): StoriesSummary => ({
    out, statePath, writer: o.writer.id, source, total: jobs.length, done: state.done, resumedFrom,
    complete: state.done === jobs.length, stopped: state.done === jobs.length ? null : stopped,
    kept: { ...state.kept }, dropped: structuredClone(state.dropped), droppedTotal: countDrops(state.dropped),
  });
  if (state.done === jobs.length) {
    const s = summary(null);
    emit({ type: 'end', summary: s });
    return s;
  }

  const ctrl = new AbortController();
  const onAbort = (): void => ctrl.abort(o.signal?.reason);
  if (o.signal?.aborted) ctrl.abort(o.signal.reason);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const concurrency = Math.max(1, Math.min(o.concurrency ?? 1, o.writer.maxConcurrency));
  const fd = openSync(out, 'a');
  let failure: unknown = null;
  let stopped: StoriesSummary['stopped'] = null;
  let finishedThisRun = 0;

  const commit = (job: StoriesJob, v: Verdict): void => {
    if (v.kept) {
      const line = Buffer.from(`${JSON.stringify(v.record)}\n`, 'utf8');
      let w = 0;
      while (w < line.length) w += writeSync(fd, line, w, line.length - w);
      fsyncSync(fd);
      state.bytes += line.length;
      state.kept[job.kind]++;
      ctx.seen.add(dedupeKey(v.record.kind, v.record.text));
    } else {
      const key = job.kind === 'story' ? job.emotion : NEUTRAL_KEY;
      const row = (state.dropped[v.reason] ??= {});
      row[key] = (row[key] ?? 0) + 1;
    }
    state.done++;
    state.lastDone = job.id;
    writeFileAtomic(statePath, `${JSON.stringify(state, null, 1)}\n`);
    finishedThisRun++;
    emit({
      type: 'job', id: job.id, kind: job.kind, emotion: job.kind === 'story' ? job.emotion : null, kept: v.kept,
      reason: v.kept ? null : v.reason, detail: v.kept ? null : v.detail, done: state.done, total: jobs.length,
      keptCount: state.kept.story + state.kept.neutral, droppedCount: countDrops(state.dropped),
    });
  };

  const runJob = async (job: StoriesJob): Promise<WriteResult> => {
    const content = jobPrompt(job, prompts, forbidden);
    return o.writer.write({
      messages: [{ role: 'user', content }],
      maxTokens: job.kind === 'story' ? maxTokens.story : maxTokens.neutral,
      temperature, seed: job.seed, signal: ctrl.signal,
      ...(o.topP !== undefined ? { topP: o.topP } : {}),
    });
  };

  try {
    await new Promise<void>((resolveRun) => {
      const results = new Map<number, WriteResult>();
      let nextStart = state.done;
      let inFlight = 0;
      const pump = (): void => {
        // Finish in job order: a result waits until every earlier job is committed. Checking works on
        // the committed state (the duplicate set), so it happens here, in order, not when a reply lands.
        while (failure === null && !ctrl.signal.aborted && results.has(state.done)) {
          const i = state.done;
          const res = results.get(i)!;
          results.delete(i);
          try {
            commit(jobs[i]!, checkOutput(jobs[i]!, res, ctx));
          } catch (err) {
            failure = err;
            ctrl.abort();
          }
          if (o.stopAfter !== undefined && finishedThisRun >= o.stopAfter && state.done < jobs.length) {
            stopped = 'limit';
            ctrl.abort();
          }
        }
        const halted = failure !== null || ctrl.signal.aborted;
        if (!halted) {
          while (inFlight < concurrency && nextStart < jobs.length) {
            const i = nextStart++;
            inFlight++;
            runJob(jobs[i]!).then(
              (r) => {
                if (!ctrl.signal.aborted) results.set(i, r);
              },
              (err: unknown) => {
                if (!ctrl.signal.aborted && failure === null) {
                  failure = err;
                  ctrl.abort();
                }
              },
            ).finally(() => {
              inFlight--;
              pump();
            });
          }
        }
        if (inFlight === 0 && (halted || state.done >= jobs.length)) resolveRun();
      };
      pump();
    });
  } finally {
    closeSync(fd);
    o.signal?.removeEventListener('abort', onAbort);
  }
  if (failure !== null) throw failure;
  if (stopped === null && state.done < jobs.length) stopped = 'aborted';
  const s = summary(stopped);
  emit({ type: 'end', summary: s });
  return s;
}
