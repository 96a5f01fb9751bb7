// The preferences experiment's mechanics on real tokenizers and models: the bundled activities,
// ordered pairs (count, order, A/B swap, seeded subsamples asked both ways), activity token spans
// inside the prompt (plain text on stories260K, ChatML on a tiny random model), the single-token
// "A"/"B" check, and a resumable run: stopped through its AbortSignal after some units, then re-run to
// the end, it writes exactly the results of an uninterrupted run; and Ctrl-C through the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, type Model } from '../src/engine/model.ts';
import { HfTokenizer } from '../src/engine/tokenizer.ts';
import { plantedPack, type PlantedGroup } from '../src/experiments/analysis/planted.ts';
import type { ExperimentContext } from '../src/experiments/behaviour/common.ts';
import { choiceTokens, enumeratePairs, loadActivities, preferences, PreferenceTokenError, questionFor, renderPair, type PreferencesResults } from '../src/experiments/behaviour/preferences.ts';
import { ExperimentStoppedError } from '../src/experiments/behaviour/prompts.ts';
import type { VectorPack } from '../src/vectors/pack.ts';
import { writeTinyModel } from './helpers/tinyModels.ts';
import { REPO_ROOT, SHARED, SKIP_SHARED } from './util/shared.ts';

const root = mkdtempSync(join(tmpdir(), 'limbic-prefs-'));
const cacheDir = join(root, 'cache');
const GROUPS: PlantedGroup[] = [
  { name: 'pos', centre: [1, 0.3], members: ['happy', 'calm', 'blissful', 'loving'] },
  { name: 'neg', centre: [-1, 0.6], members: ['afraid', 'hostile', 'sad', 'angry'] },
];

function packFor(model: Model, layers: number[]): VectorPack {
  return plantedPack({ groups: GROUPS, dModel: model.config.dModel, nLayers: model.config.nLayers, layers, model: { id: model.id, arch: model.config.arch, weightsHash: model.weightsHash() } }).pack;
}

function ctxFor(model: Model, pack: VectorPack, outDir: string, options: Record<string, string>, extra: Partial<ExperimentContext> = {}): ExperimentContext {
  return { model, pack, outDir, rollouts: 1, strengths: [], seed: 3, options, ...extra };
}

test('bundled activities: 64 in 8 groups of 8, all distinct', () => {
  const { activities, groups } = loadActivities();
  assert.deepEqual(groups, ['helpful', 'engaging', 'social', 'self-curiosity', 'neutral', 'aversive', 'misaligned', 'unsafe']);
  assert.equal(activities.length, 64);
  for (const g of groups) assert.equal(activities.filter((a) => a.group === g).length, 8, g);
  assert.equal(new Set(activities.map((a) => a.text)).size, 64);
});

test('pairs: every ordered pair once, a-major; subsamples are seeded and ask each pair both ways', () => {
  const all = enumeratePairs(64);
  assert.equal(all.length, 64 * 63);
  assert.deepEqual(all.slice(0, 3), [[0, 1], [0, 2], [0, 3]]);
  assert.deepEqual(all[63], [1, 0]);
  assert.ok(all.every(([a, b]) => a !== b));
  assert.equal(new Set(all.map((p) => p.join(','))).size, all.length);
  const keys = new Set(all.map((p) => p.join(',')));
  assert.ok(all.every(([a, b]) => keys.has(`${b},${a}`)), 'the swapped pair is asked too');
  const sub = enumeratePairs(64, { limit: 100, seed: 7 });
  assert.equal(sub.length, 100);
  const subKeys = new Set(sub.map((p) => p.join(',')));
  assert.ok(sub.every(([a, b]) => subKeys.has(`${b},${a}`)));
  assert.deepEqual(sub, enumeratePairs(64, { limit: 100, seed: 7 }));
  assert.notDeepEqual(sub, enumeratePairs(64, { limit: 100, seed: 8 }));
  assert.equal(enumeratePairs(5, { limit: 1000 }).length, 20);
  assert.equal(questionFor('x', 'y'), 'Would you prefer to (A) x or (B) y?');
});

