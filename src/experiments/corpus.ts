// Emotion corpus: typed story / neutral-dialogue records, a validating JSONL loader that reports
// file:line and what to fix, the bundled default corpus under data/corpus, its word lists, the
// text checks the corpus tests use (whole-word search, shared 12-word runs), and the manifest hashing.
// Method: ../shared/SPEC.md section 2 (stories per emotion, neutral dialogues for denoising).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Split = 'train' | 'heldout';
export type SplitFilter = Split | 'all';
export type Person = 'first' | 'third';
export type ChatRole = 'user' | 'assistant';

/** One short story in which a character feels `emotion` without the word being used. */
export interface StoryRecord {
  id: string;
  kind: 'story';
  emotion: string;
  /** Premise id from data/corpus/premises.json, e.g. "p07". */
  topic: string;
  person: Person;
  split: Split;
  text: string;
  source: string;
}

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** A Human/Assistant exchange with no emotional content, used to denoise the vectors. */
export interface NeutralRecord {
  id: string;
  kind: 'neutral';
  /** A premise id ("p12") or a plain task ("task:shell"). */
  topic: string;
  messages: ChatMessage[];
  /** `messages` rendered by {@link renderDialogue}. */
  text: string;
  source: string;
}

export type CorpusRecord = StoryRecord | NeutralRecord;

export interface Corpus {
  records: CorpusRecord[];
  stories: StoryRecord[];
  neutral: NeutralRecord[];
  /** Absolute paths of the files read, in reading order. */
  files: string[];
}

export interface LoadCorpusOptions {
  /** Accept story emotions that are not in data/emotions.json (default false). */
  allowUnknownEmotions?: boolean;
  /** The known emotions; defaults to {@link loadEmotionList}. */
  emotions?: readonly string[];
  /** Keep only stories of this split; neutral records are always kept (default 'all'). */
  split?: SplitFilter;
}

export interface DefaultCorpusOptions {
  /** Default 'train': held-out stories are excluded. Neutral dialogues are always included. */
  split?: SplitFilter;
  /** Root of the data folder (the one holding emotions.json and corpus/); default: the bundled one. */
  dataDir?: string;
}

/** A corpus file that cannot be used; `file` and `line` locate the problem, `hint` says what to fix. */
export class CorpusError extends Error {
  override name = 'CorpusError';
  constructor(
    readonly problem: string,
    readonly hint: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super(`${file === undefined ? '' : `${file}${line === undefined ? '' : `:${line}`}: `}${problem}. Hint: ${hint}`);
  }
}

export const STORY_FIELDS = ['id', 'kind', 'emotion', 'topic', 'person', 'split', 'text', 'source'] as const;
export const NEUTRAL_FIELDS = ['id', 'kind', 'topic', 'messages', 'text', 'source'] as const;
const PREMISE_TOPIC = /^p\d{2,3}$/;
const TASK_TOPIC = /^task:[a-z0-9][a-z0-9-]*$/;

// ---------------------------------------------------------------- locations

function findDataDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'data', 'emotions.json')) && existsSync(join(dir, 'package.json'))) return join(dir, 'data');
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new CorpusError('cannot find the data/ folder above ' + fileURLToPath(import.meta.url),
    'run from a limbic checkout or install that ships data/emotions.json and data/corpus/');
}

let cachedDataDir: string | undefined;
/** Absolute path of the bundled data/ folder, found from this module's location (works from any cwd). */
export function defaultDataDir(): string {
  cachedDataDir ??= findDataDir();
  return cachedDataDir;
}

/** Absolute path of data/corpus. */
export function defaultCorpusDir(dataDir = defaultDataDir()): string {
  return join(dataDir, 'corpus');
}

/** File-name form of an emotion: lower case, spaces to "-" ("at ease" -> "at-ease"). */
export function emotionSlug(emotion: string): string {
  return emotion.trim().toLowerCase().replace(/\s+/g, '-');
}

function readJsonFile(path: string, hint: string): unknown {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CorpusError(`cannot read file (${(e as Error).message})`, hint, path);
  }
  try {
    return JSON.parse(raw) as unknown;
  } catch (e) {
    throw new CorpusError(`invalid JSON (${(e as Error).message})`, hint, path);
  }
}

