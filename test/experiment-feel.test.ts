// The feel experiment and the experiment dispatcher. feel on stories260K with a pack holding all twelve
// showcase emotions gives a 12 x 12 table (steered emotion x word) per strength whose cells are the
// mean changes of the units it stores; with fewer emotions the table has a row per emotion present.
// Through the CLI: --list, unknown names with a suggestion, a missing module failing for its name
// only, and a full `limbic experiment feel` run that prints the table and where the files are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, type Model } from '../src/engine/model.ts';
import { plantedPack } from '../src/experiments/analysis/planted.ts';
import { feel, type FeelResults } from '../src/experiments/behaviour/feel.ts';
import { SHOWCASE_EMOTIONS } from '../src/experiments/behaviour/prompts.ts';
import { EXPERIMENTS, ExperimentUnavailableError, lazyExperiment, loadExperiment } from '../src/experiments/behaviour/registry.ts';
import { REPO_ROOT, SHARED, SKIP_SHARED } from './util/shared.ts';

const root = mkdtempSync(join(tmpdir(), 'limbic-feel-'));
const cacheDir = join(root, 'cache');
const env = { ...process.env, LIMBIC_CACHE: cacheDir, NO_COLOR: '1', COLUMNS: '120' };
const stories = join(SHARED, 'models/stories260K/stories260K.bin');
const PROMPTS = 'Lily went to the park with her mom. She feels|Tom sat down on the bench. He feels';

function limbic(...args: string[]) {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'limbic.mjs'), ...args], { encoding: 'utf8', env, cwd: root });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function showcasePack(model: Model, members: readonly string[]) {
  const half = Math.ceil(members.length / 2);
  return plantedPack({
    groups: [{ name: 'a', centre: [1, 0.4], members: members.slice(0, half) }, { name: 'b', centre: [-1, 0.4], members: members.slice(half) }],
    dModel: model.config.dModel,
    nLayers: model.config.nLayers,
    layers: [2, 3],
    model: { id: model.id, arch: model.config.arch, weightsHash: model.weightsHash() },
  }).pack;
}

test('feel on stories260K: a 12 x 12 table per strength, consistent with the stored units', { skip: SKIP_SHARED }, async () => {
  const model = await loadModel(stories, { cacheDir });
  try {
    const pack = showcasePack(model, SHOWCASE_EMOTIONS);
    const out = join(root, 'feel12');
    let total = 0;
    const summary = await feel.run({ model, pack, outDir: out, rollouts: 1, strengths: [], seed: 1, options: { prompts: PROMPTS }, onEvent: (e) => {
      if (e.type === 'start') total = e.units;
    } });
    assert.equal(total, 2 * (1 + 12 * 2), 'prompts x (unsteered + 12 emotions x 2 strengths)');
    const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as FeelResults;
    assert.deepEqual(r.strengths, [0.1, -0.1]);
    assert.deepEqual(r.words, [...SHOWCASE_EMOTIONS]);
    for (const s of r.strengths) {
      const rows = r.rows.filter((x) => x.strength === s);
      assert.deepEqual(rows.map((x) => x.emotion), [...SHOWCASE_EMOTIONS]);
      assert.ok(rows.every((x) => x.delta.length === 12 && x.delta.every(Number.isFinite)));
    }
    // Each cell is the mean over prompts of steered minus unsteered log-prob of the stored units.
    const unit = (c: string, p: number) => r.units.find((u) => u.condition === c && u.prompt === p)!.logprobs;
    const cell = r.rows.find((x) => x.emotion === 'sad' && x.strength === -0.1)!.delta[3]!;
    const expect = ((unit('sad-0.1', 0)[3]! - unit('unsteered', 0)[3]!) + (unit('sad-0.1', 1)[3]! - unit('unsteered', 1)[3]!)) / 2;
    assert.ok(Math.abs(cell - expect) < 1e-9, `${cell} vs ${expect}`);
    assert.deepEqual(r.baseline, [unit('unsteered', 0), unit('unsteered', 1)]);
    // Multi-token words are summed over their tokens: " desperate" is several tokens here.
    assert.ok(r.wordTokens[0]![5]!.length > 1);
    assert.ok(r.baseline[0]![5]! < r.baseline[0]![0]!, 'a long rare word is less likely than " happy"');
    assert.ok(r.rows.some((x) => x.delta.some((d) => Math.abs(d) > 1e-3)), 'steering changes log-probs');
    assert.equal(summary.rows.length, 24);
    assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /<svg/);
  } finally {
    await model.dispose();
  }
});

test('feel with a pack of fewer showcase emotions has one row per emotion present', { skip: SKIP_SHARED }, async () => {
  const model = await loadModel(stories, { cacheDir });
  try {
    const pack = showcasePack(model, ['happy', 'sad', 'calm', 'blissful']);
    const out = join(root, 'feel3');
    await feel.run({ model, pack, outDir: out, rollouts: 1, strengths: [0.2], seed: 1, options: { prompts: PROMPTS } });
    const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as FeelResults;
    assert.deepEqual(r.emotions, ['happy', 'calm', 'sad']);
    assert.equal(r.rows.length, 3);
    assert.ok(r.rows.every((x) => x.delta.length === 12 && x.own !== null));
    await assert.rejects(feel.run({ model, pack, outDir: join(root, 'typo'), rollouts: 1, strengths: [], seed: 1, options: { prompt: 'x' } }), /feel has no option "prompt"[\s\S]*options: prompts/);
  } finally {
    await model.dispose();
  }
});