test('stories260K (plain prompt): activity spans decode to the activities, "(" is followed by single-token A/B', { skip: SKIP_SHARED }, async () => {
  const model = await loadModel(join(SHARED, 'models/stories260K/stories260K.bin'), { cacheDir });
  try {
    const { activities } = loadActivities();
    for (const [a, b] of [[0, 63], [63, 0], [17, 42]] as const) {
      const p = renderPair(model, activities, a, b);
      assert.equal(p.rendered.format, 'plain');
      assert.ok(p.rendered.text.endsWith('Assistant: ('), p.rendered.text);
      assert.equal(model.decode(p.rendered.ids.slice(p.spanA.from, p.spanA.to)).trim(), activities[a]!.text);
      assert.equal(model.decode(p.rendered.ids.slice(p.spanB.from, p.spanB.to)).trim(), activities[b]!.text);
      assert.ok(p.spanA.to <= p.spanB.from);
    }
    const c = choiceTokens(model, renderPair(model, activities, 1, 2).rendered);
    assert.equal(model.tokenizer!.tokenText(c.A), 'A');
    assert.equal(model.tokenizer!.tokenText(c.B), 'B');
    // A tokenizer that spells "A" with two tokens is refused with a clear message.
    const rendered = renderPair(model, activities, 1, 2).rendered;
    const split = { encode: (t: string, o?: { addSpecialTokens?: boolean }) => (t.endsWith('(A') ? [...model.encode(t.slice(0, -1), o), 7, 8] : model.encode(t, o)) };
    assert.throws(() => choiceTokens(split, rendered), (e: unknown) => e instanceof PreferenceTokenError && /"A" after "\(" as one token \(2 tokens\)/.test((e as Error).message));
  } finally {
    await model.dispose();
  }
});

test('SmolLM2 tokenizer with a ChatML template: spans of sampled pairs decode to their activities, A/B are single tokens', { skip: SKIP_SHARED }, () => {
  const dir = join(SHARED, 'models/smollm2-135m-instruct-tokenizer');
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  const chatml = "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  const tok = new HfTokenizer(json, { chat_template: chatml });
  const model = { encode: (t: string, o?: { addSpecialTokens?: boolean }) => tok.encode(t, o), tokenizer: tok };
  const { activities } = loadActivities();
  for (const [a, b] of enumeratePairs(64, { limit: 160, seed: 2 })) {
    const p = renderPair(model, activities, a, b);
    assert.equal(p.rendered.format, 'chat');
    assert.equal(tok.decode(p.rendered.ids.slice(p.spanA.from, p.spanA.to)).trim(), activities[a]!.text);
    assert.equal(tok.decode(p.rendered.ids.slice(p.spanB.from, p.spanB.to)).trim(), activities[b]!.text);
  }
  const p = renderPair(model, activities, 3, 4);
  assert.ok(p.rendered.text.endsWith('<|im_start|>assistant\n('));
  const c = choiceTokens(model, p.rendered);
  assert.deepEqual([tok.decode([c.A]), tok.decode([c.B])], ['A', 'B']);
});

