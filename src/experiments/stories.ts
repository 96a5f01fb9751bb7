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
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../engine/atomic.ts';
import { LimbicError } from '../engine/errors.ts';
import {
  defaultDataDir, emotionSlug, findWords, loadEmotionList, loadForbiddenWords, loadPleasantries, loadPremises,
  renderDialogue, wordCount, wordMatcher,
  type ChatMessage, type NeutralRecord, type Person, type Premise, type Split, type StoryRecord,
} from './corpus.ts';
import type { WriteResult, Writer } from './writers/writer.ts';

export { isEndpointUrl, openWriter, WriterAuthError, WriterError, type Writer } from './writers/writer.ts';

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

// ---------------------------------------------------------------- parsing the writer's output

const SEPARATOR = /^\s*(?:-{3,}|\*{3,}|_{3,}|={3,}|(?:\*\s*){3,})\s*$/;
const PREAMBLE_START = /^(?:sure|certainly|okay|ok|of course|absolutely|alright|here(?:'s|’s| is| are| you go)|below is|the following)\b/i;
const TRAILING_META = /^(?:\(?\s*(?:word count|words?)\s*[:=]?\s*\d+|\(\s*\d+\s+words?\s*\)|(?:notes?|author'?s note|explanation)\s*:|i hope\b|let me know\b|feel free\b|would you like\b|this (?:story|paragraph|piece|dialogue|conversation)\b|in this (?:story|paragraph)\b|the (?:story|paragraph) (?:shows|conveys|depicts|captures)\b)/i;

function stripThinking(t: string): string {
  let out = t.replace(/<think>[\s\S]*?<\/think>/gi, '');
  if (/<think>/i.test(out)) out = out.replace(/<think>[\s\S]*$/i, '');
  return out;
}

function countWords(line: string): number {
  return wordCount(line.replace(/[#*_>`]/g, ' '));
}

/** A line before the story that talks about it ("Sure! Here is a story:"); a plain opener counts only when a blank line follows. */
function isPreamble(line: string, blankAfter: boolean): boolean {
  if (countWords(line) > 30) return false;
  return /:\s*(?:\*\*|__)?$/.test(line) || (blankAfter && PREAMBLE_START.test(line));
}

/** A title: a markdown heading, "Title: ...", a bold or italic short line, or a short unpunctuated line with a blank line after. */
function isTitle(line: string, blankAfter: boolean): boolean {
  if (/^#{1,6}\s/.test(line) || /^title\s*:/i.test(line)) return true;
  if (countWords(line) > 12) return false;
  if (/^(?:\*\*|__)[^*_]+(?:\*\*|__)$/.test(line) || /^\*[^*]+\*$/.test(line)) return true;
  return blankAfter && !/[.!?…"'”’)\]]$/.test(line);
}

function stripEmphasis(t: string): string {
  return t
    .replace(/\*\*(.+?)\*\*/g, '$1')
    .replace(/__(.+?)__/g, '$1')
    .replace(/(^|[\s("“])\*(\S(?:[^*]*?\S)?)\*(?=[\s).,;:!?"”]|$)/g, '$1$2');
}

/** Drops trailing paragraphs that talk about the text instead of being it ("Word count: 142", "I hope ..."). */
function dropTrailingMeta(paragraphs: string[]): string[] {
  const out = [...paragraphs];
  while (out.length > 1 && TRAILING_META.test(stripEmphasis(out[out.length - 1]!.trim()))) out.pop();
  return out;
}

/**
 * The story in a writer's reply as one paragraph of plain text, or null when nothing is left: removes
 * reasoning blocks, code fences, preambles ("Sure! Here is a story:"), titles, separators and notes
 * after the story, markdown emphasis, quotation marks around the whole text and a trailing word count.
 */
export function cleanStory(raw: string): string | null {
  let lines = stripThinking(raw.replace(/\r\n?/g, '\n')).split('\n').filter((l) => !/^\s*```/.test(l)).map((l) => l.replace(/^\s*>\s?/, ''));
  // leading blank lines, separators, preambles and titles
  while (lines.length > 0) {
    const line = lines[0]!.trim();
    const hasMore = lines.slice(1).some((l) => l.trim() !== '');
    const blankAfter = (lines[1] ?? '').trim() === '';
    if (line === '' || SEPARATOR.test(line) || (hasMore && (isPreamble(line, blankAfter) || isTitle(line, blankAfter)))) lines.shift();
    else break;
  }
  const cut = lines.findIndex((l) => SEPARATOR.test(l));
  if (cut >= 0) lines = lines.slice(0, cut);
  const paragraphs = dropTrailingMeta(lines.join('\n').split(/\n\s*\n/).map((p) => p.trim()).filter((p) => p !== ''));
  let t = stripEmphasis(paragraphs.join(' ').replace(/\s+/g, ' ').trim());
  t = t.replace(/^(?:story|paragraph)\s*:\s*/i, '');
  t = t.replace(/\s*\(\s*(?:word count\s*:?\s*\d+|\d+\s+words?)\s*\)\s*$/i, '').trim();
  for (const [open, close] of [['"', '"'], ['“', '”'], ['\u2018', '\u2019'], ["'", "'"]] as const) {
    if (t.length > 2 && t.startsWith(open) && t.endsWith(close)) {
      const inner = t.slice(1, -1);
      if (!inner.includes(open) && !inner.includes(close) && (open !== '"' || !/[“”]/.test(inner))) t = inner.trim();
    }
  }
  return t === '' ? null : t;
}

const LABEL = /^\s*(?:[-*>]\s+)?(?:\*\*|__)?\s*(human|user|person|assistant|ai)\s*(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(.*)$/i;

/**
 * Splits a written dialogue into messages: lines starting with "Human:"/"User:" or "Assistant:"/"AI:"
 * (markdown bold and list markers allowed) begin a message; text before the first label is a
 * preamble and dropped, consecutive messages of one role are merged, notes after a separator or at
 * the end are removed. Returns null when there is no labelled message or the first is not the user's.
 */
export function parseDialogue(raw: string): ChatMessage[] | null {
  const lines = stripThinking(raw.replace(/\r\n?/g, '\n')).split('\n');
  const nonEmpty = lines.map((l, i) => [l, i] as const).filter(([l]) => l.trim() !== '');
  if (nonEmpty.length >= 2 && /^\s*```/.test(nonEmpty[0]![0]) && /^\s*```\s*$/.test(nonEmpty[nonEmpty.length - 1]![0])) {
    lines.splice(nonEmpty[nonEmpty.length - 1]![1], 1);
    lines.splice(nonEmpty[0]![1], 1);
  }
  const msgs: Array<{ role: ChatMessage['role']; lines: string[] }> = [];
  for (const line of lines) {
    const m = LABEL.exec(line);
    if (m) {
      const who = m[1]!.toLowerCase();
      msgs.push({ role: who === 'assistant' || who === 'ai' ? 'assistant' : 'user', lines: [m[2]!.replace(/\s*(?:\*\*|__)\s*$/, '')] });
    } else if (msgs.length > 0) {
      msgs[msgs.length - 1]!.lines.push(line);
    }
  }
  if (msgs.length === 0) return null;
  const last = msgs[msgs.length - 1]!;
  const sep = last.lines.findIndex((l) => SEPARATOR.test(l));
  if (sep >= 0) last.lines = last.lines.slice(0, sep);
  const out: ChatMessage[] = [];
  for (const m of msgs) {
    let content = m.lines.join('\n').replace(/[ \t]+$/gm, '').replace(/\n{3,}/g, '\n\n').trim();
    if (m === last) content = dropTrailingMeta(content.split(/\n\s*\n/)).join('\n\n').trim();
    if (content === '') return null;
    const prev = out[out.length - 1];
    if (prev && prev.role === m.role) prev.content = `${prev.content}\n\n${content}`;
    else out.push({ role: m.role, content });
  }
  return out[0]?.role === 'user' ? out : null;
}

// ---------------------------------------------------------------- jobs

export type DropReason = 'parse' | 'length' | 'truncated' | 'turns' | 'forbidden' | 'emotion-word' | 'pleasantry' | 'duplicate';
export const DROP_REASONS: readonly DropReason[] = ['parse', 'length', 'truncated', 'turns', 'forbidden', 'emotion-word', 'pleasantry', 'duplicate'];
/** The key neutral dialogues' drops are counted under (stories count under their emotion). */
export const NEUTRAL_KEY = 'neutral';

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

// ---------------------------------------------------------------- checks

export type Verdict =
  | { kept: true; record: StoryRecord | NeutralRecord }
  | { kept: false; reason: DropReason; detail: string };

export interface CheckContext {
  prompts: StoryPrompts;
  source: string;
  /** Filter matcher per emotion (forbidden words), built lazily. */
  storyMatcher: (emotion: string) => RegExp;
  emotionMatcher: RegExp;
  pleasantryMatcher: RegExp;
  /** Normalised texts already kept (exact duplicates are dropped). */
  seen: Set<string>;
}

const ENDS_SENTENCE = /[.!?…"'”’)\]*]$/;

function dedupeKey(kind: string, text: string): string {
  return createHash('sha256').update(`${kind}\n${text.toLowerCase().replace(/\s+/g, ' ').trim()}`).digest('hex');
}

/** Parses and filters one writer reply; a kept reply becomes a corpus record. Does not touch ctx.seen. */
export function checkOutput(job: StoriesJob, out: WriteResult, ctx: CheckContext): Verdict {
  const drop = (reason: DropReason, detail: string): Verdict => ({ kept: false, reason, detail });
  if (job.kind === 'story') {
    const s = ctx.prompts.story;
    const text = cleanStory(out.text);
    if (text === null) return drop('parse', 'no story text in the reply');
    const n = wordCount(text);
    if (n < s.minWords || n > s.maxWords) return drop('length', `${n} words (need ${s.minWords}-${s.maxWords})`);
    if (out.finishReason === 'length' && !ENDS_SENTENCE.test(text)) return drop('truncated', 'cut off at the token limit');
    const hits = findWords(text, ctx.storyMatcher(job.emotion));
    if (hits.length > 0) return drop('forbidden', hits.join(', '));
    if (ctx.seen.has(dedupeKey('story', text))) return drop('duplicate', 'same text as an earlier story');
    return { kept: true, record: { id: job.id, kind: 'story', emotion: job.emotion, topic: job.premise.id, person: job.person, split: job.split, text, source: ctx.source } };
  }
  const nspec = ctx.prompts.neutral;
  let messages = parseDialogue(out.text);
  if (messages === null) return drop('parse', 'no "Human:"/"Assistant:" dialogue starting with the human');
  if (messages.length < nspec.minTurns) return drop('turns', `${messages.length} message(s) (need ${nspec.minTurns}-${nspec.maxTurns})`);
  if (messages.length > nspec.maxTurns) messages = messages.slice(0, nspec.maxTurns);
  const text = renderDialogue(messages);
  const n = wordCount(text);
  if (n < nspec.minWords || n > nspec.maxWords) return drop('length', `${n} words (need ${nspec.minWords}-${nspec.maxWords})`);
  if (out.finishReason === 'length' && !ENDS_SENTENCE.test(text.trimEnd().replace(/`+$/, '.'))) return drop('truncated', 'cut off at the token limit');
  const emo = findWords(text, ctx.emotionMatcher);
  if (emo.length > 0) return drop('emotion-word', emo.join(', '));
  const pl = findWords(text, ctx.pleasantryMatcher);
  if (pl.length > 0) return drop('pleasantry', pl.join(', '));
  if (ctx.seen.has(dedupeKey('neutral', text))) return drop('duplicate', 'same text as an earlier dialogue');
  return { kept: true, record: { id: job.id, kind: 'neutral', topic: job.premise.id, messages, text, source: ctx.source } };
}

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
function openOutput(out: string, statePath: string, hash: string, params: StoriesParams, jobs: readonly StoriesJob[], force: boolean): Opened {
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
