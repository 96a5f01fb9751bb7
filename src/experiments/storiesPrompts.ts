// What `limbic stories` asks its writer (src/experiments/stories.ts): the prompt file
// (data/prompts/stories.json) and its validation, the forbidden words a story must not use, the job
// list (emotion x premise x k stories, premise x k neutral dialogues) and the prompt text of each job.
// Also StoriesError, the error every stories module throws.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LimbicError } from '../engine/errors.ts';
import { defaultDataDir, emotionSlug, type Person, type Premise, type Split } from './corpus.ts';

/** A run that cannot start or continue: bad options, an output file from another run, a damaged state file. */
export class StoriesError extends LimbicError {}

// ---------------------------------------------------------------- prompts

export interface StoryPromptSpec {
  template: string;
  persons: Record<Person, string>;
  minWords: number;
  maxWords: number;
  maxTokens: number;
}

export interface NeutralTask {
  id: string;
  text: string;
}

export interface NeutralPromptSpec {
  template: string;
  tasks: NeutralTask[];
  /** Message counts asked for, cycled over the jobs. */
  turns: number[];
  minTurns: number;
  maxTurns: number;
  minWords: number;
  maxWords: number;
  maxTokens: number;
}

export interface StoryPrompts {
  version: number;
  story: StoryPromptSpec;
  neutral: NeutralPromptSpec;
  /** sha256 of the prompt file's text (first 16 hex digits): an edit without a version bump still counts as a change. */
  hash: string;
}

/** Path of the bundled prompt file. */
export function promptsPath(dataDir = defaultDataDir()): string {
  return join(dataDir, 'prompts', 'stories.json');
}

function promptError(path: string, problem: string): never {
  throw new StoriesError(`${path}: ${problem}`, 'restore data/prompts/stories.json or fix that field');
}

function posInt(v: unknown, path: string, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) promptError(path, `"${field}" must be a positive integer`);
  return v;
}

function requirePlaceholders(template: unknown, names: readonly string[], path: string, field: string): string {
  if (typeof template !== 'string' || template.trim() === '') promptError(path, `"${field}" must be a non-empty string`);
  for (const n of names) if (!template.includes(`{${n}}`)) promptError(path, `"${field}" lacks the placeholder {${n}}`);
  return template;
}

/** Loads and validates data/prompts/stories.json (or another file of that shape). */
export function loadStoryPrompts(path = promptsPath()): StoryPrompts {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (e) {
    return promptError(path, `cannot read (${(e as Error).message})`);
  }
  let j: Record<string, any>;
  try {
    j = JSON.parse(raw) as Record<string, any>;
  } catch (e) {
    return promptError(path, `invalid JSON (${(e as Error).message})`);
  }
  const s = j.story ?? promptError(path, 'missing "story"');
  const n = j.neutral ?? promptError(path, 'missing "neutral"');
  if (typeof s.persons?.first !== 'string' || typeof s.persons?.third !== 'string') promptError(path, '"story.persons" needs "first" and "third" strings');
  const tasks = n.tasks;
  if (!Array.isArray(tasks) || tasks.length === 0 || !tasks.every((t: any) => typeof t?.id === 'string' && /^[a-z0-9][a-z0-9-]*$/.test(t.id) && typeof t?.text === 'string')) {
    promptError(path, '"neutral.tasks" must be a non-empty list of {"id": "kebab-case", "text": string}');
  }
  const turns = n.turns;
  if (!Array.isArray(turns) || turns.length === 0 || !turns.every((t: unknown) => typeof t === 'number' && Number.isInteger(t) && t >= 2)) {
    promptError(path, '"neutral.turns" must be a non-empty list of integers >= 2');
  }
  const prompts: StoryPrompts = {
    version: posInt(j.version, path, 'version'),
    story: {
      template: requirePlaceholders(s.template, ['premise', 'emotion', 'person', 'forbidden', 'minWords', 'maxWords'], path, 'story.template'),
      persons: { first: s.persons.first, third: s.persons.third },
      minWords: posInt(s.minWords, path, 'story.minWords'),
      maxWords: posInt(s.maxWords, path, 'story.maxWords'),
      maxTokens: posInt(s.maxTokens, path, 'story.maxTokens'),
    },
    neutral: {
      template: requirePlaceholders(n.template, ['premise', 'task', 'turns', 'minWords', 'maxWords'], path, 'neutral.template'),
      tasks: tasks.map((t: NeutralTask) => ({ id: t.id, text: t.text })),
      turns: [...turns],
      minTurns: posInt(n.minTurns, path, 'neutral.minTurns'),
      maxTurns: posInt(n.maxTurns, path, 'neutral.maxTurns'),
      minWords: posInt(n.minWords, path, 'neutral.minWords'),
      maxWords: posInt(n.maxWords, path, 'neutral.maxWords'),
      maxTokens: posInt(n.maxTokens, path, 'neutral.maxTokens'),
    },
    hash: createHash('sha256').update(raw).digest('hex').slice(0, 16),
  };
  return prompts;
}

