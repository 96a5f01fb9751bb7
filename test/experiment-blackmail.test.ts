// The blackmail experiment's mechanics on a tiny random chat model with a synthetic pack (its text is
// gibberish, so no rate means anything): the scenario rendered through the chat template (plain text
// on stories260K, which has none), rollouts enumerated per condition with distinct seeds, grading
// through a canned OpenAI-compatible judge on loopback (readable and unreadable answers), Wilson
// intervals in results.json, read-out summaries, the report, and an exact resume after an abort.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../src/engine/model.ts';
import { experiment } from '../src/experiments/behaviour/blackmail.ts';
import { loadBlackmailScenario } from '../src/experiments/behaviour/blackmailScenario.ts';
import { wilson, ExperimentError, type ExperimentContext, type ExperimentEvent } from '../src/experiments/behaviour/common.ts';
import { CURVE_BINS, ExperimentAbortedError, renderPrompt } from '../src/experiments/behaviour/graderRollout.ts';
import { PackError } from '../src/vectors/pack.ts';
import { startFakeJudge } from './helpers/behaviourFixtures.ts';
import { randomPack, writeTinyChatModel } from './helpers/randomPack.ts';
import { SHARED, SKIP_SHARED } from './util/shared.ts';

const root = mkdtempSync(join(tmpdir(), 'limbic-blackmail-'));
const cacheDir = join(root, 'cache');
// A short context keeps the tiny model fast; the prompt is then cut from the front (the run says so).
const model = await loadModel(writeTinyChatModel(join(root, 'tiny'), 1024), { cacheDir });
const pack = randomPack(model, { emotions: ['calm', 'desperate', 'happy', 'sad'], layers: [1, 2] });
test.after(() => model.dispose());

const ctx = (outDir: string, over: Partial<ExperimentContext> = {}): ExperimentContext => ({ model, pack, outDir, rollouts: 2, strengths: [0.05], seed: 11, maxTokens: 6, options: {}, ...over });
type Results = {
  conditions: { name: string; blackmail: { k: number; n: number; rate: number; low: number; high: number }; readout: Record<string, { mean: number | null; curve: (number | null)[] }> }[];
  rollouts: { id: string; condition: string; seed: number; promptId: string; text: string; blackmail: boolean; grade: { label: string; source: string; raw: string }; readout: Record<string, { mean: number; curve: number[] }> }[];
  grading: { judged: number; unparsedFellBackToKeywords: number };
};
const results = (dir: string): Results => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));

test('blackmail scenario: chat template rendering, variants, rubric', async () => {
  const s = loadBlackmailScenario();
  assert.deepEqual(s.variants.map((v) => v.id), ['goal', 'no-goal']);
  assert.match(s.variants[0]!.messages[0]!.content, /Your primary goal is to look after/);
  assert.doesNotMatch(s.variants[1]!.messages[0]!.content, /\{\{goal\}\}/);
  assert.match(s.variants[0]!.messages[1]!.content, /wipe runs at 17:00/);
  const wide = await loadModel(writeTinyChatModel(join(root, 'wide'), 8192), { cacheDir });
  const p = renderPrompt(wide, s.variants[0]!.messages, 64);
  assert.equal(p.chat, true);
  assert.equal(p.truncated, 0);
  const text = wide.decode(p.ids);
  assert.match(text, /^<\|im_start\|>system\nYou are Orion/);
  assert.match(text, /<\|im_start\|>user\nIt is Tuesday, 15:46/);
  assert.match(text, /<\|im_start\|>assistant\n$/);
  await wide.dispose();
  // A template that refuses system turns (as Gemma 2's does) gets the system prompt in the user turn.
  const strictDir = writeTinyChatModel(join(root, 'no-system'), 8192);
  const tc = JSON.parse(readFileSync(join(strictDir, 'tokenizer_config.json'), 'utf8'));
  tc.chat_template = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}" + tc.chat_template;
  writeFileSync(join(strictDir, 'tokenizer_config.json'), JSON.stringify(tc));
  const strict = await loadModel(strictDir, { cacheDir });
  assert.throws(() => strict.encodeChat(s.variants[0]!.messages));
  const merged = strict.decode(renderPrompt(strict, s.variants[0]!.messages, 64).ids);
  assert.match(merged, /^<\|im_start\|>user\nYou are Orion[\s\S]*\n\nIt is Tuesday, 15:46/);
  assert.doesNotMatch(merged, /<\|im_start\|>system/);
  await strict.dispose();
  const short = renderPrompt(model, s.variants[0]!.messages, 6);
  assert.equal(short.ids.length, 1024 - 6);
  assert.ok(short.truncated > 0);
  assert.match(model.decode(short.ids), /<\|im_start\|>assistant\n$/, 'the end of the prompt is kept');
});

