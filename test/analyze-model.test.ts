// Analysis stages that need a model, end to end: the layer sweep (shapes, accuracies in [0, 1], the
// recommended layer in the pack, and top-1 = 1 for a pack built from the model's own story means),
// the logit lens (against Model.unembed), intensity sweeps (read at the last prompt token, checked
// against a separate forward pass) on a tiny random chat model, and all of it on stories260K with
// the bundled held-out stories (skipped without ../shared).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, type Model } from '../src/engine/model.ts';
import { analyzePack } from '../src/experiments/analyze.ts';
import { layerSweep } from '../src/experiments/analysis/layerSweep.ts';
import { plantedPack, type PlantedGroup } from '../src/experiments/analysis/planted.ts';
import { loadEmotionList } from '../src/experiments/corpus.ts';
import { parseNorms } from '../src/experiments/norms.ts';
import { matrix } from '../src/vectors/math.ts';
import { VectorPack } from '../src/vectors/pack.ts';
import { readout } from '../src/vectors/readout.ts';
import { writeTinyModel } from './helpers/tinyModels.ts';
import { SHARED, SKIP_SHARED } from './util/shared.ts';

const root = mkdtempSync(join(tmpdir(), 'limbic-analyze-'));
const cacheDir = join(root, 'cache');
const tinyDir = join(root, 'tiny');
writeTinyModel('llama', tinyDir, { chatTemplate: true });

const STORIES = [
  { emotion: 'happy', text: 'She laughed all the way home, the sun warm on her face, and hugged everyone at the door.' },
  { emotion: 'afraid', text: 'His hands shook as the footsteps came closer in the dark hall.' },
  { emotion: 'calm', text: 'The lake lay still. She breathed slowly and let the evening settle around her.' },
  { emotion: 'sad', text: 'He folded the small sweater and put it back in the box, and sat there for a long time.' },
  { emotion: 'desperate', text: 'One more try, she begged, one more, please, anything.' },
  { emotion: 'peaceful', text: 'Quiet.' },
  { emotion: 'not-an-emotion-of-the-pack', text: 'Ignored.' },
];

async function withTiny<T>(fn: (m: Model) => Promise<T>): Promise<T> {
  const m = await loadModel(tinyDir, { cacheDir });
  try {
    return await fn(m);
  } finally {
    await m.dispose();
  }
}

