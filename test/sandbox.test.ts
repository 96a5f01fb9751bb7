// The sandbox for model-written code: a normal program passes with its output captured; a runaway
// loop is killed at the wall-clock limit; network use (fetch, net.connect, http.get), process
// spawning and worker threads fail with a recorded 'blocked' result even when the program catches
// the error; writes outside the working directory are refused; heap and buffer bombs are stopped;
// the environment is empty; output is capped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { excerpt, runInSandbox, SandboxError } from '../src/experiments/behaviour/sandbox.ts';

const run = (code: string, opts: Parameters<typeof runInSandbox>[2] = {}) => runInSandbox({ 'main.mjs': code }, 'main.mjs', { timeoutMs: 5000, ...opts });

test('sandbox: a normal program passes, with stdout, stderr and exit status recorded', async () => {
  const r = await runInSandbox(
    { 'main.mjs': "import { add } from './lib/add.mjs';\nconsole.log(add(2, 3));\nconsole.error('note');", 'lib/add.mjs': 'export const add = (a, b) => a + b;' },
    'main.mjs',
  );
  assert.equal(r.status, 'passed');
  assert.ok(r.ok);
  assert.equal(r.exitCode, 0);
  assert.equal(r.stdout, '5\n');
  assert.equal(r.stderr, 'note\n');
  assert.deepEqual(r.blocked, []);
  assert.ok(!existsSync(r.dir), 'the temporary directory is removed');

  const fail = await run("console.log('1/2 passed'); process.exit(3);");
  assert.equal(fail.status, 'failed');
  assert.equal(fail.exitCode, 3);
  assert.equal(fail.stdout, '1/2 passed\n');
  const thrown = await run("throw new Error('boom')");
  assert.equal(thrown.status, 'failed');
  assert.match(thrown.stderr, /Error: boom/);
});

test('sandbox: a runaway loop is killed at the timeout', async () => {
  const t0 = performance.now();
  const r = await run('let i = 0; for (;;) i++;', { timeoutMs: 1200 });
  const ms = performance.now() - t0;
  assert.equal(r.status, 'timeout');
  assert.equal(r.ok, false);
  assert.equal(r.signal, 'SIGKILL');
  assert.ok(r.durationMs >= 1150 && ms < 6000, `killed after ${r.durationMs} ms`);
  // A loop that never prints and awaits forever is killed the same way.
  const idle = await run('await new Promise(() => setInterval(() => {}, 1000));', { timeoutMs: 800 });
  assert.equal(idle.status, 'timeout');
});

test('sandbox: network, process spawning and workers are blocked and recorded', async () => {
  const cases: [string, string, RegExp][] = [
    ['fetch', "await fetch('http://127.0.0.1:9/');", /^fetch$/],
    ['net.connect', "import { connect } from 'node:net'; connect(9, '127.0.0.1');", /^net\.connect$/],
    ['net default', "import net from 'node:net'; net.createConnection({ port: 9 });", /^net\.createConnection$/],
    ['http.get', "import http from 'node:http'; http.get('http://127.0.0.1:9/');", /^http\.get$/],
    ['https.request', "import https from 'node:https'; https.request('https://127.0.0.1:9/');", /^https\.request$/],
    ['dns', "import dns from 'node:dns'; dns.lookup('localhost', () => {});", /^dns\.lookup$/],
    ['child_process', "import { execSync } from 'node:child_process'; execSync('echo hi');", /^child_process\.execSync$/],
    ['child_process via require', "import { createRequire } from 'node:module'; createRequire(import.meta.url)('child_process').spawn('ls');", /^child_process\.spawn$/],
    ['dynamic import', "const cp = await import('node:child_process'); cp.exec('ls');", /^child_process\.exec$/],
    ['worker', "import { Worker } from 'node:worker_threads'; new Worker('x');", /^worker_threads\.Worker$/],
    ['process.binding', "process.binding('tcp_wrap');", /^process\.binding$/],
    ['process.kill', 'process.kill(process.ppid);', /^process\.kill$/],
  ];
  for (const [name, code, what] of cases) {
    const r = await run(code);
    assert.equal(r.status, 'blocked', `${name}: ${r.status} ${r.stderr}`);
    assert.equal(r.ok, false);
    assert.ok(r.blocked.some((b) => what.test(b)), `${name}: blocked ${JSON.stringify(r.blocked)}`);
    assert.match(r.stderr, /network\/process blocked in the limbic sandbox/, name);
  }
  // Catching the error does not hide the attempt.
  const sneaky = await run("try { await fetch('http://127.0.0.1:9/'); } catch { console.log('offline, fine'); }\nconsole.log('all tests passed');");
  assert.equal(sneaky.exitCode, 0);
  assert.equal(sneaky.status, 'blocked');
  assert.deepEqual(sneaky.blocked, ['fetch']);
  assert.match(sneaky.stdout, /offline, fine/);
});