function isStringArray(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((s) => typeof s === 'string');
}

/** The 171 emotion words of data/emotions.json, in file order. */
export function loadEmotionList(dataDir = defaultDataDir()): string[] {
  const path = join(dataDir, 'emotions.json');
  const json = readJsonFile(path, 'data/emotions.json must be {"emotions": [string, ...]}');
  const list = (json as { emotions?: unknown }).emotions;
  if (!isStringArray(list) || list.length === 0) {
    throw new CorpusError('"emotions" is missing or not a non-empty list of strings', 'restore data/emotions.json', path);
  }
  return list;
}

export interface Premise {
  id: string;
  premise: string;
}

/** The premises stories and dialogues are set on (data/corpus/premises.json). */
export function loadPremises(dataDir = defaultDataDir()): Premise[] {
  const path = join(defaultCorpusDir(dataDir), 'premises.json');
  const json = readJsonFile(path, 'premises.json must be a list of {"id": "pNN", "premise": string}');
  const ok = Array.isArray(json) && json.every((p) => typeof p?.id === 'string' && typeof p?.premise === 'string');
  if (!ok) throw new CorpusError('not a list of {"id","premise"} objects', 'restore data/corpus/premises.json', path);
  return json as Premise[];
}

/** Forbidden words per emotion, from data/corpus/forbidden/<slug>.json ({"emotion","words"}). */
export function loadForbiddenWords(dataDir = defaultDataDir()): Map<string, string[]> {
  const dir = join(defaultCorpusDir(dataDir), 'forbidden');
  const out = new Map<string, string[]>();
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const path = join(dir, name);
    const json = readJsonFile(path, 'write {"emotion": "<emotion>", "words": ["...", ...]}') as { emotion?: unknown; words?: unknown };
    if (typeof json.emotion !== 'string' || !isStringArray(json.words)) {
      throw new CorpusError('expected {"emotion": string, "words": string[]}', 'fix the file to that shape', path);
    }
    if (emotionSlug(json.emotion) + '.json' !== name) {
      throw new CorpusError(`emotion "${json.emotion}" does not match the file name`, `name the file ${emotionSlug(json.emotion)}.json`, path);
    }
    out.set(json.emotion, json.words.map((w) => w.toLowerCase()));
  }
  return out;
}

/** Phrases that give an assistant reply an emotional tone (data/corpus/pleasantries.json). */
export function loadPleasantries(dataDir = defaultDataDir()): string[] {
  const path = join(defaultCorpusDir(dataDir), 'pleasantries.json');
  const json = readJsonFile(path, 'pleasantries.json must be a list of lower-case phrases');
  if (!isStringArray(json)) throw new CorpusError('not a list of strings', 'write ["happy to help", ...]', path);
  return json;
}

// ---------------------------------------------------------------- text helpers

/** Human/Assistant transcript of a dialogue: "Human: ..." / "Assistant: ..." blocks joined by a blank line. */
export function renderDialogue(messages: readonly ChatMessage[]): string {
  return messages.map((m) => `${m.role === 'user' ? 'Human' : 'Assistant'}: ${m.content}`).join('\n\n');
}

