// `limbic analyze` as a user meets it: the summary and the HTML report from a saved planted pack,
// --json (with a tiny model: layer sweep, logit lens, intensity), and the error messages and exit
// codes for a missing pack, a layer or emotion not in the pack, a bad norms file and bad flags.
// Three runs go through `node bin/limbic.mjs` (spawnSync); the other error cases call main() in-process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.ts';
import { plantedPack } from '../src/experiments/analysis/planted.ts';
import { writeTinyModel } from './helpers/tinyModels.ts';
import { REPO_ROOT } from './util/shared.ts';

const root = mkdtempSync(join(tmpdir(), 'limbic-analyze-cli-'));
const env = { ...process.env, LIMBIC_CACHE: join(root, 'cache'), NO_COLOR: '1' };
function limbic(...args: string[]) {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'limbic.mjs'), ...args], { encoding: 'utf8', env, cwd: root });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Runs the CLI in-process, capturing stderr (stdout belongs to the test reporter, so these runs must not print there). */
async function limbicInProcess(...args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const ew = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, err };
  } finally {
    process.stderr.write = ew;
  }
}

const packDir = join(root, 'pack');
const planted = plantedPack({ dModel: 32, nLayers: 4, layers: [1, 2, 3] });
planted.pack.save(packDir);
const normsPath = join(root, 'norms.csv');
writeFileSync(normsPath, planted.normsCsv);

test('summary on stdout and a self-contained HTML report', () => {
  const html = join(root, 'out', 'report.html');
  const r = limbic('analyze', '--vectors', packDir, '--norms', normsPath, '--k', '4', '--html', html);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^pack: planted \(llama, dModel 32\), 24 emotions, layers 1, 2, 3$/m);
  assert.match(r.out, /^analysed layer: 2 \(the pack's default layer\)$/m);
  assert.match(r.out, /^norms: .*norms\.csv \[plain, scale 0\.\.10 \(inferred\) -> 0\.\.1\]: 24\/24 words \(exact 24\)$/m);
  assert.match(r.out, /PC1 ~ valence: r = (0\.9\d|1\.00), rho = (0\.9\d|1\.00) \(n = 24\)/);
  assert.match(r.out, /PC2 ~ arousal: r = (0\.9\d|1\.00)/);
  assert.match(r.out, /^clusters \(k = 4, seed 1, best of 5 starts, silhouette 0\.\d\d\), by mean PC1:$/m);
  assert.match(r.out, /named groups kept together: peaceful contentment 1\.00/);
  assert.match(r.out, /note: no model given/);
  assert.match(r.out, /^report: .*report\.html \(\d+(\.\d+)? kB\)$/m);
  const page = readFileSync(html, 'utf8');
  assert.doesNotMatch(page, /https?:\/\//);
  assert.ok((page.match(/<svg[\s>]/g) ?? []).length >= 4);
});

test('--json with a tiny model: sweep, logit lens and intensity in one parseable object', () => {
  const tiny = join(root, 'tiny');
  writeTinyModel('llama', tiny, { chatTemplate: true });
  const tp = plantedPack({ dModel: 64, nLayers: 3, layers: [1, 2] });
  const tinyPack = join(root, 'tiny-pack');
  tp.pack.save(tinyPack);
  const r = limbic('analyze', '--vectors', tinyPack, '--model', tiny, '--norms', normsPath, '--stories', '6', '--intensity', '--emotions', 'afraid,calm', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.format, 'limbic-analysis');
  assert.equal(j.layerSweep.stories, 6);
  assert.ok([1, 2].includes(j.layer) && j.layerSource === 'sweep');
  assert.equal(j.logitLens.entries.length, 2);
  assert.deepEqual(j.intensity.emotions, ['afraid', 'calm']);
  assert.equal(j.intensity.format, 'chat');
  assert.ok(j.pca.pc1Valence.pearson > 0.9);
  assert.match(r.err, /layer sweep \(2 layers\)/, 'progress on stderr');
});

test('a missing pack exits 1 with a hint', () => {
  const r = limbic('analyze', '--vectors', join(root, 'nope'));
  assert.equal(r.code, 1);
  assert.match(r.err, /^limbic analyze: .*nope is not a vector pack \(needs pack\.json and vectors\.safetensors\)\n  hint: make one with npx limbic extract/);
  assert.equal(r.out, '');
});

test('usage errors exit 2; bad norms exit 1 with file:line', async () => {
  let r = await limbicInProcess('analyze');
  assert.equal(r.code, 2);
  assert.match(r.err, /--vectors is required/);
  r = await limbicInProcess('analyze', '--vectors', packDir, '--layer', '7');
  assert.equal(r.code, 2);
  assert.match(r.err, /layer 7 is not in the pack .*\n  hint: the pack has layers 1, 2, 3/);
  r = await limbicInProcess('analyze', '--vectors', packDir, '--emotions', 'happy,hapy');
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown emotion "hapy" in --emotions\n  hint: did you mean happy\?/);
  r = await limbicInProcess('analyze', '--vectors', packDir, '--intensity');
  assert.equal(r.code, 2);
  assert.match(r.err, /--intensity needs --model/);
  r = await limbicInProcess('analyze', '--vectors', packDir, '--skip', 'geometry');
  assert.equal(r.code, 2);
  assert.match(r.err, /--skip: unknown stage "geometry"/);
  r = await limbicInProcess('analyze', '--vectors', packDir, '--k', '0');
  assert.equal(r.code, 2);
  const bad = join(root, 'bad.csv');
  writeFileSync(bad, 'word,valence,arousal\nhappy,8,6\nsad,very low,2\n');
  r = await limbicInProcess('analyze', '--vectors', packDir, '--norms', bad);
  assert.equal(r.code, 1);
  assert.match(r.err, /bad\.csv:3: valence "very low" of "sad" is not a number\n  hint:/);
  r = await limbicInProcess('analyze', '--vectors', packDir, '--norms', join(root, 'missing.csv'));
  assert.equal(r.code, 1);
  assert.match(r.err, /missing\.csv: cannot read the norms file \(ENOENT\)/);
  assert.ok(!existsSync(join(root, 'report.html')));
});
