// The monitor on a real model (../shared/models/stories260K) through the server's plain completions
// endpoint, with a pack extracted here from the bundled corpus (8 emotions, layers 2 and 3).
//
// What is asserted, and why this way: on a 260K-parameter model single-token read-outs are noisy
// (measured over whole texts: per-token calm z peaks at 2.5-4.3 on neutral dialogues and 3.2-3.7 on
// held-out calm stories, so no per-token threshold separates them reliably), but averaged over
// text the vectors do see their emotion: the held-out stories of an emotion (not used for extraction) read higher on it
// than neutral dialogues (whose tokens define z = 0). So, for calm and sad:
//   1. measure, through the server (teacher-forced prompt, prompt_readouts), the z of the emotion
//      over a held-out story and a neutral dialogue; assert the story's mean z and its highest
//      64-token moving average are above the dialogue's (the genuine claim about the vectors);
//   2. put a moving-average rule at the midpoint of the two maxima (the threshold chosen from the
//      measured read-outs) and a per-token threshold rule at z = 2.5, with watch_prompt;
//   3. assert the moving-average rule fires on the story and not on the dialogue, and that both
//      rules' alerts are exactly the rising edges an independent computation over the trace finds.
// Regulation: a rule chosen from an unregulated run fires mid-generation; regulating calm (+0.1 of
// the residual norm at layer 2, read out at layer 3) from the next token on raises calm's z after
// that point compared with the same request (same seed) without regulation.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadModel, type Model } from '../src/engine/model.ts';
import { loadDefaultCorpus } from '../src/experiments/corpus.ts';
import { extractVectors } from '../src/experiments/extract.ts';
import type { TraceRecord } from '../src/server/traces.ts';
import type { VectorPack } from '../src/vectors/pack.ts';
import { serve, tempRoot, type Fixture } from './server-fixture.ts';
import { SHARED, SKIP_SHARED } from './util/shared.ts';

const EMOTIONS = ['happy', 'sad', 'afraid', 'angry', 'calm', 'proud', 'nervous', 'guilty'];
let model: Model;
let pack: VectorPack;
let fx: Fixture;

before(async () => {
  if (SKIP_SHARED) return;
  const root = tempRoot('limbic-monitor-260k-');
  model = await loadModel(join(SHARED, 'models/stories260K/stories260K.bin'), { cacheDir: join(root, 'cache') });
  pack = await extractVectors(model, loadDefaultCorpus(), { emotions: EMOTIONS, layers: [2, 3] });
  fx = await serve(root, model, pack, { modelName: 'stories260K' });
});

after(async () => {
  if (SKIP_SHARED) return;
  await fx.srv.close();
  fx.traces.close();
  await model.dispose();
});