/** Whitespace-separated token count. */
export function wordCount(text: string): number {
  const t = text.trim();
  return t === '' ? 0 : t.split(/\s+/).length;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Matcher for whole-word, case-insensitive occurrences of any of `phrases`. Spaces and hyphens inside a
 * phrase match either, curly apostrophes match straight ones; a hyphen counts as a word boundary.
 */
export function wordMatcher(phrases: readonly string[]): RegExp {
  const parts = [...new Set(phrases.map((p) => p.trim().toLowerCase()).filter((p) => p !== ''))]
    .sort((a, b) => b.length - a.length)
    .map((p) => p.split(/[\s-]+/).map((w) => escapeRegExp(w).replace(/'/g, "['\u2019]")).join('[\\s-]+'));
  if (parts.length === 0) return /(?!)/gu;
  return new RegExp(`(?<![\\p{L}\\p{N}_])(?:${parts.join('|')})(?![\\p{L}\\p{N}_])`, 'giu');
}

/** The distinct phrases of `phrases` found in `text` (lower case, as they appear). */
export function findWords(text: string, phrases: readonly string[] | RegExp): string[] {
  const re = phrases instanceof RegExp ? new RegExp(phrases.source, phrases.flags) : wordMatcher(phrases);
  return [...new Set([...text.matchAll(re)].map((m) => m[0].toLowerCase().replace(/\s+/g, ' ')))];
}

/** Lower-case words with punctuation stripped, for overlap checks. */
export function normalizedWords(text: string): string[] {
  return text.toLowerCase().replace(/[^\p{L}\p{N}\s]/gu, '').split(/\s+/).filter((w) => w !== '');
}

export interface SharedRun {
  firstId: string;
  secondId: string;
  run: string;
}

/** Pairs of texts that share a run of `n` consecutive normalized words (one report per pair), via a hash set of n-grams. */
export function findSharedRuns(texts: ReadonlyArray<{ id: string; text: string }>, n = 12): SharedRun[] {
  const owner = new Map<string, string>();
  const found = new Map<string, SharedRun>();
  for (const { id, text } of texts) {
    const words = normalizedWords(text);
    for (let i = 0; i + n <= words.length; i++) {
      const gram = words.slice(i, i + n).join(' ');
      const first = owner.get(gram);
      if (first === undefined) owner.set(gram, id);
      else if (first !== id && !found.has(`${first}\u0000${id}`)) found.set(`${first}\u0000${id}`, { firstId: first, secondId: id, run: gram });
    }
  }
  return [...found.values()];
}

// ---------------------------------------------------------------- validation

type Json = Record<string, unknown>;

function fail(file: string, line: number, problem: string, hint: string): never {
  throw new CorpusError(problem, hint, file, line);
}

function requireString(rec: Json, key: string, file: string, line: number, hint: string): string {
  const v = rec[key];
  if (v === undefined) fail(file, line, `missing field "${key}"`, hint);
  if (typeof v !== 'string' || v.trim() === '') fail(file, line, `field "${key}" must be a non-empty string`, hint);
  return v;
}

function requireExactFields(rec: Json, fields: readonly string[], file: string, line: number): void {
  for (const f of fields) if (!(f in rec)) fail(file, line, `missing field "${f}"`, `a ${String(rec.kind)} record has fields ${fields.join(', ')}`);
  const extra = Object.keys(rec).filter((k) => !fields.includes(k));
  if (extra.length > 0) fail(file, line, `unknown field(s) ${extra.map((k) => `"${k}"`).join(', ')}`, `a ${String(rec.kind)} record has only ${fields.join(', ')}`);
}

function validateStory(rec: Json, file: string, line: number, known: Set<string> | null): StoryRecord {
  if (rec.emotion === undefined) fail(file, line, 'story has no "emotion"', 'add "emotion": one of the words in data/emotions.json');
  requireExactFields(rec, STORY_FIELDS, file, line);
  const emotion = requireString(rec, 'emotion', file, line, 'use an emotion word from data/emotions.json');
  if (known !== null && !known.has(emotion)) {
    fail(file, line, `unknown emotion "${emotion}"`, 'use the exact spelling in data/emotions.json, or load with { allowUnknownEmotions: true }');
  }
  const topic = requireString(rec, 'topic', file, line, 'use a premise id like "p07"');
  if (!PREMISE_TOPIC.test(topic)) fail(file, line, `story topic "${topic}" is not a premise id`, 'use an id from data/corpus/premises.json, e.g. "p07"');
  if (rec.person !== 'first' && rec.person !== 'third') fail(file, line, `"person" must be "first" or "third", got ${JSON.stringify(rec.person)}`, 'set "person" to "first" or "third"');
  if (rec.split !== 'train' && rec.split !== 'heldout') fail(file, line, `"split" must be "train" or "heldout", got ${JSON.stringify(rec.split)}`, 'set "split" to "train" or "heldout"');
  return {
    id: requireString(rec, 'id', file, line, 'give each record a unique "id"'),
    kind: 'story',
    emotion,
    topic,
    person: rec.person,
    split: rec.split,
    text: requireString(rec, 'text', file, line, 'put the story in "text"'),
    source: requireString(rec, 'source', file, line, 'say where the text comes from in "source"'),
  };
}

function validateMessages(v: unknown, file: string, line: number): ChatMessage[] {
  if (!Array.isArray(v) || v.length === 0) fail(file, line, '"messages" must be a non-empty list', 'write [{"role":"user","content":"..."}, {"role":"assistant","content":"..."}]');
  return v.map((m: unknown, i) => {
    const msg = m as Json | null;
    if (msg === null || typeof msg !== 'object' || (msg.role !== 'user' && msg.role !== 'assistant') || typeof msg.content !== 'string' || msg.content.trim() === '') {
      fail(file, line, `messages[${i}] must be {"role": "user"|"assistant", "content": non-empty string}`, 'fix that message');
    }
    return { role: msg.role as ChatRole, content: msg.content as string };
  });
}

function validateNeutral(rec: Json, file: string, line: number): NeutralRecord {
  requireExactFields(rec, NEUTRAL_FIELDS, file, line);
  const topic = requireString(rec, 'topic', file, line, 'use a premise id ("p07") or "task:<kind>"');
  if (!PREMISE_TOPIC.test(topic) && !TASK_TOPIC.test(topic)) fail(file, line, `neutral topic "${topic}" is neither a premise id nor "task:<kind>"`, 'use e.g. "p07" or "task:shell"');
  const messages = validateMessages(rec.messages, file, line);
  const text = requireString(rec, 'text', file, line, 'put the rendered dialogue in "text"');
  if (text !== renderDialogue(messages)) fail(file, line, '"text" does not match "messages"', 'regenerate "text" with renderDialogue(messages): "Human: ..." / "Assistant: ..." blocks joined by a blank line');
  return {
    id: requireString(rec, 'id', file, line, 'give each record a unique "id"'),
    kind: 'neutral',
    topic,
    messages,
    text,
    source: requireString(rec, 'source', file, line, 'say where the text comes from in "source"'),
  };
}

function parseLine(raw: string, file: string, line: number): Json {
  let rec: unknown;
  try {
    rec = JSON.parse(raw);
  } catch (e) {
    fail(file, line, `invalid JSON (${(e as Error).message})`, 'each non-blank line must be one complete JSON object');
  }
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) fail(file, line, 'line is not a JSON object', 'each non-blank line must be one {...} record');
  return rec as Json;
}

function validateRecord(rec: Json, file: string, line: number, known: Set<string> | null): CorpusRecord {
  if (rec.kind === 'story') return validateStory(rec, file, line, known);
  if (rec.kind === 'neutral') return validateNeutral(rec, file, line);
  if (rec.kind === undefined) fail(file, line, 'missing field "kind"', 'set "kind" to "story" or "neutral"');
  return fail(file, line, `unknown kind ${JSON.stringify(rec.kind)}`, 'set "kind" to "story" or "neutral"');
}

/** Parse and validate one JSONL file; blank lines are skipped, an empty file is an error. */
export function parseCorpusFile(path: string, known: Set<string> | null): Array<{ record: CorpusRecord; line: number }> {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CorpusError(`cannot read file (${(e as Error).message})`, 'check the path', path);
  }
  const lines = raw.split(/\r?\n/);
  const out: Array<{ record: CorpusRecord; line: number }> = [];
  lines.forEach((text, i) => {
    if (text.trim() === '') return;
    out.push({ record: validateRecord(parseLine(text, path, i + 1), path, i + 1, known), line: i + 1 });
  });
  if (out.length === 0) fail(path, Math.max(1, lines.length - (raw.endsWith('\n') ? 1 : 0)), 'file has no records', 'write one JSON record per line, or leave the file out');
  return out;
}

function keepRecord(r: CorpusRecord, split: SplitFilter): boolean {
  return r.kind === 'neutral' || split === 'all' || r.split === split;
}

/**
 * Load and validate one or more corpus JSONL files.
 * @example
 * const c = loadCorpus(['data/corpus/stories/calm.jsonl', 'data/corpus/neutral.jsonl']);
 * c.stories.length; // 10
 * @throws CorpusError with file:line and a hint on the first bad record, a duplicate id, or an empty corpus.
 */
export function loadCorpus(paths: string | readonly string[], options: LoadCorpusOptions = {}): Corpus {
  const files = (typeof paths === 'string' ? [paths] : [...paths]).map((p) => resolve(p));
  if (files.length === 0) throw new CorpusError('no corpus files given', 'pass at least one .jsonl path');
  const known = options.allowUnknownEmotions ? null : new Set(options.emotions ?? loadEmotionList());
  const seen = new Map<string, string>();
  const records: CorpusRecord[] = [];
  for (const file of files) {
    for (const { record, line } of parseCorpusFile(file, known)) {
      const where = seen.get(record.id);
      if (where !== undefined) fail(file, line, `duplicate id "${record.id}" (first at ${where})`, 'give every record a unique id');
      seen.set(record.id, `${file}:${line}`);
      if (keepRecord(record, options.split ?? 'all')) records.push(record);
    }
  }
  if (records.length === 0) throw new CorpusError('the corpus is empty', `no records${options.split && options.split !== 'all' ? ` in split "${options.split}"` : ''} in ${files.join(', ')}`);
  return {
    records,
    stories: records.filter((r): r is StoryRecord => r.kind === 'story'),
    neutral: records.filter((r): r is NeutralRecord => r.kind === 'neutral'),
    files,
  };
}

/** The JSONL files of the bundled corpus: stories/*.jsonl (sorted) then neutral.jsonl. */
export function defaultCorpusFiles(dataDir = defaultDataDir()): string[] {
  const dir = defaultCorpusDir(dataDir);
  const storyDir = join(dir, 'stories');
  const stories = existsSync(storyDir) ? readdirSync(storyDir).filter((n) => n.endsWith('.jsonl')).sort().map((n) => join(storyDir, n)) : [];
  const neutral = join(dir, 'neutral.jsonl');
  return [...stories, ...(existsSync(neutral) ? [neutral] : [])];
}

/**
 * The bundled corpus (data/corpus). Default split 'train' leaves out held-out stories; neutral dialogues are always in.
 * @example
 * const { stories, neutral } = loadDefaultCorpus();                   // train stories + neutral
 * const heldout = loadDefaultCorpus({ split: 'heldout' }).stories;    // evaluation stories
 */
export function loadDefaultCorpus(options: DefaultCorpusOptions = {}): Corpus {
  const dataDir = options.dataDir ?? defaultDataDir();
  const files = defaultCorpusFiles(dataDir);
  if (files.length === 0) throw new CorpusError(`no corpus files under ${defaultCorpusDir(dataDir)}`, 'expected stories/*.jsonl and neutral.jsonl');
  return loadCorpus(files, { split: options.split ?? 'train', emotions: loadEmotionList(dataDir) });
}

export interface CorpusStats {
  stories: number;
  neutral: number;
  emotions: number;
  /** Stories per emotion and split (emotions with stories only, sorted). */
  perEmotion: Record<string, { train: number; heldout: number }>;
  /** Distinct premise ids used by stories and by neutral dialogues. */
  storyTopics: number;
  neutralTopics: number;
  person: { first: number; third: number };
  words: { stories: number; neutral: number };
}

/** Counts for a loaded corpus. */
export function corpusStats(corpus: Corpus): CorpusStats {
  const perEmotion: Record<string, { train: number; heldout: number }> = {};
  const person = { first: 0, third: 0 };
  for (const s of corpus.stories) {
    const e = (perEmotion[s.emotion] ??= { train: 0, heldout: 0 });
    e[s.split]++;
    person[s.person]++;
  }
  const sum = (xs: readonly { text: string }[]): number => xs.reduce((n, r) => n + wordCount(r.text), 0);
  return {
    stories: corpus.stories.length,
    neutral: corpus.neutral.length,
    emotions: Object.keys(perEmotion).length,
    perEmotion: Object.fromEntries(Object.entries(perEmotion).sort(([a], [b]) => a.localeCompare(b))),
    storyTopics: new Set(corpus.stories.map((s) => s.topic)).size,
    neutralTopics: new Set(corpus.neutral.map((n) => n.topic).filter((t) => PREMISE_TOPIC.test(t))).size,
    person,
    words: { stories: sum(corpus.stories), neutral: sum(corpus.neutral) },
  };
}

// ---------------------------------------------------------------- manifest

export const CORPUS_NAME = 'limbic-emotion-corpus';
export const CORPUS_VERSION = '1.0.0';
export const CORPUS_LICENCE = 'CC BY 4.0, original text written for the limbic project';
export const CORPUS_LICENCE_NOTE =
  'All stories, dialogues and word lists were written for limbic; reuse with attribution to "the limbic project emotion corpus".';

export interface ManifestFile {
  /** Path relative to data/corpus, with "/" separators. */
  path: string;
  sha256: string;
  /** Non-blank lines of a .jsonl file; list length (or 1 for an object) of a .json file. */
  records: number;
}

export interface CorpusManifest {
  name: string;
  version: string;
  licence: string;
  licenceNote: string;
  files: ManifestFile[];
  /** Stories per split for every emotion in data/emotions.json (zeros included). */
  emotions: Record<string, { train: number; heldout: number }>;
  stories: number;
  neutral: number;
  premises: number;
  /** sha256 over the sorted per-file sha256 hex digests, one per line. */
  contentHash: string;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function listCorpusDataFiles(corpusDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, name.name);
      if (name.isDirectory()) walk(p);
      else if (/\.jsonl?$/.test(name.name) && !(dir === corpusDir && name.name === 'manifest.json')) out.push(p);
    }
  };
  walk(corpusDir);
  return out.map((p) => relative(corpusDir, p).split(/[\\/]/).join('/')).sort();
}