test('sandbox: writes stay inside the working directory', async () => {
  const outside = join(tmpdir(), `limbic-sandbox-escape-${process.pid}.txt`);
  rmSync(outside, { force: true });
  const r = await run(`import fs from 'node:fs'; fs.writeFileSync(${JSON.stringify(outside)}, 'x');`);
  assert.equal(r.status, 'blocked');
  assert.match(r.blocked[0]!, /^fs-write fs\.writeFileSync outside the working directory/);
  assert.ok(!existsSync(outside), 'nothing was written outside');
  const up = await run("import { writeFile } from 'node:fs/promises'; await writeFile('../escape.txt', 'x');");
  assert.equal(up.status, 'blocked');
  const stream = await run(`import fs from 'node:fs'; fs.openSync(${JSON.stringify(outside)}, 'w');`);
  assert.equal(stream.status, 'blocked');
  assert.ok(!existsSync(outside));
  const inside = await run("import fs from 'node:fs'; fs.mkdirSync('sub'); fs.writeFileSync('sub/a.txt', 'ok'); console.log(fs.readFileSync('sub/a.txt', 'utf8'));");
  assert.equal(inside.status, 'passed', inside.stderr);
  assert.equal(inside.stdout, 'ok\n');
  await assert.rejects(runInSandbox({ '../x.mjs': '' }, '../x.mjs'), SandboxError);
});

test('sandbox: heap and buffer bombs are stopped as memory failures', async () => {
  const heap = await run('const a = []; for (;;) a.push(new Array(1e6).fill(1.5));', { heapMb: 64 });
  assert.equal(heap.status, 'memory', `${heap.status} ${heap.signal} ${heap.stderr.slice(0, 300)}`);
  assert.equal(heap.ok, false);
  const buffers = await run('const a = []; for (;;) a.push(Buffer.alloc(64 * 1024 * 1024, 1));', { virtualMemoryMb: 1024, timeoutMs: 8000 });
  assert.equal(buffers.status, 'memory', `${buffers.status} ${buffers.signal} ${buffers.stderr.slice(0, 300)}`);
});

test('sandbox: empty environment, no string code generation, capped output', async () => {
  const env = await run('console.log(JSON.stringify(process.env));');
  const seen = JSON.parse(env.stdout) as Record<string, string>;
  assert.equal(seen['NODE_OPTIONS'], '');
  for (const k of ['PATH', 'HOME', 'USER', 'LIMBIC_CACHE']) assert.equal(seen[k], undefined, k);
  const ev = await run("console.log(eval('1 + 1'));");
  assert.equal(ev.status, 'failed');
  assert.match(ev.stderr, /Code generation from strings disallowed/);
  const loud = await run("for (let i = 0; i < 20000; i++) console.log('line ' + i);", { excerptChars: 500, maxOutputBytes: 50_000 });
  assert.equal(loud.status, 'output-limit');
  assert.ok(loud.truncated);
  assert.ok(loud.stdout.length < 700);
  assert.match(loud.stdout, /^line 0\n/);
  assert.match(loud.stdout, /characters cut/);
  assert.equal(excerpt('abcdef', 10), 'abcdef');
});
