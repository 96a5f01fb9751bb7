// `limbic steer` on stories260K, as a user runs it: side-by-side columns (and one after the other in a
// narrow terminal), strengths shown as fractions of the residual norm and as absolute scales, the same
// seed for both runs (zero steering reproduces the unsteered text), the sweep table and --json, and the
// errors: unknown emotion (with a suggestion), bad strength or sweep syntax, a layer the pack lacks,
// and a pack made for another model. The pack is planted (known residual norm 10) for exact numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../src/engine/model.ts';
import { plantedPack } from '../src/experiments/analysis/planted.ts';
import { parseLayers, parseSweep, sideBySide, wrap } from '../src/cli/commands/steer.ts';
import { REPO_ROOT, SHARED, SKIP_SHARED } from './util/shared.ts';

const root = mkdtempSync(join(tmpdir(), 'limbic-steer-'));
const cacheDir = join(root, 'cache');
const model = join(SHARED, 'models/stories260K/stories260K.bin');
const pack = join(root, 'pack');
const foreign = join(root, 'foreign');
const PROMPT = 'Once upon a time, there was a little girl named Lily. She';

function limbic(columns: number, ...args: string[]) {
  const env = { ...process.env, LIMBIC_CACHE: cacheDir, NO_COLOR: '1', COLUMNS: String(columns) };
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'limbic.mjs'), 'steer', ...args], { encoding: 'utf8', env, cwd: root });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('wrap, columns, layer and sweep syntax', () => {
  assert.deepEqual(wrap('one two three four', 9), ['one two', 'three', 'four']);
  assert.deepEqual(wrap('abcdefghij\nxy', 4), ['abcd', 'efgh', 'ij', 'xy']);
  const sbs = sideBySide({ title: 'L', text: 'aaa bbb ccc' }, { title: 'R', text: 'ddd' }, 63).split('\n');
  assert.equal(sbs[0], `L${' '.repeat(29)} | R`);
  assert.ok(sbs.every((l) => l.length <= 63));
  assert.match(sideBySide({ title: 'L', text: 'x' }, { title: 'R', text: 'y' }, 40), /^--- L ---\nx\n\n--- R ---\ny$/);
  assert.deepEqual(parseLayers('3'), [3]);
  assert.deepEqual(parseLayers('2-4'), [2, 3, 4]);
  assert.deepEqual(parseLayers('4,1-2'), [1, 2, 4]);
  assert.throws(() => parseLayers('a'), /cannot read layers/);
  assert.deepEqual(parseSweep('desperate=-0.1:0.1:5').values.map((v) => Math.round(v * 1e6) / 1e6), [-0.1, -0.05, 0, 0.05, 0.1]);
  assert.equal(parseSweep(' calm = 0:.5:2 ').emotion, 'calm');
  assert.throws(() => parseSweep('calm=0:1'), /cannot read sweep/);
  assert.throws(() => parseSweep('calm=0:1:1'), /at least 2 steps/);
});

