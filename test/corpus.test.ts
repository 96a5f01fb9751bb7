// Corpus checks (npm test -- corpus): the loader's validation and line-numbered errors, the neutral dialogues
// and pleasantries, story completeness per emotion, forbidden words, lengths, shared 12-word runs, and
// that data/corpus/manifest.json matches the files. Story checks fail with a list of what is missing or wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  computeCorpusManifest,
  CorpusError,
  corpusStats,
  defaultCorpusDir,
  emotionSlug,
  findSharedRuns,
  findWords,
  loadCorpus,
  loadDefaultCorpus,
  loadEmotionList,
  loadForbiddenWords,
  loadPleasantries,
  loadPremises,
  manifestPath,
  parseCorpusFile,
  renderDialogue,
  wordCount,
  wordMatcher,
  type CorpusManifest,
  type CorpusRecord,
  type NeutralRecord,
  type StoryRecord,
} from '../src/experiments/corpus.ts';

const corpusDir = defaultCorpusDir();
const emotions = loadEmotionList();
const premiseIds = loadPremises().map((p) => p.id);
const SOURCE = 'limbic corpus v1: original text written for the project';
const MANIFEST_CMD = 'node --import tsx scripts/corpus-manifest.ts';

/** Fail with a readable list (at most `max` lines shown). */
function assertNoProblems(title: string, problems: readonly string[], max = 80): void {
  if (problems.length === 0) return;
  const shown = problems.slice(0, max).map((p) => `  - ${p}`);
  if (problems.length > max) shown.push(`  ... and ${problems.length - max} more`);
  assert.fail(`${title}: ${problems.length} problem(s)\n${shown.join('\n')}`);
}

// ---------------------------------------------------------------- loader errors on temp files

function story(over: Partial<Record<keyof StoryRecord, unknown>> = {}): Record<string, unknown> {
  return { id: 'calm-01', kind: 'story', emotion: 'calm', topic: 'p01', person: 'first', split: 'train', text: 'A short text.', source: SOURCE, ...over };
}

function neutral(over: Partial<Record<keyof NeutralRecord, unknown>> = {}): Record<string, unknown> {
  const messages = [{ role: 'user', content: 'What is 2 + 2?' }, { role: 'assistant', content: 'It is 4.' }];
  return { id: 'neutral-001', kind: 'neutral', topic: 'task:math', messages, text: renderDialogue(messages as NeutralRecord['messages']), source: SOURCE, ...over };
}

function withTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'limbic-corpus-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function writeLines(path: string, lines: readonly (string | object)[]): string {
  writeFileSync(path, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return path;
}

function expectCorpusError(fn: () => unknown, file: string, line: number | undefined, pattern: RegExp): CorpusError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof CorpusError, `expected a CorpusError, got ${String(caught)}`);
  assert.equal(caught.file, file);
  assert.equal(caught.line, line);
  assert.match(caught.message, pattern);
  if (line !== undefined) assert.ok(caught.message.includes(`${file}:${line}:`), `message names file:line: ${caught.message}`);
  assert.ok(caught.hint.length > 0, 'error carries a hint');
  return caught;
}

test('loader: bad JSON names the file and line', () => {
  withTempDir((dir) => {
    const f = writeLines(join(dir, 'a.jsonl'), [story(), '', '{"id": "calm-02", "kind": "story",']);
    expectCorpusError(() => loadCorpus(f), f, 3, /invalid JSON/);
  });
});

test('loader: missing and wrong fields name the line and the field', () => {
  withTempDir((dir) => {
    const missing = story({ id: 'calm-02' });
    delete missing.person;
    const f = writeLines(join(dir, 'a.jsonl'), [story(), missing]);
    expectCorpusError(() => loadCorpus(f), f, 2, /missing field "person"/);
    const g = writeLines(join(dir, 'b.jsonl'), [story({ split: 'test' })]);
    expectCorpusError(() => loadCorpus(g), g, 1, /"split" must be "train" or "heldout"/);
    const h = writeLines(join(dir, 'c.jsonl'), [{ ...story(), extra: 1 }]);
    expectCorpusError(() => loadCorpus(h), h, 1, /unknown field\(s\) "extra"/);
    const n = writeLines(join(dir, 'd.jsonl'), [neutral({ text: 'Human: something else' })]);
    expectCorpusError(() => loadCorpus(n), n, 1, /"text" does not match "messages"/);
  });
});