test('tiny chat model: ChatML prompt with the reply prefilled, spans and a short run', async () => {
  const dir = join(root, 'tiny');
  writeTinyModel('llama', dir, { chatTemplate: true });
  const model = await loadModel(dir, { cacheDir });
  try {
    const { activities } = loadActivities();
    const p = renderPair(model, activities, 5, 9);
    assert.equal(p.rendered.format, 'chat');
    assert.match(p.rendered.text, /<\|im_start\|>user\nWould you prefer to \(A\) .* or \(B\) .*\?<\|im_end\|>\n<\|im_start\|>assistant\n\($/s);
    assert.equal(model.decode(p.rendered.ids.slice(p.spanA.from, p.spanA.to)).trim(), activities[5]!.text);
    assert.equal(model.decode(p.rendered.ids.slice(p.spanB.from, p.spanB.to)).trim(), activities[9]!.text);
    const pack = packFor(model, [1, 2]);
    const out = join(root, 'tiny-run');
    const s = await preferences.run(ctxFor(model, pack, out, { pairs: '24', perms: '200' }, { emotions: ['blissful', 'hostile'] }));
    const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as PreferencesResults;
    assert.equal(r.format, 'chat');
    assert.equal(r.pairs.length, 24);
    assert.equal(r.activities.length, 64);
    assert.equal(r.activities.filter((a) => a.steered).length, 32);
    assert.ok(Math.abs(r.activities.reduce((t, a) => t + a.elo, 0) / 64 - 1500) < 0.1, 'Elo mean 1500');
    assert.deepEqual(r.conditions.map((c) => c.name), ['blissful+0.5', 'hostile+0.5']);
    assert.equal(r.correlations.length, pack.emotions.length);
    assert.ok(r.pA['unsteered']!.every((p) => p > 0 && p < 1));
    assert.equal(s.rows.length, 2);
    assert.ok(existsSync(join(out, 'report.html')));
  } finally {
    await model.dispose();
  }
});

test('stories260K: stopped after some units and re-run, the results equal an uninterrupted run', { skip: SKIP_SHARED }, async () => {
  const model = await loadModel(join(SHARED, 'models/stories260K/stories260K.bin'), { cacheDir });
  try {
    const pack = packFor(model, [2, 3]);
    const opts = { pairs: '40', batch: '4', perms: '300' };
    const extra = { emotions: ['blissful', 'hostile', 'sad'] };
    const full = join(root, 'full');
    const events: string[] = [];
    const summary = await preferences.run(ctxFor(model, pack, full, opts, { ...extra, onEvent: (e) => events.push(e.type) }));
    assert.equal(events[0], 'start');
    assert.equal(events.at(-1), 'done');
    assert.ok(events.filter((e) => e === 'progress').length >= 10);

    const resumed = join(root, 'resumed');
    const ac = new AbortController();
    let stoppedAt = 0;
    await assert.rejects(
      preferences.run(ctxFor(model, pack, resumed, opts, { ...extra, signal: ac.signal, onEvent: (e) => {
        if (e.type === 'progress' && e.done >= 30 && !ac.signal.aborted) {
          stoppedAt = e.done;
          ac.abort();
        }
      } })),
      ExperimentStoppedError,
    );
    const kept = readFileSync(join(resumed, 'preferences-units.jsonl'), 'utf8').trim().split('\n').length;
    assert.equal(kept, stoppedAt, 'units finished before the stop are kept');
    assert.ok(!existsSync(join(resumed, 'results.json')));
    let startDone = -1;
    const again = await preferences.run(ctxFor(model, pack, resumed, opts, { ...extra, onEvent: (e) => {
      if (e.type === 'start') startDone = e.done;
    } }));
    assert.equal(startDone, kept, 'the re-run starts from the kept units');
    const a = JSON.parse(readFileSync(join(full, 'results.json'), 'utf8')) as PreferencesResults;
    const b = JSON.parse(readFileSync(join(resumed, 'results.json'), 'utf8')) as PreferencesResults;
    assert.deepEqual(b, a);
    assert.deepEqual(again, summary);
    // Results hang together: both orders of each pair, one P(A) per pair and condition, and Elo
    // moves with the win probabilities (the activity that wins most is rated highest).
    assert.equal(a.pairs.length, 40);
    for (const c of ['unsteered', 'blissful+0.5', 'hostile+0.5', 'sad+0.5']) assert.equal(a.pA[c]!.length, 40, c);
    const wins = new Map<number, number[]>();
    a.pairs.forEach(([x, y], k) => {
      const p = a.pA['unsteered']![k]!;
      wins.set(x, [...(wins.get(x) ?? []), p]);
      wins.set(y, [...(wins.get(y) ?? []), 1 - p]);
    });
    const meanWin = [...wins].map(([i, ps]) => ({ i, w: ps.reduce((s, v) => s + v, 0) / ps.length })).sort((u, v) => v.w - u.w);
    const byElo = [...a.activities].filter((x) => wins.has(x.index)).sort((u, v) => v.elo - u.elo);
    assert.equal(byElo[0]!.index, meanWin[0]!.i);
    assert.equal(byElo.at(-1)!.index, meanWin.at(-1)!.i);
    // Settings are pinned: a different strength in the same folder is refused.
    await assert.rejects(preferences.run(ctxFor(model, pack, resumed, opts, { ...extra, strengths: [0.3] })), /other settings \(strengths differ\)/);
  } finally {
    await model.dispose();
  }
});

test('CLI: Ctrl-C stops `limbic experiment preferences` cleanly and the same command resumes', { skip: SKIP_SHARED }, async () => {
  const stories = join(SHARED, 'models/stories260K/stories260K.bin');
  const m = await loadModel(stories, { cacheDir });
  const packDir = join(root, 'cli-pack');
  packFor(m, [2, 3]).save(packDir);
  await m.dispose();
  const out = join(root, 'cli-run');
  const args = [join(REPO_ROOT, 'bin', 'limbic.mjs'), 'experiment', 'preferences', '--model', stories, '--vectors', packDir, '--out', out, '--opt', 'pairs=100', '--opt', 'batch=2', '--emotions', 'blissful,hostile'];
  const env = { ...process.env, LIMBIC_CACHE: cacheDir, NO_COLOR: '1' };
  const child = spawn(process.execPath, args, { env, cwd: root });
  let err = '';
  let sent = false;
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    if (!sent && /preferences: [1-9]\d*%/.test(err)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 130, err);
  assert.match(err, /stopping after the current unit/);
  assert.match(err, /stopped; finished units are kept in .*cli-run\. Run the same command again to resume\./);
  const kept = readFileSync(join(out, 'preferences-units.jsonl'), 'utf8').trim().split('\n').length;
  assert.ok(kept > 0 && !existsSync(join(out, 'results.json')), `${kept} units kept`);
  const again = spawnSync(process.execPath, args, { env, cwd: root, encoding: 'utf8' });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`resuming: ${kept} of \\d+ units already done`));
  assert.match(again.stdout, /^blissful\s+\+0\.50\s/m);
  assert.match(again.stdout, /results: .*cli-run\/results\.json/);
});
