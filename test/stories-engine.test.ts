// `limbic stories` on limbic's own engine: a tiny random qwen2 with a chat template as the writer.
// Its replies are gibberish, so the checks are on the mechanics: every job done once, kept + dropped
// = jobs, drop reasons that fit gibberish, records that load, an exact resume, a no-op re-run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCorpus } from '../src/experiments/corpus.ts';
import { countDrops, openWriter, promptsPath, runStories, type StoriesOptions } from '../src/experiments/stories.ts';
import { writeTinyModel } from './helpers/tinyModels.ts';

const root = mkdtempSync(join(tmpdir(), 'limbic-stories-engine-'));
process.env['LIMBIC_CACHE'] = join(root, 'cache');
const dir = join(root, 'tiny-qwen2');
writeTinyModel('qwen2', dir, { chatTemplate: true });
// The prompts are ~700 byte-level tokens; the tiny config's 256-token context is widened (rope needs no change).
const configPath = join(dir, 'config.json');
writeFileSync(configPath, JSON.stringify({ ...JSON.parse(readFileSync(configPath, 'utf8')), max_position_embeddings: 2048 }));

// Same prompts with bounds wide enough that some gibberish is kept, so records get written.
const lenient = join(root, 'lenient-prompts.json');
const p = JSON.parse(readFileSync(promptsPath(), 'utf8'));
writeFileSync(lenient, JSON.stringify({ ...p, story: { ...p.story, minWords: 1, maxWords: 100000 } }));

const writer = await openWriter(dir);
test.after(() => writer.close());
const base: Omit<StoriesOptions, 'out'> = { writer, emotions: ['calm', 'afraid'], topics: 2, perTopic: 1, neutral: 1, seed: 3, maxTokens: { story: 24, neutral: 24 } };

test('engine writer: tiny qwen2 through its chat template, jobs done once, counts add up', async () => {
  assert.equal(writer.id, 'tiny-qwen2');
  assert.equal(writer.kind, 'engine');
  const out = join(root, 'strict.jsonl');
  const s = await runStories({ ...base, out });
  assert.equal(s.total, 6);
  assert.equal(s.done, 6);
  assert.ok(s.complete);
  assert.equal(s.kept.story + s.kept.neutral + countDrops(s.dropped), 6);
  for (const reason of Object.keys(s.dropped)) assert.ok(['length', 'parse', 'truncated', 'turns', 'forbidden'].includes(reason), reason);
  assert.ok(countDrops(s.dropped) >= 4, `gibberish is mostly dropped: ${JSON.stringify(s.dropped)}`);
  if (s.kept.story + s.kept.neutral === 0) assert.equal(statSync(out).size, 0);
  else assert.equal(loadCorpus(out, { emotions: ['calm', 'afraid'] }).records.length, s.kept.story + s.kept.neutral);
});

test('engine writer: kept records load with loadCorpus; a stopped run resumes to the same bytes', async () => {
  const out = join(root, 'lenient.jsonl');
  const s = await runStories({ ...base, out, promptsFile: lenient });
  assert.equal(s.kept.story + s.kept.neutral + countDrops(s.dropped), 6);
  assert.ok(s.kept.story >= 1, `some stories kept: ${JSON.stringify(s)}`);
  const corpus = loadCorpus(out, { emotions: ['calm', 'afraid'] });
  assert.equal(corpus.stories.length, s.kept.story);
  for (const r of corpus.stories) assert.equal(r.source, 'limbic stories: tiny-qwen2, prompt v1');

  const again = join(root, 'lenient-resumed.jsonl');
  const part = await runStories({ ...base, out: again, promptsFile: lenient, stopAfter: 3 });
  assert.equal(part.done, 3);
  const rest = await runStories({ ...base, out: again, promptsFile: lenient });
  assert.equal(rest.resumedFrom, 3);
  assert.equal(readFileSync(again, 'utf8'), readFileSync(out, 'utf8'), 'seeded engine sampling: same file');
  const noop = await runStories({ ...base, out: again, promptsFile: lenient });
  assert.equal(noop.resumedFrom, 6);
});