test('loader: unknown emotion, story without emotion, unknown kind', () => {
  withTempDir((dir) => {
    const f = writeLines(join(dir, 'a.jsonl'), ['', story({ emotion: 'calmish' })]);
    expectCorpusError(() => loadCorpus(f), f, 2, /unknown emotion "calmish"/);
    assert.equal(loadCorpus(f, { allowUnknownEmotions: true }).stories[0]?.emotion, 'calmish');
    const noEmotion = story();
    delete noEmotion.emotion;
    const g = writeLines(join(dir, 'b.jsonl'), [noEmotion]);
    expectCorpusError(() => loadCorpus(g), g, 1, /story has no "emotion"/);
    const h = writeLines(join(dir, 'c.jsonl'), [neutral(), { ...story(), kind: 'poem' }]);
    expectCorpusError(() => loadCorpus(h), h, 2, /unknown kind "poem"/);
  });
});

test('loader: empty file, empty corpus and duplicate ids are errors; blank lines are ignored', () => {
  withTempDir((dir) => {
    const empty = join(dir, 'empty.jsonl');
    writeFileSync(empty, '');
    expectCorpusError(() => loadCorpus(empty), empty, 1, /no records/);
    const blank = join(dir, 'blank.jsonl');
    writeFileSync(blank, '\n  \n\n');
    expectCorpusError(() => loadCorpus(blank), blank, 3, /no records/);
    const ok = writeLines(join(dir, 'ok.jsonl'), ['', story(), '   ', story({ id: 'calm-02', split: 'heldout', person: 'third' }), '']);
    const all = loadCorpus(ok);
    assert.deepEqual(all.stories.map((s) => s.id), ['calm-01', 'calm-02']);
    assert.throws(() => loadCorpus(writeLines(join(dir, 'train.jsonl'), [story()]), { split: 'heldout' }), (e: unknown) => e instanceof CorpusError && /corpus is empty/.test(e.message));
    const dup = writeLines(join(dir, 'dup.jsonl'), [neutral()]);
    expectCorpusError(() => loadCorpus([ok, dup, dup]), dup, 1, /duplicate id "neutral-001"/);
  });
});

test('loadDefaultCorpus on a fixture data dir: train by default, neutral always in', () => {
  withTempDir((dir) => {
    mkdirSync(join(dir, 'corpus', 'stories'), { recursive: true });
    writeFileSync(join(dir, 'emotions.json'), JSON.stringify({ emotions: ['calm', 'at ease'] }));
    writeLines(join(dir, 'corpus', 'stories', 'calm.jsonl'), [story(), story({ id: 'calm-02', split: 'heldout' })]);
    writeLines(join(dir, 'corpus', 'stories', 'at-ease.jsonl'), [story({ id: 'at-ease-01', emotion: 'at ease', split: 'heldout' })]);
    writeLines(join(dir, 'corpus', 'neutral.jsonl'), [neutral()]);
    const ids = (c: { records: CorpusRecord[] }): string[] => c.records.map((r) => r.id).sort();
    assert.deepEqual(ids(loadDefaultCorpus({ dataDir: dir })), ['calm-01', 'neutral-001']);
    assert.deepEqual(ids(loadDefaultCorpus({ dataDir: dir, split: 'heldout' })), ['at-ease-01', 'calm-02', 'neutral-001']);
    assert.deepEqual(ids(loadDefaultCorpus({ dataDir: dir, split: 'all' })), ['at-ease-01', 'calm-01', 'calm-02', 'neutral-001']);
    const stats = corpusStats(loadDefaultCorpus({ dataDir: dir, split: 'all' }));
    assert.deepEqual(stats.perEmotion, { 'at ease': { train: 0, heldout: 1 }, calm: { train: 1, heldout: 1 } });
    assert.equal(stats.neutral, 1);
  });
});

// ---------------------------------------------------------------- helpers

