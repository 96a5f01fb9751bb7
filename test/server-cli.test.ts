// `limbic serve` as a user starts it (bin/limbic.mjs in a child process, port 0 on loopback, JSONL
// traces, no rules): it says where it listens, answers, refuses a rules file that names an emotion
// the pack lacks, and shuts down cleanly on SIGTERM with its traces on disk. Also the monitor
// benchmark helper (on vs off in one run) on the tiny model.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Model } from '../src/engine/model.ts';
import { runMonitorBench } from '../src/server/bench.ts';
import type { VectorPack } from '../src/vectors/pack.ts';
import { syntheticPack, tempRoot, tinyChatModel } from './server-fixture.ts';
import { REPO_ROOT } from './util/shared.ts';

let root: string;
let model: Model;
let pack: VectorPack;

before(async () => {
  root = tempRoot('limbic-srv-cli-');
  model = await tinyChatModel(root, 512);
  pack = await syntheticPack(model, [1, 2]);
  pack.save(join(root, 'pack'));
});

after(async () => {
  await model.dispose();
});

const env = () => ({ ...process.env, LIMBIC_CACHE: join(root, 'cache'), LIMBIC_AUTH_TOKEN: '' });

test('limbic serve: listens on loopback, answers, stops on SIGTERM with traces written', async () => {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'limbic.mjs'), 'serve', '--model', join(root, 'model'), '--vectors', join(root, 'pack'), '--port', '0', '--trace-dir', join(root, 'traces'), '--rules', 'none', '--served-model-name', 'tiny'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "listening" line:\n${err}`)), 60_000);
      child.stderr.on('data', () => {
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.on('exit', () => reject(new Error(`exited early:\n${err}`)));
    });
    assert.match(err, /0 rules/);
    assert.doesNotMatch(err, /WARNING/);
    const health = await (await fetch(`${url}/health`)).json();
    assert.equal(health.model, 'tiny');
    const res = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 'tiny', prompt: 'Hi', max_tokens: 3 }) });
    assert.equal(res.status, 200);
    const id = (await res.json()).limbic.trace_id;
    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
    assert.match(err, /shutting down/);
    const lines = readFileSync(join(root, 'traces', 'traces.jsonl'), 'utf8').trim().split('\n');
    assert.equal(JSON.parse(lines.at(-1)!).id, id);
  } finally {
    child.kill('SIGKILL');
  }
});

test('limbic serve refuses a rules file on an emotion the pack lacks, and bad usage', () => {
  const rules = join(root, 'rules.json');
  writeFileSync(rules, JSON.stringify({ rules: [{ id: 'x', emotion: 'ecstatic', kind: 'threshold', value: 2 }] }));
  const run = (...args: string[]) => spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'limbic.mjs'), 'serve', ...args], { env: env(), encoding: 'utf8' });
  const r = run('--model', join(root, 'model'), '--vectors', join(root, 'pack'), '--rules', rules, '--port', '0');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /"ecstatic", which is not in the pack/);
  const both = run('--model', join(root, 'model'), '--vectors', join(root, 'pack'), '--trace-db', 'a', '--trace-dir', 'b');
  assert.equal(both.status, 2);
  assert.match(both.stderr, /--trace-db or --trace-dir, not both/);
  assert.match(run('--help').stdout, /usage: limbic serve/);
});

test('runMonitorBench measures decode speed with the monitor on and off in one run', async () => {
  const r = await runMonitorBench(model, pack, { maxTokens: 12, reps: 1 });
  assert.equal(r.tokens, 11);
  assert.ok(r.tokensPerSecondOn > 0 && r.tokensPerSecondOff > 0);
  assert.ok(Math.abs(r.overheadPerToken - (1 / r.tokensPerSecondOn - 1 / r.tokensPerSecondOff)) < 1e-9);
  assert.ok(r.readoutPerToken > 0 && r.readoutPerToken < 0.05);
});