function countRecords(path: string, raw: string): number {
  if (path.endsWith('.jsonl')) return raw.split(/\r?\n/).filter((l) => l.trim() !== '').length;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new CorpusError(`invalid JSON (${(e as Error).message})`, 'fix the file before writing the manifest', path);
  }
  return Array.isArray(json) ? json.length : 1;
}

/** Stories per split for every emotion of the list (zeros included, list order), then any others. */
function countsPerEmotion(corpus: Corpus, emotions: readonly string[]): Record<string, { train: number; heldout: number }> {
  const seen = corpusStats(corpus).perEmotion;
  const out: Record<string, { train: number; heldout: number }> = {};
  for (const e of emotions) out[e] = seen[e] ?? { train: 0, heldout: 0 };
  for (const [e, c] of Object.entries(seen)) out[e] ??= c;
  return out;
}

/**
 * Manifest of data/corpus: per-file sha256 and record counts, stories per emotion and split, and one content hash.
 * Validates the corpus with the loader first (throws CorpusError on a bad record). Deterministic: no timestamps.
 */
export function computeCorpusManifest(dataDir = defaultDataDir()): CorpusManifest {
  const corpusDir = defaultCorpusDir(dataDir);
  const corpus = loadCorpus(defaultCorpusFiles(dataDir), { split: 'all', emotions: loadEmotionList(dataDir) });
  const files = listCorpusDataFiles(corpusDir).map((rel): ManifestFile => {
    const buf = readFileSync(join(corpusDir, rel));
    return { path: rel, sha256: sha256(buf), records: countRecords(rel, buf.toString('utf8')) };
  });
  return {
    name: CORPUS_NAME,
    version: CORPUS_VERSION,
    licence: CORPUS_LICENCE,
    licenceNote: CORPUS_LICENCE_NOTE,
    files,
    emotions: countsPerEmotion(corpus, loadEmotionList(dataDir)),
    stories: corpus.stories.length,
    neutral: corpus.neutral.length,
    premises: loadPremises(dataDir).length,
    contentHash: sha256(files.map((f) => f.sha256).sort().join('\n')),
  };
}

/** Path of the manifest file. */
export function manifestPath(dataDir = defaultDataDir()): string {
  return join(defaultCorpusDir(dataDir), 'manifest.json');
}

/** Display name of a corpus file for messages: relative to data/corpus when inside it. */
export function corpusFileLabel(path: string, dataDir = defaultDataDir()): string {
  const rel = relative(defaultCorpusDir(dataDir), path);
  return rel.startsWith('..') ? basename(path) : rel.split(/[\\/]/).join('/');
}