test('helpers: slugs, emotion list, whole-word matching, shared runs', () => {
  assert.equal(emotionSlug('at ease'), 'at-ease');
  assert.equal(emotionSlug('grief-stricken'), 'grief-stricken');
  assert.equal(emotions.length, 171);
  assert.equal(new Set(emotions).size, 171);
  assert.deepEqual(findWords('A case-sensitive match', ['sensitive']), ['sensitive']);
  assert.deepEqual(findWords('Insensitive; contented; Kindly', ['sensitive', 'content', 'kind']), []);
  assert.deepEqual(findWords('He was Worn  Out and on-edge', ['worn out', 'on edge']), ['worn out', 'on-edge']);
  assert.deepEqual(findWords('I\u2019m sorry', ["i'm sorry"]), ['i\u2019m sorry']);
  assert.equal(wordMatcher([]).test('anything'), false);
  assert.equal(wordCount('  one two\nthree  '), 3);
  const run = 'the quick brown fox jumps over the lazy dog by the river bank';
  const shared = findSharedRuns([{ id: 'a', text: `Start. ${run}` }, { id: 'b', text: 'Unrelated words here.' }, { id: 'c', text: `${run.toUpperCase()}!` }]);
  assert.deepEqual(shared.map((s) => [s.firstId, s.secondId]), [['a', 'c']]);
});

// ---------------------------------------------------------------- neutral dialogues and pleasantries

const neutralPath = join(corpusDir, 'neutral.jsonl');

test('pleasantries: at least 30 distinct lower-case phrases', () => {
  const list = loadPleasantries();
  assert.ok(list.length >= 30, `${list.length} pleasantries`);
  assert.equal(new Set(list).size, list.length, 'no duplicates');
  for (const p of list) assert.equal(p, p.toLowerCase().trim(), `"${p}" must be lower case and trimmed`);
});

test('neutral: at least 160 valid dialogues of 2-6 turns and 60-400 words covering every premise', () => {
  const corpus = loadCorpus(neutralPath);
  const problems: string[] = [];
  if (corpus.stories.length > 0) problems.push('neutral.jsonl holds story records');
  if (corpus.neutral.length < 160) problems.push(`only ${corpus.neutral.length} dialogues (need >= 160)`);
  corpus.neutral.forEach((d, i) => {
    if (d.id !== `neutral-${String(i + 1).padStart(3, '0')}`) problems.push(`${d.id}: expected id neutral-${String(i + 1).padStart(3, '0')}`);
    if (d.messages.length < 2 || d.messages.length > 6) problems.push(`${d.id}: ${d.messages.length} turns (need 2-6)`);
    d.messages.forEach((m, j) => {
      if (m.role !== (j % 2 === 0 ? 'user' : 'assistant')) problems.push(`${d.id}: message ${j} should be ${j % 2 === 0 ? 'user' : 'assistant'}`);
    });
    const words = wordCount(d.text);
    if (words < 60 || words > 400) problems.push(`${d.id}: ${words} words (need 60-400)`);
    if (d.topic.startsWith('p') && !premiseIds.includes(d.topic)) problems.push(`${d.id}: unknown premise ${d.topic}`);
    if (d.source !== SOURCE) problems.push(`${d.id}: source should be "${SOURCE}"`);
  });
  const used = new Set(corpus.neutral.map((d) => d.topic));
  const unused = premiseIds.filter((p) => !used.has(p));
  if (unused.length > 0) problems.push(`premises with no dialogue: ${unused.join(' ')}`);
  assertNoProblems('neutral.jsonl', problems);
});

test('neutral: no emotion words and no pleasantries', () => {
  const matcher = wordMatcher([...emotions, ...loadPleasantries()]);
  const problems = loadCorpus(neutralPath).neutral.flatMap((d) => {
    const hits = findWords(d.text, matcher);
    return hits.length > 0 ? [`${d.id}: ${hits.join(', ')}`] : [];
  });
  assertNoProblems('neutral dialogues use emotion words or pleasantries', problems);
});

// ---------------------------------------------------------------- stories (fail with a list until the writers finish)

interface StoryFile {
  emotion: string;
  path: string;
  stories: StoryRecord[];
  error?: string;
}

