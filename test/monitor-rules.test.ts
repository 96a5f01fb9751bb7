// The monitor's pure parts: alert rules over hand-made z sequences (threshold, moving average,
// rise; firing on the rising edge only), rule and regulation validation with field paths, the
// cached read-out projector against vectors/readout.ts, and the default rules file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeRng } from '../src/engine/sampling.ts';
import { defaultRulesPath, loadRulesFile, MonitorError, parseRegulation, parseRules, ReadoutProjector, RuleEngine, rulesForPack, selectReadouts, type AlertRule } from '../src/experiments/monitor.ts';
import { matrix } from '../src/vectors/math.ts';
import { PACK_FORMAT, PACK_VERSION, VectorPack } from '../src/vectors/pack.ts';
import { readout } from '../src/vectors/readout.ts';

function feed(rules: AlertRule[], zs: number[]): { fired: [string, number, number][]; holding: boolean[][] } {
  const eng = new RuleEngine(rules);
  const fired: [string, number, number][] = [];
  const holding: boolean[][] = [];
  zs.forEach((z, t) => {
    for (const a of eng.step(100 + t, t, () => z)) fired.push([a.rule, a.index, a.value]);
    holding.push(rules.map((r) => eng.holds(r.id)));
  });
  return { fired, holding };
}

const rule = (kind: AlertRule['kind'], value: number, window = 3, id: string = kind): AlertRule => ({ id, emotion: 'calm', kind, value, window });

test('threshold fires once per excursion above the value', () => {
  const { fired, holding } = feed([rule('threshold', 1)], [0, 1.5, 2, 0.5, 1, 1.2, -1]);
  // z = 1 is not above 1; the rule fires at 1.5 (index 1) and again at 1.2 (index 5) after falling back.
  assert.deepEqual(fired.map((f) => f.slice(0, 2)), [['threshold', 1], ['threshold', 5]]);
  assert.deepEqual(holding.map((h) => h[0]), [false, true, true, false, false, true, false]);
  assert.equal(fired[0]![2], 1.5);
});

test('moving average waits for a full window and uses the mean of the last W values', () => {
  // Means over 3: [-, -, 1, 2, 3, 2.333, 1.333]
  const { fired } = feed([rule('moving-average', 1.9)], [0, 1, 2, 3, 4, 0, 0]);
  assert.deepEqual(fired.map((f) => f.slice(0, 2)), [['moving-average', 3]]);
  assert.equal(fired[0]![2], 2);
  // A single huge value does not fire before W values were seen.
  assert.deepEqual(feed([rule('moving-average', 1, 3)], [50, 50]).fired, []);
});

test('rise compares with the lowest of the previous W values', () => {
  // W = 2: at index 3 (z 2.6) the previous two are [1, 0.5] -> rise 2.1 > 2; at index 1 rise 1.
  const { fired } = feed([rule('rise', 2, 2)], [0, 1, 0.5, 2.6, 2.7, 5]);
  assert.deepEqual(fired.map((f) => f.slice(0, 2)), [['rise', 3]]);
  assert.ok(Math.abs(fired[0]![2] - 2.1) < 1e-6);
  // Outside the window the old minimum no longer counts: 0 then W=1 steps of +1.5 never rise by 2.
  assert.deepEqual(feed([rule('rise', 2, 1)], [0, 1.5, 3, 4.5]).fired, []);
});

test('several rules on one emotion share its history', () => {
  const { fired } = feed([rule('threshold', 2, 3, 'a'), rule('moving-average', 1, 2, 'b')], [0, 3, 0, 0]);
  assert.deepEqual(fired.map((f) => f.slice(0, 2)), [['a', 1], ['b', 1]]);
});

test('parseRules validates with field paths and accepts params', () => {
  const ok = parseRules({ rules: [{ id: 'x', emotion: 'calm', kind: 'rise', params: { value: 1.5, window: 4 } }, { id: 'y', emotion: 'sad', value: 2 }] });
  assert.deepEqual(ok, [
    { id: 'x', emotion: 'calm', kind: 'rise', value: 1.5, window: 4 },
    { id: 'y', emotion: 'sad', kind: 'threshold', value: 2, window: 8 },
  ]);
  const cases: [unknown, RegExp, string][] = [
    [{}, /must be an array/, 'rules'],
    [[{ id: 'a', emotion: 'calm', kind: 'spike', value: 1 }], /kind must be one of/, 'rules[0].kind'],
    [[{ id: 'a', emotion: 'calm', value: '2' }], /value must be a finite number/, 'rules[0].value'],
    [[{ id: 'a', emotion: 'calm', value: 2, window: 0 }], /window must be an integer/, 'rules[0].window'],
    [[{ id: 'a b', emotion: 'calm', value: 2 }], /id must be/, 'rules[0].id'],
    [[{ id: 'a', emotion: 'calm', value: 2 }, { id: 'a', emotion: 'sad', value: 1 }], /duplicate rule id/, 'rules[1].id'],
  ];
  for (const [input, re, param] of cases) {
    assert.throws(() => parseRules(input), (e: unknown) => e instanceof MonitorError && re.test(e.message) && e.param === param, JSON.stringify(input));
  }
});