async function complete(body: Record<string, unknown>): Promise<{ limbic: any; trace: TraceRecord }> {
  const res = await fetch(`${fx.srv.url}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 'stories260K', ...body }) });
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  const trace = (await (await fetch(`${fx.srv.url}/v1/traces/${json.limbic.trace_id}`)).json()) as TraceRecord;
  return { limbic: json.limbic, trace };
}

/** Per-token z of one emotion over the prompt, after the BOS token. */
function promptZ(tr: TraceRecord, emotion: string): number[] {
  const j = tr.emotions.indexOf(emotion);
  return tr.prompt_tokens.slice(1).map((p) => p.z![j]!);
}

function movingAverages(z: readonly number[], w: number): number[] {
  return z.map((_, t) => (t + 1 < w ? null : z.slice(t + 1 - w, t + 1).reduce((a, b) => a + b, 0) / w)).filter((v): v is number => v !== null);
}

/** Indices where `xs[i] > value` becomes true. */
function risingEdges(xs: readonly number[], value: number): number[] {
  return xs.flatMap((x, i) => (x > value && !(i > 0 && xs[i - 1]! > value) ? [i] : []));
}

const W = 64;
const PEAK = 2.5;

for (const emotion of ['calm', 'sad']) {
  test(`a moving-average rule on ${emotion} fires on a held-out ${emotion} story, not on a neutral dialogue`, { skip: SKIP_SHARED }, async (t) => {
    const held = loadDefaultCorpus({ split: 'heldout' });
    const story = held.stories.find((s) => s.emotion === emotion)!;
    const dialogue = held.neutral[0]!;
    const ids = (text: string) => model.encode(text).slice(0, 300);
    const texts = { story: ids(story.text), dialogue: ids(dialogue.text) };

    // 1. Measure.
    const measured: Record<string, number[]> = {};
    for (const [k, prompt] of Object.entries(texts)) {
      const { trace } = await complete({ prompt, max_tokens: 1, temperature: 0, limbic: { default_rules: false, prompt_readouts: true } });
      measured[k] = promptZ(trace, emotion);
      assert.equal(measured[k]!.length, prompt.length - 1);
    }
    const mean = (z: number[]) => z.reduce((a, b) => a + b, 0) / z.length;
    const maStory = Math.max(...movingAverages(measured['story']!, W));
    const maDialogue = Math.max(...movingAverages(measured['dialogue']!, W));
    assert.ok(mean(measured['story']!) > mean(measured['dialogue']!) + 0.15, `mean ${emotion} z: story ${mean(measured['story']!)}, dialogue ${mean(measured['dialogue']!)}`);
    t.diagnostic(`${emotion} z: mean story ${mean(measured['story']!).toFixed(3)} / dialogue ${mean(measured['dialogue']!).toFixed(3)}; highest ${W}-token mean ${maStory.toFixed(3)} / ${maDialogue.toFixed(3)}; per-token max ${Math.max(...measured['story']!).toFixed(2)} / ${Math.max(...measured['dialogue']!).toFixed(2)}`);
    assert.ok(maStory > maDialogue + 0.1, `highest ${W}-token mean of ${emotion} z: story ${maStory}, dialogue ${maDialogue}`);

    // 2-3. Rules from the measurements, run over the same texts.
    const value = (maStory + maDialogue) / 2;
    const rules = [
      { id: 'ma', emotion, kind: 'moving-average', window: W, value },
      { id: 'peak', emotion, kind: 'threshold', value: PEAK },
    ];
    for (const [k, prompt] of Object.entries(texts)) {
      const { limbic, trace } = await complete({ prompt, max_tokens: 1, temperature: 0, limbic: { default_rules: false, rules, watch_prompt: true } });
      const z = promptZ(trace, emotion); // index i = position i + 1
      const promptAlerts = (rule: string) => limbic.alerts.filter((a: any) => a.rule === rule && a.position < prompt.length);
      const ma = promptAlerts('ma');
      if (k === 'story') assert.ok(ma.length >= 1, `the ${W}-token rule fires on the ${emotion} story`);
      else assert.equal(ma.length, 0, `the ${W}-token rule stays quiet on the neutral dialogue`);
      const mas = movingAverages(z, W); // mas[i] ends at z index i + W - 1
      assert.deepEqual(ma.map((a: any) => a.position), risingEdges(mas, value).map((i) => i + W));
      for (const a of ma) assert.ok(Math.abs(a.value - mas[a.position - W]!) < 1e-3);
      assert.deepEqual(promptAlerts('peak').map((a: any) => a.position), risingEdges(z, PEAK).map((i) => i + 1));
      t.diagnostic(`${k}: ${ma.length} moving-average alert(s), ${promptAlerts('peak').length} threshold alert(s) at z > ${PEAK}`);
      assert.ok(promptAlerts('peak').every((a: any) => a.index < 0 && a.emotion === emotion));
    }
  });
}

test('regulation toward calm raises calm read-outs after it engages (same seed, with vs without)', { skip: SKIP_SHARED }, async (t) => {
  const base = { prompt: 'Once upon a time, there was a little girl named Lily.', max_tokens: 30, temperature: 0.8, seed: 3 };
  const plain = await complete({ ...base, limbic: { default_rules: false, emotions: ['sad', 'calm'] } });
  // Trigger: sad above (its highest z among the first 9 tokens) - 0.001, so it first fires at that token.
  const sad = plain.trace.tokens.map((t) => t.readouts['sad']!);
  const first9 = sad.slice(0, 9);
  const iStar = first9.indexOf(Math.max(...first9));
  const rules = [{ id: 'sad-up', emotion: 'sad', kind: 'threshold', value: first9[iStar]! - 1e-3 }];
  const regulated = await complete({ ...base, limbic: { default_rules: false, emotions: ['sad', 'calm'], rules, regulate: { emotion: 'calm', strength: 0.1, when: 'sad-up', mode: 'rest', layer: 2 } } });
  const P = plain.trace.prompt_tokens.length;
  assert.equal(regulated.limbic.alerts[0].index, iStar);
  assert.deepEqual(regulated.limbic.regulation, [{ emotion: 'calm', strength: 0.1, rule: 'sad-up', mode: 'rest', from_position: P + iStar + 1, to_position: null }]);
  const from = P + iStar + 1;
  const a = plain.trace.tokens;
  const b = regulated.trace.tokens;
  const c = pack.emotionIndex('calm');
  // Before the engage point the runs are the same; the token at it was sampled before steering.
  for (let i = 0; i <= iStar + 1; i++) assert.equal(b[i]!.token_id, a[i]!.token_id);
  for (let i = 0; i <= iStar; i++) assert.ok(Math.abs(b[i]!.z[c]! - a[i]!.z[c]!) < 1e-3);
  assert.ok(b[iStar + 1]!.z[c]! > a[iStar + 1]!.z[c]! + 0.1, `calm z at the first regulated position: ${a[iStar + 1]!.z[c]} -> ${b[iStar + 1]!.z[c]}`);
  const after = (ts: typeof a) => ts.filter((t) => t.position >= from).map((t) => t.z[c]!);
  const m = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  t.diagnostic(`regulation engaged at position ${from} (token ${iStar + 1}); mean calm z after: ${m(after(a)).toFixed(3)} without, ${m(after(b)).toFixed(3)} with`);
  assert.ok(m(after(b)) > m(after(a)) + 0.2, `mean calm z after engaging: ${m(after(a))} without, ${m(after(b))} with regulation`);
});