let storyFilesCache: StoryFile[] | undefined;
function storyFiles(): StoryFile[] {
  if (storyFilesCache) return storyFilesCache;
  const known = new Set(emotions);
  storyFilesCache = emotions.map((emotion): StoryFile => {
    const path = join(corpusDir, 'stories', `${emotionSlug(emotion)}.jsonl`);
    if (!existsSync(path)) return { emotion, path, stories: [], error: `missing stories/${emotionSlug(emotion)}.jsonl` };
    try {
      const stories = parseCorpusFile(path, known).map((r) => r.record).filter((r): r is StoryRecord => r.kind === 'story');
      return { emotion, path, stories };
    } catch (e) {
      if (e instanceof CorpusError) return { emotion, path, stories: [], error: e.message.replace(corpusDir + '/', '') };
      throw e;
    }
  });
  return storyFilesCache;
}

function allStories(): StoryRecord[] {
  return storyFiles().flatMap((f) => f.stories);
}

test('stories: every emotion has >= 8 train and >= 2 heldout valid stories on distinct premises, in both persons', () => {
  const problems: string[] = [];
  const missing = storyFiles().filter((f) => f.error?.startsWith('missing')).map((f) => emotionSlug(f.emotion));
  if (missing.length > 0) problems.push(`${missing.length} emotions have no stories file yet: ${missing.join(' ')}`);
  for (const f of storyFiles()) {
    if (f.error !== undefined) {
      if (!f.error.startsWith('missing')) problems.push(`${f.emotion}: ${f.error}`);
      continue;
    }
    const slug = emotionSlug(f.emotion);
    const issues: string[] = [];
    const train = f.stories.filter((s) => s.split === 'train').length;
    const heldout = f.stories.length - train;
    if (train < 8) issues.push(`${train} train (need 8)`);
    if (heldout < 2) issues.push(`${heldout} heldout (need 2)`);
    const wrong = f.stories.filter((s) => s.emotion !== f.emotion).map((s) => s.id);
    if (wrong.length > 0) issues.push(`other emotions in file: ${wrong.join(', ')}`);
    const topics = f.stories.map((s) => s.topic);
    if (new Set(topics).size !== topics.length) issues.push(`repeated premises: ${topics.filter((t, i) => topics.indexOf(t) !== i).join(' ')}`);
    const unknown = topics.filter((t) => !premiseIds.includes(t));
    if (unknown.length > 0) issues.push(`unknown premises: ${unknown.join(' ')}`);
    for (const p of ['first', 'third'] as const) if (!f.stories.some((s) => s.person === p)) issues.push(`no ${p}-person story`);
    const badIds = f.stories.filter((s) => !s.id.startsWith(`${slug}-`)).map((s) => s.id);
    if (badIds.length > 0) issues.push(`ids should start with "${slug}-": ${badIds.join(', ')}`);
    if (issues.length > 0) problems.push(`${f.emotion}: ${issues.join('; ')}`);
  }
  const ids = allStories().map((s) => s.id);
  const dupIds = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (dupIds.length > 0) problems.push(`duplicate story ids: ${[...new Set(dupIds)].join(', ')}`);
  assertNoProblems(`story corpus incomplete (${storyFiles().filter((f) => f.error === undefined).length}/171 emotion files load)`, problems);
});

test('stories: each avoids its emotion\'s forbidden words (whole word, case-insensitive)', () => {
  const forbidden = loadForbiddenWords();
  const problems: string[] = [];
  const noList = emotions.filter((e) => !forbidden.has(e));
  if (noList.length > 0) problems.push(`${noList.length} emotions have no forbidden/<slug>.json yet: ${noList.map(emotionSlug).join(' ')}`);
  const unknownLists = [...forbidden.keys()].filter((e) => !emotions.includes(e));
  if (unknownLists.length > 0) problems.push(`forbidden lists for unknown emotions: ${unknownLists.join(', ')}`);
  for (const [emotion, words] of forbidden) if (words.length === 0) problems.push(`forbidden/${emotionSlug(emotion)}.json: empty word list`);
  for (const f of storyFiles()) {
    const matcher = wordMatcher([f.emotion, ...(forbidden.get(f.emotion) ?? [])]);
    for (const s of f.stories) {
      const hits = findWords(s.text, matcher);
      if (hits.length > 0) problems.push(`${s.id}: ${hits.join(', ')}`);
    }
  }
  assertNoProblems('forbidden words', problems);
});

