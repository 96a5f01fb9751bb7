// The engine's command-line front-end as a user meets it: `limbic generate`, `capture` and `info`
// on generated tiny models and on stories260K, their JSON and safetensors outputs, and their errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile } from '../src/engine/safetensors.ts';
import { writeTinyModel } from './helpers/tinyModels.ts';
import { REPO_ROOT, SHARED, SKIP_SHARED } from './util/shared.ts';

const root = mkdtempSync(join(tmpdir(), 'limbic-cli-'));
const env = { ...process.env, LIMBIC_CACHE: join(root, 'cache'), NO_COLOR: '1' };
function limbic(...args: string[]) {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'limbic.mjs'), ...args], { encoding: 'utf8', env, cwd: root });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const tiny = join(root, 'tiny');
writeTinyModel('llama', tiny, { chatTemplate: true });

test('generate --json on stories260K reproduces the run.c greedy text', { skip: SKIP_SHARED }, () => {
  const ref = JSON.parse(readFileSync(join(SHARED, 'models/stories260K/reference/greedy.json'), 'utf8')).cases[0];
  const r = limbic('generate', '--model', join(SHARED, 'models/stories260K/stories260K.bin'), '--prompt', ref.prompt, '--max-tokens', String(ref.steps + 1 - 5), '--temperature', '0', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.deepEqual(Object.keys(j), ['prompt_tokens', 'tokens', 'text']);
  assert.equal(j.prompt_tokens.length, 5);
  assert.equal(`${ref.prompt}${j.text}\n`, ref.text);
});

test('generate streams plain text, honours --chat, sampling flags and stop strings', () => {
  const a = limbic('generate', '--model', tiny, '--prompt', 'hello', '--max-tokens', '8', '--temperature', '0.9', '--seed', '4', '--json');
  const b = limbic('generate', '--model', tiny, '--prompt', 'hello', '--max-tokens', '8', '--temperature', '0.9', '--seed', '4', '--top-k', '20', '--top-p', '0.9', '--json');
  assert.equal(a.code, 0, a.err);
  assert.equal(b.code, 0, b.err);
  assert.equal(JSON.parse(a.out).tokens.length, 8);
  const again = limbic('generate', '--model', tiny, '--prompt', 'hello', '--max-tokens', '8', '--temperature', '0.9', '--seed', '4', '--json');
  assert.deepEqual(JSON.parse(again.out), JSON.parse(a.out));
  const plain = limbic('generate', '--model', tiny, '--prompt', 'hello', '--max-tokens', '8', '--temperature', '0.9', '--seed', '4');
  assert.equal(plain.out, `hello${JSON.parse(a.out).text}\n`);
  const chat = limbic('generate', '--model', tiny, '--prompt', 'hi', '--chat', '--max-tokens', '3', '--json');
  assert.equal(chat.code, 0, chat.err);
  const promptText = limbic('capture', '--model', tiny, '--text', 'hi', '--chat', '--hook', 'hook_embed', '--json');
  assert.deepEqual(JSON.parse(promptText.out).tokens, JSON.parse(chat.out).prompt_tokens);
});

test('capture --json gives [tokens x dModel] per hook; wildcards; --out writes safetensors', () => {
  const r = limbic('capture', '--model', tiny, '--text', 'abc def', '--hook', 'blocks.*.hook_resid_post', '--hook', 'blocks.0.hook_attn_out', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  const T = j.tokens.length;
  const hooks = Object.keys(j.hooks).sort();
  assert.ok(hooks.includes('blocks.0.hook_attn_out') && hooks.includes('blocks.1.hook_resid_post'));
  for (const h of hooks) {
    assert.equal(j.hooks[h].length, T);
    assert.equal(j.hooks[h][0].length, 64);
  }
  const out = join(root, 'acts.safetensors');
  const w = limbic('capture', '--model', tiny, '--text', 'abc def', '--hook', 'blocks.1.hook_resid_post', '--out', out);
  assert.equal(w.code, 0, w.err);
  const f = new SafetensorsFile(out);
  assert.deepEqual(f.info('blocks.1.hook_resid_post')!.shape, [T, 64]);
  assert.deepEqual(Array.from(f.read('blocks.1.hook_resid_post').subarray(0, 64)), j.hooks['blocks.1.hook_resid_post'][0].map(Math.fround));
  f.close();
});

test('errors: unknown hook suggests names, missing model says what to do, usage errors exit 2', () => {
  const bad = limbic('capture', '--model', tiny, '--text', 'x', '--hook', 'blocks.0.hook_resid_psot');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /unknown hook.*\n.*did you mean blocks\.0\.hook_resid_post/);
  const beyond = limbic('capture', '--model', tiny, '--text', 'x', '--hook', 'blocks.40.hook_resid_post');
  assert.match(beyond.err, /blocks 0\.\.\d/);
  const missing = limbic('generate', '--model', join(root, 'nope'), '--prompt', 'x');
  assert.equal(missing.code, 1);
  assert.match(missing.err, /not found|pull/);
  const usage = limbic('generate', '--model', tiny);
  assert.equal(usage.code, 2);
  assert.match(usage.err, /--prompt is required/);
  const unknownFlag = limbic('generate', '--model', tiny, '--prompt', 'x', '--tempreature', '1');
  assert.equal(unknownFlag.code, 2);
  const info = limbic('info', '--model', tiny, '--json');
  assert.equal(JSON.parse(info.out).config.nLayers, 3);
});