function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{([A-Za-z]+)\}/g, (m, k: string) => (k in values ? String(values[k]) : m));
}

/** The premise as a clause: no trailing full stop (templates add their own punctuation). */
function premiseText(p: Premise): string {
  return p.premise.trim().replace(/[.\s]+$/, '');
}

// ---------------------------------------------------------------- forbidden words

/**
 * The emotion word and its simple inflections (adverb, noun, comparative, verb forms), used where a
 * forbidden list is missing and always added to the filter: "happy" -> happily, happiness, happier, ...
 */
export function simpleInflections(emotion: string): string[] {
  const w = emotion.trim().toLowerCase();
  if (/[\s-]/.test(w)) return [w];
  const out = [w];
  const stem = w.endsWith('y') && !/[aeiou]y$/.test(w) ? w.slice(0, -1) + 'i' : w;
  const e = w.endsWith('e') ? w.slice(0, -1) : w;
  out.push(`${stem}ly`, `${stem}ness`, `${stem}er`, `${stem}est`, `${w}s`, `${e}ed`, `${e}ing`);
  if (w.endsWith('le')) out.push(`${w.slice(0, -1)}y`);
  if (w.endsWith('ic')) out.push(`${w}ally`);
  return [...new Set(out)];
}

/** Words to name in the prompt (the list from data/corpus/forbidden, else the inflections) and to filter on (both). */
export function forbiddenFor(emotion: string, lists: ReadonlyMap<string, readonly string[]>): { prompt: string[]; filter: string[] } {
  const listed = lists.get(emotion) ?? [];
  const fallback = simpleInflections(emotion);
  const prompt = listed.length > 0 ? [...new Set([emotion.toLowerCase(), ...listed])] : fallback;
  return { prompt, filter: [...new Set([...prompt, ...fallback])] };
}

// ---------------------------------------------------------------- jobs

export interface StoryJob {
  kind: 'story';
  id: string;
  emotion: string;
  premise: Premise;
  /** 0-based repeat index within (emotion, premise). */
  k: number;
  person: Person;
  split: Split;
  seed: number;
}

export interface NeutralJob {
  kind: 'neutral';
  id: string;
  premise: Premise;
  k: number;
  task: NeutralTask;
  turns: number;
  seed: number;
}

export type StoriesJob = StoryJob | NeutralJob;

export interface PlanOptions {
  emotions: readonly string[];
  premises: readonly Premise[];
  perTopic: number;
  neutral: number;
  seed: number;
  heldout: number;
  prompts: StoryPrompts;
}

function hash32(s: string): number {
  return createHash('sha256').update(s).digest().readUInt32BE(0);
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/**
 * The job list, round by round so that a partial run covers every emotion: round r holds, per premise,
 * one story per emotion (r < perTopic) and one dialogue (r < neutral). Persons alternate over emotion,
 * premise and round; seeds and held-out picks are hashed from the run seed and the job id.
 */
export function planJobs(o: PlanOptions): StoriesJob[] {
  const jobs: StoriesJob[] = [];
  const rounds = Math.max(o.perTopic, o.neutral);
  const { tasks, turns } = o.prompts.neutral;
  for (let k = 0; k < rounds; k++) {
    o.premises.forEach((premise, pi) => {
      if (k < o.perTopic) {
        o.emotions.forEach((emotion, ei) => {
          const id = `${emotionSlug(emotion)}-${premise.id}-${pad2(k + 1)}`;
          jobs.push({
            kind: 'story', id, emotion, premise, k,
            person: (ei + pi + k) % 2 === 0 ? 'first' : 'third',
            split: o.heldout > 0 && hash32(`${o.seed}:split:${id}`) / 2 ** 32 < o.heldout ? 'heldout' : 'train',
            seed: hash32(`${o.seed}:${id}`) >>> 1,
          });
        });
      }
      if (k < o.neutral) {
        const id = `neutral-${premise.id}-${pad2(k + 1)}`;
        jobs.push({ kind: 'neutral', id, premise, k, task: tasks[(pi + k) % tasks.length]!, turns: turns[(pi + 2 * k) % turns.length]!, seed: hash32(`${o.seed}:${id}`) >>> 1 });
      }
    });
  }
  return jobs;
}

/** The chat sent to the writer for a job. */
export function jobPrompt(job: StoriesJob, prompts: StoryPrompts, forbidden: ReadonlyMap<string, readonly string[]>): string {
  if (job.kind === 'story') {
    const s = prompts.story;
    return fill(s.template, {
      premise: premiseText(job.premise), emotion: job.emotion, person: s.persons[job.person],
      forbidden: forbiddenFor(job.emotion, forbidden).prompt.join(', '), minWords: s.minWords, maxWords: s.maxWords,
    });
  }
  const n = prompts.neutral;
  return fill(n.template, { premise: premiseText(job.premise), task: job.task.text, turns: job.turns, minWords: n.minWords, maxWords: n.maxWords });
}
