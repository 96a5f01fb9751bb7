// End to end on a real model (../shared/models/stories260K) through the CLI, as a user runs it:
// extract (bundled corpus, a subset of emotions) -> pack info -> probe (text, JSON, HTML) ->
// export llama.cpp control vectors -> analyze with the Warriner norms (valence r is printed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readControlVectorGguf } from '../src/engine/gguf.ts';
import { VectorPack } from '../src/vectors/pack.ts';
import { REPO_ROOT, SHARED, SKIP_SHARED } from './util/shared.ts';

const root = mkdtempSync(join(tmpdir(), 'limbic-pipe-'));
const env = { ...process.env, LIMBIC_CACHE: join(root, 'cache'), NO_COLOR: '1' };
const model = join(SHARED, 'models/stories260K/stories260K.bin');
const pack = join(root, 'pack');
const EMOTIONS = 'happy,sad,afraid,angry,calm,proud,nervous,guilty';
function limbic(...args: string[]) {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'limbic.mjs'), ...args], { encoding: 'utf8', env, cwd: root });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('stories260K pipeline: extract, pack info, probe, export-gguf', { skip: SKIP_SHARED }, async () => {
  const ex = limbic('extract', '--model', model, '--out', pack, '--emotions', EMOTIONS, '--batch-size', '16');
  assert.equal(ex.code, 0, ex.err);
  assert.match(ex.out, /wrote .*pack: 8 emotions x layers 1, 2, 3, 4/);
  assert.match(ex.err, /pass 1: texts/);
  assert.ok(!existsSync(`${pack}.checkpoint.safetensors`), 'checkpoint removed after success');
  const p = VectorPack.load(pack);
  assert.deepEqual(p.emotions, EMOTIONS.split(',').sort());
  assert.equal(p.meta.model.weightsHash.length, 16);
  assert.ok(Object.values(p.meta.residNorms).every((n) => n > 1));

  const info = limbic('pack', 'info', '--vectors', pack, '--json');
  assert.equal(JSON.parse(info.out).corpus.stories, 64);

  const text = 'Tom was very happy. He laughed and played with his new red ball all day.';
  const pr = limbic('probe', '--model', model, '--vectors', pack, '--text', text, '--json', '--html', join(root, 'probe.html'));
  assert.equal(pr.code, 0, pr.err);
  const j = JSON.parse(pr.out);
  assert.equal(j.z.length, j.tokens.length);
  assert.equal(j.z[0].length, 8);
  assert.ok(j.sentences.length >= 2);
  const html = readFileSync(join(root, 'probe.html'), 'utf8');
  assert.match(html, /<svg|<table/);
  assert.ok(!/https?:\/\//.test(html.replace(/http:\/\/www\.w3\.org\/2000\/svg/g, '')), 'self-contained page');
  const plain = limbic('probe', '--model', model, '--vectors', pack, '--text', text, '--emotions', 'happy,sad');
  assert.match(plain.out, /== happy ==/);
  assert.match(plain.out, /top emotions per sentence/);
  const chat = limbic('probe', '--model', model, '--vectors', pack, '--text', text, '--chat');
  assert.equal(chat.code, 1);
  assert.match(chat.err, /no chat template/);
  const badLayer = limbic('probe', '--model', model, '--vectors', pack, '--text', text, '--layer', '0');
  assert.match(badLayer.err, /layer 0 is not in this pack/);

  const ex2 = limbic('pack', 'export-gguf', '--vectors', pack, '--out-dir', join(root, 'cv'), '--emotions', 'happy,calm');
  assert.equal(ex2.code, 0, ex2.err);
  const cv = await readControlVectorGguf(join(root, 'cv', 'happy.gguf'));
  assert.deepEqual([...cv.layers.keys()].sort(), [1, 2, 3, 4]);
  const v3 = cv.layers.get(3)!;
  const n3 = Math.hypot(...v3);
  assert.ok(Math.abs(n3 - p.residNorm(3)) < 1e-3 * n3, 'exported at the residual-norm scale');
  const u = p.unit('happy', 3);
  assert.ok(v3.every((x, i) => Math.abs(x / n3 - u[i]!) < 1e-5));

  // analyze: geometry vs the Warriner norms, layer sweep on held-out stories, logit lens, report.
  const report = join(root, 'report.html');
  const an = limbic('analyze', '--vectors', pack, '--model', model, '--norms', join(SHARED, 'data/warriner-2013/Ratings_Warriner_et_al.csv'), '--k', '3', '--json', '--html', report);
  assert.equal(an.code, 0, an.err);
  const a = JSON.parse(an.out);
  const text2 = JSON.stringify(a);
  assert.ok(existsSync(report) && readFileSync(report, 'utf8').includes('<svg'), 'HTML report with plots');
  assert.match(text2, /pearson|spearman/i);
  assert.ok(a.pca.pc1Valence && a.pca.pc1Valence.n === 8, 'valence correlation computed on the 8 covered words');
  console.log(`# stories260K, 8 emotions, Warriner norms: PC1~valence ${JSON.stringify(a.pca.pc1Valence)}, PC2~arousal ${JSON.stringify(a.pca.pc2Arousal)}`);
  const plainAn = limbic('analyze', '--vectors', pack, '--norms', join(SHARED, 'data/warriner-2013/Ratings_Warriner_et_al.csv'), '--k', '3');
  assert.equal(plainAn.code, 0, plainAn.err);
  assert.match(plainAn.out, /valence/i);
  console.log(plainAn.out.split('\n').filter((l) => /valence|arousal|PC1|PC2/i.test(l)).map((l) => `# ${l}`).join('\n'));
});