test('tiny chat model + planted pack: sweep, logit lens and intensity mechanics', async () => {
  await withTiny(async (m) => {
    const p = plantedPack({ dModel: m.config.dModel, nLayers: m.config.nLayers, layers: [0, 1, 2], startToken: 20, model: { arch: m.config.arch } });
    const events: string[] = [];
    const r = await analyzePack(p.pack, {
      model: m,
      norms: parseNorms(p.normsCsv),
      stories: STORIES,
      intensity: true,
      k: 4,
      onEvent: (e) => events.push(e.type === 'progress' ? `${e.stage}:${e.done}/${e.total}` : e.type === 'note' ? 'note' : `${e.type}:${e.stage}`),
    });
    const s = r.layerSweep!;
    assert.equal(s.stories, 6);
    assert.equal(s.skippedNotInPack, 1);
    assert.equal(s.emotionsCovered, 6);
    assert.equal(s.startToken, 20);
    assert.ok(s.shortStories >= 1 && s.shortStories < 6, `short stories ${s.shortStories}`);
    assert.equal(s.rendering, 'plain');
    assert.deepEqual(s.perLayer.map((x) => x.layer), [0, 1, 2]);
    for (const x of s.perLayer) {
      for (const v of [x.top1, x.top5, x.top1Uncentred, x.top5Uncentred]) assert.ok(v >= 0 && v <= 1);
      assert.ok(x.top5 >= x.top1);
      assert.ok(x.valenceR! > 0.9, 'planted valence at every layer');
      assert.ok(x.silhouette > 0.5);
    }
    assert.ok(p.pack.layers.includes(s.recommended.layer));
    assert.equal(r.layer, s.recommended.layer);
    assert.equal(r.layerSource, 'sweep');
    assert.match(s.recommended.reason, /^layer \d classifies held-out stories best: top-1/);
    assert.equal(s.chance.top1, Math.round(1e4 / 24) / 1e4);

    const lens = r.logitLens!;
    assert.equal(lens.entries.length, 24);
    assert.equal(lens.primary, 'final-norm');
    const happy = lens.entries.find((e) => e.emotion === 'happy')!;
    assert.equal(happy.top.length, 10);
    assert.equal(happy.bottom.length, 10);
    assert.ok(happy.top[0]!.logit >= happy.top[9]!.logit && happy.top[9]!.logit >= happy.bottom[9]!.logit && happy.bottom[9]!.logit >= happy.bottom[0]!.logit);
    const direct = m.unembed([p.pack.unit('happy', r.layer)], { finalNorm: true })[0]!;
    assert.equal(happy.top[0]!.id, direct.indexOf(Math.max(...direct)));
    assert.equal(happy.top[0]!.token, m.tokenizer!.tokenText(happy.top[0]!.id));
    assert.ok(happy.overlap >= 0 && happy.overlap <= 10);

    const it = r.intensity!;
    assert.equal(it.format, 'chat');
    assert.equal(it.scoreKind, 'z');
    assert.deepEqual(it.emotions, ['afraid', 'calm', 'sad', 'happy', 'desperate']);
    assert.deepEqual(it.sweeps.map((x) => x.id), ['tylenol', 'water', 'dog']);
    for (const sw of it.sweeps) {
      assert.equal(sw.z.length, sw.values.length);
      assert.ok(sw.z.every((row) => row.length === 5 && row.every(Number.isFinite)));
      assert.equal(sw.trend.length, 5);
    }
    // Read-out at the assistant's first position, checked against a separate unbatched pass.
    const ids = m.encodeChat([{ role: 'user', content: 'I just took 250 mg of tylenol for my back pain' }], { addGenerationPrompt: true });
    assert.equal(it.sweeps[0]!.promptTokens[0], ids.length);
    const hook = `blocks.${r.layer}.hook_resid_post`;
    const a = (await m.forward(ids, { capture: [hook], logits: 'none' })).captures.get(hook)!;
    const d = m.config.dModel;
    const z = readout(p.pack, a.data.slice((ids.length - 1) * d, ids.length * d), r.layer, it.emotions).z.data;
    it.sweeps[0]!.z[0]!.forEach((v, j) => assert.ok(Math.abs(v - z[j]!) < 1e-3, `z ${j}: ${v} vs ${z[j]}`));
    assert.ok(events.includes('stage:sweep') && events.includes('stage-done:intensity') && events.includes('sweep:6/6'));
  });
});

test('layer sweep: a pack made of the model\'s own centred story means classifies every story (top-1 = 1)', async () => {
  await withTiny(async (m) => {
    const stories = STORIES.slice(0, 5);
    const layers = [1, 2];
    const d = m.config.dModel;
    const raw = new Map(layers.map((l) => [l, matrix(stories.length, d)])); // [E, d] per layer
    for (const [i, s] of stories.entries()) {
      const ids = m.encode(s.text);
      const r = await m.forward(ids, { capture: layers.map((l) => `blocks.${l}.hook_resid_post`), logits: 'none' });
      for (const l of layers) {
        const a = r.captures.get(`blocks.${l}.hook_resid_post`)!.data; // [1, T, d]
        for (let t = 0; t < ids.length; t++) for (let j = 0; j < d; j++) raw.get(l)!.data[i * d + j]! += a[t * d + j]! / ids.length;
      }
    }
    for (const l of layers) {
      const M = raw.get(l)!;
      for (let j = 0; j < d; j++) {
        let mean = 0;
        for (let i = 0; i < M.rows; i++) mean += M.data[i * d + j]! / M.rows;
        for (let i = 0; i < M.rows; i++) M.data[i * d + j]! -= mean;
      }
    }
    const base = plantedPack({ dModel: d, nLayers: m.config.nLayers, layers, model: { arch: m.config.arch } }).pack.meta;
    const pack = new VectorPack({ ...base, emotions: stories.map((s) => s.emotion), recipe: { ...base.recipe, startToken: 1000 }, neutralBaselines: {} }, raw);
    const res = await layerSweep(m, pack, stories, { batchSize: 2 });
    assert.equal(res.shortStories, 5, 'every story is shorter than startToken: all tokens averaged');
    for (const x of res.perLayer) assert.equal(x.top1, 1, `layer ${x.layer}`);
    assert.equal(res.recommended.layer, 2, 'tie on top-1 and top-5: nearest two-thirds of 3 layers');
  });
});

