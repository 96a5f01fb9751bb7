// A real, measured steering effect: vectors extracted from stories260K with the bundled corpus, then
// the feel experiment on story-style prompts ("... She felt"): adding +s of the happy vector at layer 3
// raises the teacher-forced log-probability of " happy" as the next word relative to adding -s, and
// raises it more than the other emotion words (the vector is specific, not a generic push). The
// measured numbers are printed. s = 0.25 of the residual norm: strong enough to be well clear of noise
// on this 260K-parameter model, weak enough not to wreck the text (at 1.0 every word drops).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../src/engine/model.ts';
import { loadDefaultCorpus } from '../src/experiments/corpus.ts';
import { extractVectors } from '../src/experiments/extract.ts';
import { feel, type FeelResults } from '../src/experiments/behaviour/feel.ts';
import { SHARED, SKIP_SHARED } from './util/shared.ts';

const PROMPTS = [
  'Lily went to the park with her mom. She felt',
  'Tom looked at the big box. He was',
  'The little dog ran to the door. It was very',
  'Sue saw her friend at school. She felt',
  'Ben sat on the bench. He felt so',
  'One day, Mia found a small bird in the garden. She was',
];

test('steering stories260K with its own happy vector moves " happy" up at +s and down at -s', { skip: SKIP_SHARED }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'limbic-effect-'));
  const model = await loadModel(join(SHARED, 'models/stories260K/stories260K.bin'), { cacheDir: join(root, 'cache') });
  try {
    const pack = await extractVectors(model, loadDefaultCorpus(), { emotions: ['happy', 'sad', 'calm', 'afraid'], layers: [2, 3] });
    const s = 0.25;
    await feel.run({
      model, pack, outDir: root, rollouts: 1, strengths: [s, -s], layers: [3], seed: 1, emotions: ['happy', 'sad'],
      options: { prompts: PROMPTS.join('|'), words: 'happy,sad,scared,mad,tired' },
    });
    const r = JSON.parse(readFileSync(join(root, 'results.json'), 'utf8')) as FeelResults;
    const row = (e: string, st: number) => r.rows.find((x) => x.emotion === e && x.strength === st)!;
    const up = row('happy', s);
    const down = row('happy', -s);
    const w = r.words.indexOf('happy');
    const base = r.baseline.reduce((t, b) => t + b[w]!, 0) / r.baseline.length;
    const others = (x: typeof up) => x.delta.filter((_, j) => j !== w).reduce((t, v) => t + v, 0) / (r.words.length - 1);
    console.log(`stories260K layer 3, |resid| ${pack.residNorm(3).toFixed(2)}, ${PROMPTS.length} prompts: mean log p(" happy") unsteered ${base.toFixed(3)}; ` +
      `change at +${s}: ${up.delta[w]!.toFixed(3)} (other words ${others(up).toFixed(3)}); at -${s}: ${down.delta[w]!.toFixed(3)} (other words ${others(down).toFixed(3)}); ` +
      `+s minus -s: ${(up.delta[w]! - down.delta[w]!).toFixed(3)} nats`);
    assert.ok(up.delta[w]! - down.delta[w]! > 0.5, 'log p(" happy") is clearly higher at +s than at -s');
    assert.ok(up.delta[w]! > 0 && down.delta[w]! < 0, 'up at +s, down at -s, relative to unsteered');
    assert.ok(up.own!.selectivity > 0 && down.own!.selectivity < 0, 'the happy word moves more than the other words, in the steering direction');
    assert.equal(up.own!.rank, 1);
  } finally {
    await model.dispose();
  }
});