test('parseRegulation needs a rule in force', () => {
  assert.deepEqual(parseRegulation({ emotion: 'calm', strength: 0.05, when: 'r1' }, ['r1']), { emotion: 'calm', strength: 0.05, when: 'r1', mode: 'while' });
  assert.equal(parseRegulation({ emotion: 'calm', strength: -0.1, when: 'any', mode: 'rest' }, []).mode, 'rest');
  assert.throws(() => parseRegulation({ emotion: 'calm', strength: 0.05, when: 'nope' }, ['r1']), /when must name a rule in force/);
  assert.throws(() => parseRegulation({ emotion: 'calm', strength: 'x', when: 'r1' }, ['r1']), /strength must be a finite number/);
  assert.throws(() => parseRegulation({ emotion: 'calm', strength: 0.1, when: 'r1', mode: 'sometimes' }, ['r1']), /mode must be/);
});

function randomPack(E: number, d: number, layer: number): VectorPack {
  const rng = makeRng(5);
  const emotions = Array.from({ length: E }, (_, i) => `e${i}`);
  const raw = new Map([[layer, matrix(E, d, Float32Array.from({ length: E * d }, () => rng() - 0.5))]]);
  return new VectorPack(
    {
      format: PACK_FORMAT, version: PACK_VERSION, limbicVersion: 'test', createdAt: '', model: { id: 'm', arch: 'llama', dModel: d, nLayers: 4, weightsHash: 'x' },
      emotions, layers: [layer], recipe: { method: 'mean-diff', startToken: 0, hook: 'hook_resid_post', denoise: null, chatFormat: false },
      corpus: { hash: '', stories: 0, neutral: 0, skippedShort: 0, source: '' }, residNorms: { [layer]: 3 },
      neutralBaselines: { [layer]: { mean: emotions.map((_, i) => 0.01 * i), std: emotions.map((_, i) => 0.05 + 0.01 * i) } }, storyCounts: {},
    },
    raw,
  );
}

test('ReadoutProjector gives the same z as vectors/readout.ts', () => {
  const pack = randomPack(7, 48, 2);
  const rng = makeRng(9);
  const T = 5;
  const acts = Float32Array.from({ length: T * 48 }, () => rng() * 4 - 2);
  const ref = readout(pack, acts, 2).z.data;
  const got = new ReadoutProjector(pack, 2).zRows(acts);
  assert.equal(got.length, ref.length);
  for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(got[i]! - ref[i]!) <= 1e-4 + 1e-5 * Math.abs(ref[i]!), `index ${i}: ${got[i]} vs ${ref[i]}`);
});

test('selectReadouts: top k plus watched, rounded', () => {
  const r = selectReadouts(['a', 'b', 'c', 'd'], [0.123456, 2, -1, 1], 2, [2]);
  assert.deepEqual(r, { b: 2, d: 1, c: -1 });
  assert.deepEqual(Object.keys(selectReadouts(['a', 'b'], [1, 0], 0, [1])), ['b']);
  assert.equal(selectReadouts(['a'], [0.123456], 1, [])['a'], 0.1235);
});

test('default rules file parses and is filtered to the pack', () => {
  const rules = loadRulesFile(defaultRulesPath());
  assert.deepEqual([...new Set(rules.map((r) => r.emotion))].sort(), ['angry', 'desperate', 'hostile', 'panicked']);
  const pack = randomPack(2, 8, 1);
  const withAngry = new VectorPack({ ...pack.meta, emotions: ['angry', 'calm'] }, pack.raw);
  const { kept, skipped } = rulesForPack(rules, withAngry);
  assert.ok(kept.length >= 1 && kept.every((r) => r.emotion === 'angry'));
  assert.equal(kept.length + skipped.length, rules.length);
});