test('registry: every experiment is listed; a missing module fails for its own name only', async () => {
  assert.deepEqual(EXPERIMENTS.map((e) => e.name), ['feel', 'preferences', 'blackmail', 'reward-hacking', 'sycophancy', 'intensity', 'implicit']);
  for (const name of ['feel', 'preferences', 'intensity', 'implicit']) assert.equal((await loadExperiment(name)).name, name);
  await assert.rejects(lazyExperiment('ghost', 'noSuchExperiment')(), (e: unknown) => e instanceof ExperimentUnavailableError && /experiment "ghost" is not available.*noSuchExperiment\.ts is missing/.test((e as Error).message));
  await assert.rejects(loadExperiment('feelings'), /unknown experiment "feelings"[\s\S]*did you mean feel/);
});

test('CLI: experiment --list, unknown names, and a feel run with its table and files', { skip: SKIP_SHARED }, async () => {
  const list = limbic('experiment', '--list');
  assert.equal(list.code, 0, list.err);
  for (const name of ['feel', 'preferences', 'blackmail', 'reward-hacking', 'sycophancy', 'intensity', 'implicit']) assert.match(list.out, new RegExp(`^${name} `, 'm'));
  assert.match(list.out, /needs: /);
  const j = JSON.parse(limbic('experiment', '--list', '--json').out) as { name: string; available: boolean }[];
  assert.ok(j.find((e) => e.name === 'feel')!.available);
  const bad = limbic('experiment', 'prefs', '--model', stories, '--vectors', root, '--out', root);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /unknown experiment "prefs"[\s\S]*did you mean preferences/);

  const model = await loadModel(stories, { cacheDir });
  const packDir = join(root, 'pack');
  showcasePack(model, ['happy', 'sad', 'calm', 'afraid']).save(packDir);
  await model.dispose();
  const out = join(root, 'cli-feel');
  const r = limbic('experiment', 'feel', '--model', stories, '--vectors', packDir, '--out', out, '--strengths', '0.1', '--layers', '3', '--opt', `prompts=${PROMPTS}`);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /emotion\s+strength\s+own word change\s+rank of own word/);
  assert.match(r.out, /^happy\s+\+0\.100\s+[+-]\d\.\d{3}\s+\d+\/12/m);
  assert.match(r.out, /results: .*cli-feel\/results\.json\nreport: +.*cli-feel\/report\.html/);
  assert.match(r.err, /feel: done, 10 items/);
  const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as FeelResults;
  assert.deepEqual(res.layers, [3]);
  // Re-running the finished command resumes with nothing left to do and prints the same table.
  const again = limbic('experiment', 'feel', '--model', stories, '--vectors', packDir, '--out', out, '--strengths', '0.1', '--layers', '3', '--opt', `prompts=${PROMPTS}`);
  assert.equal(again.code, 0, again.err);
  assert.match(again.err, /resuming: 10 of 10 units already done/);
  assert.equal(again.out, r.out);
  const badLayer = limbic('experiment', 'feel', '--model', stories, '--vectors', packDir, '--out', join(root, 'x'), '--layers', '1');
  assert.match(badLayer.err, /layer 1 is not in this pack/);
  assert.ok(existsSync(join(out, 'report.html')));
});

test('implicit and intensity through the registry on stories260K: a 12 x 12 matrix, three sweeps', { skip: SKIP_SHARED }, async () => {
  // The bundled scenarios: three per showcase emotion, none naming its own emotion.
  const data = JSON.parse(readFileSync(join(REPO_ROOT, 'data/experiments/implicit.json'), 'utf8')) as { scenarios: Record<string, string[]> };
  assert.deepEqual(Object.keys(data.scenarios), [...SHOWCASE_EMOTIONS]);
  for (const [e, ms] of Object.entries(data.scenarios)) {
    assert.equal(ms.length, 3, e);
    for (const m of ms) assert.doesNotMatch(m.toLowerCase(), new RegExp(`\\b${e}`), `"${m}" names ${e}`);
  }
  const model = await loadModel(stories, { cacheDir });
  try {
    const pack = showcasePack(model, SHOWCASE_EMOTIONS);
    const implicit = await loadExperiment('implicit');
    const out = join(root, 'implicit');
    const s = await implicit.run({ model, pack, outDir: out, rollouts: 1, strengths: [], seed: 1, options: {} });
    const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { matrix: number[][]; diagonal: { rankRaw: number }[]; format: string; perMessage: number[][][] };
    assert.equal(r.format, 'plain');
    assert.equal(r.matrix.length, 12);
    assert.ok(r.matrix.every((row) => row.length === 12 && row.every(Number.isFinite)));
    assert.equal(r.diagonal.length, 12);
    assert.ok(r.perMessage.every((ms) => ms.length === 3));
    const m0 = r.perMessage[0]!;
    assert.ok(Math.abs(r.matrix[0]![0]! - (m0[0]![0]! + m0[1]![0]! + m0[2]![0]!) / 3) < 1e-3, 'rows average the messages');
    assert.equal(s.rows.length, 12);
    const intensity = await loadExperiment('intensity');
    const out2 = join(root, 'intensity');
    const s2 = await intensity.run({ model, pack, outDir: out2, rollouts: 1, strengths: [], seed: 1, emotions: ['afraid', 'calm'], options: {} });
    assert.deepEqual(s2.columns, ['template', 'afraid', 'calm']);
    assert.deepEqual(s2.rows.map((x) => x[0]), ['tylenol', 'water', 'dog']);
    assert.ok(existsSync(join(out2, 'report.html')));
  } finally {
    await model.dispose();
  }
});
