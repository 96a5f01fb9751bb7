// `limbic pull` as a user meets it, against a loopback imitation of the Hub serving a tiny model:
// the download lands in the HF cache layout with a progress report, and the hub id then works as
// --model for the other commands (resolved from the cache, no network), also in offline mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { writeTinyModel } from './helpers/tinyModels.ts';
import { REPO_ROOT } from './util/shared.ts';

const root = mkdtempSync(join(tmpdir(), 'limbic-pull-'));
const modelDir = join(root, 'src');
writeTinyModel('smollm2', modelDir, { chatTemplate: true });
const files = readdirSync(modelDir);
const COMMIT = 'c0ffee'.padEnd(40, '0');

function limbic(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'limbic.mjs'), ...args], { env: { ...process.env, ...env }, cwd: root });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

test('pull downloads into the HF cache; the hub id then works as --model, online and offline', async () => {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const url = req.url ?? '';
    if (url === '/api/models/org/tiny/revision/main') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id: 'org/tiny', sha: COMMIT, siblings: files.map((rfilename) => ({ rfilename })) }));
      return;
    }
    const m = /^\/org\/tiny\/resolve\/([^/]+)\/(.+)$/.exec(url);
    if (m && files.includes(m[2]!)) {
      const body = readFileSync(join(modelDir, m[2]!));
      res.setHeader('etag', `"${createHash('sha256').update(body).digest('hex')}"`);
      res.setHeader('x-repo-commit', COMMIT);
      res.setHeader('content-length', String(body.length));
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    res.statusCode = 404;
    res.end('{"error":"not found"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const hfHome = join(root, 'hf');
  const env = { HF_HOME: hfHome, HF_ENDPOINT: endpoint, HF_TOKEN: '', LIMBIC_CACHE: join(root, 'cache') };
  try {
    const pulled = await limbic(env, 'pull', 'org/tiny');
    assert.equal(pulled.code, 0, pulled.err);
    const snapshot = pulled.out.trim();
    assert.equal(snapshot, join(hfHome, 'hub', 'models--org--tiny', 'snapshots', COMMIT));
    for (const f of files) assert.ok(readFileSync(join(snapshot, f)).equals(readFileSync(join(modelDir, f))), f);
    assert.equal(readFileSync(join(hfHome, 'hub', 'models--org--tiny', 'refs', 'main'), 'utf8').trim(), COMMIT);
    assert.match(pulled.err, /\d/, 'progress printed on stderr');
    const gen = await limbic(env, 'generate', '--model', 'org/tiny', '--prompt', 'hi', '--max-tokens', '3', '--json');
    assert.equal(gen.code, 0, gen.err);
    assert.equal(JSON.parse(gen.out).tokens.length, 3);
    const before = requests.length;
    const offline = await limbic({ ...env, HF_HUB_OFFLINE: '1' }, 'pull', 'org/tiny');
    assert.equal(offline.code, 0, offline.err);
    assert.equal(requests.length, before, 'offline mode made no request');
    const missing = await limbic({ ...env, HF_HUB_OFFLINE: '1' }, 'generate', '--model', 'org/other', '--prompt', 'x');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /limbic pull org\/other/);
    const notFound = await limbic(env, 'pull', 'org/absent');
    assert.equal(notFound.code, 1);
    assert.match(notFound.err, /not found/i);
    assert.ok(!existsSync(join(hfHome, 'hub', 'models--org--absent', 'snapshots')));
  } finally {
    server.close();
  }
});