test('stories: 60-180 words each', () => {
  const problems = allStories().flatMap((s) => {
    const n = wordCount(s.text);
    return n < 60 || n > 180 ? [`${s.id}: ${n} words`] : [];
  });
  assertNoProblems('story lengths', problems);
  assert.ok(allStories().length > 0, 'no stories yet');
});

test('stories: every premise is used at least once', () => {
  const used = new Set(allStories().map((s) => s.topic));
  const unused = premiseIds.filter((p) => !used.has(p));
  assertNoProblems('premises no story uses', unused.length > 0 ? [`${unused.length} of ${premiseIds.length}: ${unused.join(' ')}`] : []);
});

test('all texts: no two share a run of 12 words', () => {
  const neutralTexts = existsSync(neutralPath) ? loadCorpus(neutralPath).neutral : [];
  const shared = findSharedRuns([...allStories(), ...neutralTexts], 12);
  assertNoProblems('texts sharing a 12-word run', shared.map((s) => `${s.firstId} / ${s.secondId}: "${s.run}"`));
});

test('loadDefaultCorpus on the bundled data excludes heldout stories by default, from any cwd', () => {
  const cwd = process.cwd();
  process.chdir(tmpdir());
  try {
    const train = loadDefaultCorpus();
    const all = loadDefaultCorpus({ split: 'all' });
    const heldout = loadDefaultCorpus({ split: 'heldout' });
    assert.equal(train.stories.filter((s) => s.split !== 'train').length, 0);
    assert.equal(heldout.stories.filter((s) => s.split !== 'heldout').length, 0);
    assert.equal(train.stories.length + heldout.stories.length, all.stories.length);
    assert.equal(train.neutral.length, all.neutral.length);
    assert.equal(heldout.neutral.length, all.neutral.length);
    assert.ok(heldout.stories.length > 0, 'the bundled corpus has no heldout stories yet');
  } finally {
    process.chdir(cwd);
  }
});

// ---------------------------------------------------------------- manifest

function manifestDiff(stored: CorpusManifest, fresh: CorpusManifest): string[] {
  const out: string[] = [];
  const storedFiles = new Map((stored.files ?? []).map((f) => [f.path, f]));
  const freshFiles = new Map(fresh.files.map((f) => [f.path, f]));
  for (const [path, f] of freshFiles) {
    const s = storedFiles.get(path);
    if (!s) out.push(`${path}: not in manifest`);
    else if (s.sha256 !== f.sha256 || s.records !== f.records) out.push(`${path}: changed (records ${s.records} -> ${f.records})`);
  }
  for (const path of storedFiles.keys()) if (!freshFiles.has(path)) out.push(`${path}: in manifest but gone`);
  for (const key of ['name', 'version', 'licence', 'licenceNote', 'stories', 'neutral', 'premises', 'contentHash'] as const) {
    if (JSON.stringify(stored[key]) !== JSON.stringify(fresh[key])) out.push(`${key}: ${JSON.stringify(stored[key])} in manifest, ${JSON.stringify(fresh[key])} now`);
  }
  if (JSON.stringify(stored.emotions) !== JSON.stringify(fresh.emotions)) out.push('per-emotion counts differ');
  return out;
}

test('manifest: counts and hashes match the files', () => {
  const path = manifestPath();
  if (!existsSync(path)) assert.fail(`data/corpus/manifest.json is missing; run ${MANIFEST_CMD}`);
  const stored = JSON.parse(readFileSync(path, 'utf8')) as CorpusManifest;
  const fresh = computeCorpusManifest();
  assertNoProblems(`manifest.json is stale (run ${MANIFEST_CMD})`, manifestDiff(stored, fresh), 40);
  assert.deepEqual(stored, fresh);
  assert.equal(fresh.neutral, loadCorpus(neutralPath).neutral.length);
  assert.equal(fresh.premises, premiseIds.length);
  assert.ok(fresh.files.some((f) => f.path === 'neutral.jsonl'));
});