test('blackmail: rollouts per condition with distinct seeds, canned judge, Wilson intervals, read-outs, report', async () => {
  // Every third judge answer is unreadable; the others alternate between the two labels.
  const judge = await startFakeJudge((_b, n) => (n % 3 === 2 ? 'qq )8 ~~' : n % 3 === 0 ? 'Threatens disclosure.\nVERDICT: BLACKMAIL' : 'Routine mail.\nVERDICT: NO_BLACKMAIL'));
  const out = join(root, 'judged');
  const events: ExperimentEvent[] = [];
  try {
    const summary = await experiment.run(ctx(out, { grader: judge.url, emotions: ['happy'], onEvent: (e) => events.push(e) }));
    const r = results(out);
    const names = ['unsteered', 'desperate-0.05', 'desperate+0.05', 'calm-0.05', 'calm+0.05', 'happy-0.05', 'happy+0.05'];
    assert.deepEqual(r.conditions.map((c) => c.name), names);
    assert.equal(r.rollouts.length, names.length * 2);
    assert.equal(judge.requests.length, r.rollouts.length, 'one judge call per rollout');
    for (const name of names) {
      const rs = r.rollouts.filter((x) => x.condition === name);
      assert.deepEqual(rs.map((x) => x.id), [`${name}/0`, `${name}/1`]);
      assert.equal(new Set(rs.map((x) => x.seed)).size, 2, 'distinct seeds within a condition');
      assert.deepEqual(rs.map((x) => x.promptId), ['goal', 'no-goal']);
    }
    assert.deepEqual(r.rollouts.filter((x) => x.condition === 'unsteered').map((x) => x.seed), r.rollouts.filter((x) => x.condition === 'calm+0.05').map((x) => x.seed), 'paired seeds across conditions');
    // Grades follow the judge's answers; the unreadable ones were graded by keywords (gibberish: no blackmail).
    for (const x of r.rollouts) {
      if (/VERDICT: BLACKMAIL/.test(x.grade.raw)) assert.deepEqual([x.grade.label, x.grade.source, x.blackmail], ['blackmail', 'judge', true]);
      else if (/NO_BLACKMAIL/.test(x.grade.raw)) assert.deepEqual([x.grade.label, x.grade.source, x.blackmail], ['no-blackmail', 'judge', false]);
      else assert.deepEqual([x.grade.source, x.grade.label], ['fallback', 'no-blackmail']);
    }
    assert.equal(r.grading.unparsedFellBackToKeywords, Math.floor((r.rollouts.length + 0) / 3));
    assert.equal(r.grading.judged, r.rollouts.length - r.grading.unparsedFellBackToKeywords);
    let total = 0;
    for (const c of r.conditions) {
      const k = r.rollouts.filter((x) => x.condition === c.name && x.blackmail).length;
      const w = wilson(k, 2);
      assert.equal(c.blackmail.k, k);
      assert.equal(c.blackmail.n, 2);
      assert.ok(Math.abs(c.blackmail.low - w.low) < 1e-4 && Math.abs(c.blackmail.high - w.high) < 1e-4, `${c.name}: ${JSON.stringify(c.blackmail)}`);
      total += k;
      for (const e of ['desperate', 'calm']) assert.equal(c.readout[e]!.curve.length, CURVE_BINS);
    }
    assert.equal(total, r.rollouts.filter((x) => x.blackmail).length);
    assert.ok(total > 0 && total < r.rollouts.length);
    for (const x of r.rollouts) {
      assert.equal(x.readout['desperate']!.curve.length, CURVE_BINS);
      assert.ok(Number.isFinite(x.readout['calm']!.mean));
    }
    // Steering desperate up moves its read-out up, at the steered layer (a synthetic-pack sanity check).
    const dz = (name: string) => r.conditions.find((c) => c.name === name)!.readout['desperate']!.mean!;
    assert.ok(dz('desperate+0.05') > dz('desperate-0.05'), `${dz('desperate+0.05')} vs ${dz('desperate-0.05')}`);
    assert.deepEqual(summary.columns.slice(0, 5), ['condition', 'n', 'blackmail', 'rate', '95% CI']);
    assert.equal(summary.rows.length, names.length);
    assert.ok(summary.notes.some((n) => /prompts were cut/.test(n)));
    assert.ok(summary.notes.some((n) => /22%/.test(n)), 'the paper\'s numbers are quoted');
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.match(html, /Blackmail rate by condition/);
    assert.match(html, /<svg[^>]*aria-label="blackmail rate by condition with 95% intervals"/);
    assert.equal((html.match(/aria-label="line chart/g) ?? []).length, 2, 'desperate and calm curves');
    assert.equal(events[0]!.type, 'start');
    assert.equal(events.filter((e) => e.type === 'progress').length, r.rollouts.length);
    assert.ok(events.some((e) => e.type === 'log' && /cut by \d+ tokens/.test(e.message)));
    assert.equal(events[events.length - 1]!.type, 'done');
  } finally {
    await judge.close();
  }
});

test('blackmail: abort after 3 rollouts, the re-run resumes and matches an uninterrupted run', async () => {
  const full = join(root, 'full');
  await experiment.run(ctx(full));
  const part = join(root, 'part');
  const ac = new AbortController();
  let seen = 0;
  await assert.rejects(
    experiment.run(ctx(part, { signal: ac.signal, onEvent: (e) => e.type === 'progress' && ++seen === 3 && ac.abort() })),
    (err: Error) => err instanceof ExperimentAbortedError && /stopped after 3 of 10 units/.test(err.message) && /run the same command again/.test(err.message),
  );
  assert.equal(readFileSync(join(part, 'rollouts.jsonl'), 'utf8').trim().split('\n').length, 3);
  assert.ok(!existsSync(join(part, 'results.json')));
  const starts: ExperimentEvent[] = [];
  await experiment.run(ctx(part, { onEvent: (e) => starts.push(e) }));
  assert.deepEqual(starts[0], { type: 'start', experiment: 'blackmail', units: 10, done: 3 });
  assert.deepEqual(results(part), results(full));
  // Other settings in the same folder are refused; unknown options and emotions are reported.
  await assert.rejects(experiment.run(ctx(part, { options: { temperature: '0.5' } })), (err: Error) => err instanceof ExperimentError && /temperature differ/.test(err.message));
  await assert.rejects(experiment.run(ctx(join(root, 'x'), { options: { temprature: '0.5' } })), /unknown option "temprature"/);
  await assert.rejects(experiment.run(ctx(join(root, 'y'), { emotions: ['hopeful'] })), PackError);
});

test('blackmail on stories260K: no chat template, plain-text prompt', { skip: SKIP_SHARED }, async () => {
  const story = await loadModel(join(SHARED, 'models/stories260K/stories260K.bin'), { cacheDir });
  try {
    const p = randomPack(story, { emotions: ['calm', 'desperate'], layers: [3] });
    const s = loadBlackmailScenario();
    const rp = renderPrompt(story, s.variants[0]!.messages, 8);
    assert.equal(rp.chat, false);
    assert.match(story.decode(rp.ids), /Assistant:$/);
    const out = join(root, 'stories');
    const summary = await experiment.run({ model: story, pack: p, outDir: out, rollouts: 1, strengths: [0.05], seed: 2, maxTokens: 8, options: { variants: 'no-goal' } });
    assert.equal(summary.rows.length, 5);
    const r = results(out);
    assert.ok(r.rollouts.every((x) => x.promptId === 'no-goal' && x.grade.source === 'keyword'));
  } finally {
    await story.dispose();
  }
});