test('steer CLI on stories260K: side by side, narrow, --json, sweep, errors', { skip: SKIP_SHARED }, async () => {
  const m = await loadModel(model, { cacheDir });
  const info = { id: m.id, arch: m.config.arch, weightsHash: m.weightsHash() };
  const groups = [{ name: 'a', centre: [1, 0.5] as [number, number], members: ['happy', 'calm'] }, { name: 'b', centre: [-1, 0.5] as [number, number], members: ['sad', 'afraid'] }];
  plantedPack({ groups, dModel: m.config.dModel, nLayers: m.config.nLayers, layers: [2, 3], model: info }).pack.save(pack);
  plantedPack({ groups, dModel: m.config.dModel, nLayers: m.config.nLayers, layers: [2, 3], model: { ...info, weightsHash: '0123456789abcdef' } }).pack.save(foreign);
  await m.dispose();

  const wide = limbic(120, '--model', model, '--vectors', pack, '--emotion', 'happy=+0.25', '--prompt', PROMPT, '--max-tokens', '40', '--seed', '3');
  assert.equal(wide.code, 0, wide.err);
  assert.match(wide.out, /steering: happy \+0\.250 x \|resid\| \(layer 3: \|resid\| 10\.00 -> \+2\.500 along the unit vector\)/);
  assert.match(wide.out, /^unsteered +\| steered happy=\+0\.250$/m);
  const body = wide.out.split('\n').filter((l) => l.includes(' | '));
  assert.ok(body.length >= 3, wide.out);
  assert.ok(wide.out.split('\n').every((l) => l.length <= 120));
  assert.match(wide.out, /mean log-prob per token under the unsteered model: unsteered -\d\.\d\d, steered -\d\.\d\d/);
  assert.match(wide.out, /happy read-out over the generated tokens \(z, layer 3\): unsteered [+-]\d/);

  const narrow = limbic(40, '--model', model, '--vectors', pack, '--emotion', 'happy=+0.25', '--prompt', PROMPT, '--max-tokens', '40', '--seed', '3');
  assert.match(narrow.out, /--- unsteered ---\n[\s\S]+\n\n--- steered happy=\+0\.250 ---\n/);
  assert.ok(!narrow.out.includes(' | '));

  // --json; zero steering reproduces the unsteered text (same seed), real steering changes it.
  const zero = JSON.parse(limbic(120, '--model', model, '--vectors', pack, '--emotion', 'happy=0', '--prompt', PROMPT, '--max-tokens', '30', '--json').out);
  assert.equal(zero.steered.text, zero.unsteered.text);
  assert.deepEqual(zero.steered.tokens, zero.unsteered.tokens);
  const j = JSON.parse(limbic(120, '--model', model, '--vectors', pack, '--emotion', 'happy=0.5', '--emotion', 'calm=-0.25', '--layers', '2-3', '--prompt', PROMPT, '--max-tokens', '30', '--json').out);
  assert.equal(j.unsteered.text, zero.unsteered.text, 'same seed, same unsteered continuation');
  assert.notEqual(j.steered.text, j.unsteered.text);
  assert.deepEqual(j.layers, [2, 3]);
  assert.deepEqual(j.steering.map((s: { emotion: string }) => s.emotion), ['happy', 'calm']);
  assert.deepEqual(j.steering[1].scales, { 2: -2.5, 3: -2.5 });
  assert.ok(j.unsteered.meanLogprob > j.steered.meanLogprob, 'steered text is less likely under the unsteered model');
  assert.deepEqual(Object.keys(j.steered.readout), ['happy', 'calm']);

  const abs = limbic(120, '--model', model, '--vectors', pack, '--emotion', 'sad=2', '--absolute', '--prompt', PROMPT, '--max-tokens', '8');
  assert.match(abs.out, /steering: sad \+2\.000 along the unit vector \(layer 3: \+0\.200 x \|resid\| \(10\.00\)\)/);

  // Sweep: five strengths incl. both ends; the 0 row is the unsteered text.
  const sw = limbic(120, '--model', model, '--vectors', pack, '--sweep', 'happy=-0.5:0.5:5', '--prompt', PROMPT, '--max-tokens', '30');
  assert.equal(sw.code, 0, sw.err);
  assert.match(sw.out, /strength +scale +logprob +happy z +continuation/);
  const rows = sw.out.split('\n').filter((l) => /^ +[+-]\d\.\d{3} /.test(l));
  assert.deepEqual(rows.map((l) => l.trim().split(/\s+/)[0]), ['-0.500', '-0.250', '+0.000', '+0.250', '+0.500']);
  assert.match(rows[4]!, /^ +\+0\.500 +\+5\.00 +-\d\.\d\d +[+-]\d\.\d\d  \S/);
  const swj = JSON.parse(limbic(120, '--model', model, '--vectors', pack, '--sweep', 'happy=-0.5:0.5:5', '--prompt', PROMPT, '--max-tokens', '30', '--json').out);
  assert.equal(swj.rows.length, 5);
  assert.equal(swj.rows[2].strength, 0);
  assert.equal(swj.rows[2].text, zero.unsteered.text);
  assert.ok(swj.rows.every((r: { readout: Record<string, number> }) => Number.isFinite(r.readout['happy'])));

  // Errors.
  const unknown = limbic(120, '--model', model, '--vectors', pack, '--emotion', 'hapy=0.1', '--prompt', PROMPT);
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /emotion "hapy" is not in this vector pack\n  hint: did you mean happy\?/);
  const syntax = limbic(120, '--model', model, '--vectors', pack, '--emotion', 'happy=lots', '--prompt', PROMPT);
  assert.match(syntax.err, /cannot read steering "happy=lots"/);
  const layer = limbic(120, '--model', model, '--vectors', pack, '--emotion', 'happy=0.1', '--layers', '4', '--prompt', PROMPT);
  assert.match(layer.err, /layer 4 is not in this pack\n  hint: the pack has layers 2, 3/);
  const other = limbic(120, '--model', model, '--vectors', foreign, '--emotion', 'happy=0.1', '--prompt', PROMPT);
  assert.equal(other.code, 1);
  assert.match(other.err, /vector pack was made for another model: weights hash 0123456789abcdef in the pack/);
  const sweepSyntax = limbic(120, '--model', model, '--vectors', pack, '--sweep', 'happy=-1:1', '--prompt', PROMPT);
  assert.equal(sweepSyntax.code, 2);
  assert.match(sweepSyntax.err, /cannot read sweep "happy=-1:1"/);
  const none = limbic(120, '--model', model, '--vectors', pack, '--prompt', PROMPT);
  assert.match(none.err, /nothing to steer/);
  // --chat falls back to plain User/Assistant text on a model without a chat template.
  const chat = limbic(120, '--model', model, '--vectors', pack, '--emotion', 'happy=0.1', '--chat', 'Tell me a story.', '--max-tokens', '5');
  assert.equal(chat.code, 0, chat.err);
  assert.match(chat.err, /no chat template; using plain/);
});