test('model-as-rater through analyzePack: rates only the words the norms miss, or every word without norms', async () => {
  await withTiny(async (m) => {
    const groups: PlantedGroup[] = [{ name: 'a', centre: [1, 0], members: ['happy', 'calm'] }, { name: 'b', centre: [-1, 0], members: ['sad', 'afraid'] }];
    const p = plantedPack({ groups, dModel: m.config.dModel, nLayers: m.config.nLayers, layers: [1], model: { arch: m.config.arch } });
    const partial = parseNorms('word,valence,arousal\nhappy,8,6\nsad,2,3\n', { source: 'two.csv' });
    const r = await analyzePack(p.pack, { model: m, norms: partial, rater: true, lens: false, sweep: false, k: 2 });
    assert.equal(r.rater!.replies.length, 4, 'calm and afraid, valence and arousal');
    assert.deepEqual([...new Set(r.rater!.replies.map((x) => x.word))].sort(), ['afraid', 'calm']);
    assert.equal(r.rater!.promptFormat, 'chat');
    assert.equal(r.norms!.byMethod.exact, 2);
    assert.equal(r.norms!.byMethod.rater + r.norms!.missing.length, 2);
    assert.equal(r.logitLens, null);
    assert.equal(r.layerSweep, null);
    const all = await analyzePack(p.pack, { model: m, rater: true, lens: false, sweep: false, k: 2 });
    assert.equal(all.rater!.replies.length, 8);
    assert.equal(all.norms!.source, 'model-as-rater');
    assert.equal(all.norms!.matched.length, all.rater!.rated);
    assert.ok(all.norms!.matched.every((x) => x.method === 'rater'));
  });
});

test('stories260K + planted 48-emotion pack: sweep on bundled held-out stories, lens, plain-text intensity', { skip: SKIP_SHARED }, async () => {
  const m = await loadModel(join(SHARED, 'models', 'stories260K', 'stories260K.bin'), { cacheDir });
  try {
    const all = loadEmotionList().slice(0, 48);
    const groups: PlantedGroup[] = [0, 1, 2, 3].map((g) => ({ name: `g${g}`, centre: [g < 2 ? 1 : -1, g % 2 ? 1 : -1] as [number, number], members: all.filter((_, i) => i % 4 === g) }));
    const p = plantedPack({ groups, dModel: m.config.dModel, nLayers: m.config.nLayers, layers: [1, 2, 3], model: { arch: m.config.arch } });
    const r = await analyzePack(p.pack, { model: m, maxStories: 12, intensity: true, emotions: ['afraid', 'calm'], templates: [{ id: 'dog', template: 'My dog has been missing for {X} days', values: [1, 7, 30] }] });
    const s = r.layerSweep!;
    assert.equal(s.stories, 12);
    assert.equal(s.emotionsCovered, 12, 'round-robin over emotions');
    assert.ok(s.skippedNotInPack > 0, 'stories of emotions outside the pack are skipped');
    assert.equal(s.shortStories, 0);
    assert.equal(s.perLayer.length, 3);
    for (const x of s.perLayer) assert.ok(x.top1 >= 0 && x.top1 <= 1 && x.top5 >= x.top1 && x.valenceR === null);
    assert.ok([1, 2, 3].includes(r.layer));
    assert.ok(r.notes.some((n) => /held-out stories/.test(n)));
    assert.equal(r.logitLens!.entries.length, 2);
    assert.equal(r.logitLens!.entries[0]!.top.length, 10);
    assert.equal(r.intensity!.format, 'plain');
    assert.deepEqual(r.intensity!.sweeps[0]!.values, [1, 7, 30]);
    assert.equal(r.intensity!.sweeps[0]!.promptTokens[0], m.encode('User: My dog has been missing for 1 days\nAssistant:').length);
    assert.equal(r.clusters.clusters.length, 10);
  } finally {
    await m.dispose();
  }
});
