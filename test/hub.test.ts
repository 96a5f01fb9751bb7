// Tests for src/engine/hub.ts against a loopback imitation of the Hugging Face Hub: a "hub" server
// (metadata API + resolve URLs, LFS files answered with a 302 carrying X-Linked-Etag/X-Linked-Size)
// and a separate "cdn" server (different origin, Range support, optional dropped connection or
// slow streaming). Checks the huggingface_hub cache layout, caching, resume, auth, errors, offline
// mode, resolveModelPath and abort.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp, readlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import {
  pullModel, resolveModelPath, isHubId, matchGlob, repoCacheDir, hubCacheDir,
  HubAuthError, HubNotFoundError, HubNetworkError, HubOfflineError, HubNoFilesError, HubIntegrityError,
  ModelNotCachedError, ModelPathNotFoundError, InvalidRepoIdError, HubError,
  type PullEvent,
} from '../src/engine/hub.ts';

// ---------------------------------------------------------------------------------------------
// Fake Hub

interface FakeFile { path: string; data: Buffer; lfs: boolean }
interface FakeRepo { revisions: Record<string, string>; files: FakeFile[]; gatedToken?: string }
interface Seen { server: 'hub' | 'cdn'; method: string; url: string; headers: http.IncomingHttpHeaders }

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Buffer): string => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
const commitOf = (s: string): string => createHash('sha1').update(s).digest('hex');

class FakeHub {
  repos = new Map<string, FakeRepo>();
  seen: Seen[] = [];
  /** sha256 -> bytes to send before destroying the socket (once). */
  dropOnce = new Map<string, number>();
  /** Stream CDN bodies slowly (16 kB every 15 ms). */
  slow = false;
  /** sha256 -> replacement body served by the CDN (same length, wrong bytes). */
  corrupt = new Map<string, Buffer>();
  hub = http.createServer((q, s) => this.onHub(q, s));
  cdn = http.createServer((q, s) => this.onCdn(q, s));
  hubUrl = '';
  cdnUrl = '';

  async start(): Promise<void> {
    await Promise.all([this.hub, this.cdn].map((srv) => new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))));
    this.hubUrl = `http://127.0.0.1:${(this.hub.address() as AddressInfo).port}`;
    this.cdnUrl = `http://127.0.0.1:${(this.cdn.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const srv of [this.hub, this.cdn]) { srv.closeAllConnections(); await new Promise((r) => srv.close(r)); }
  }

  count(pred: (s: Seen) => boolean): number { return this.seen.filter(pred).length; }

  private onHub(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.seen.push({ server: 'hub', method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const url = decodeURIComponent(req.url ?? '');
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(url);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url);
    const repoId = api?.[1] ?? resolve?.[1] ?? '';
    const repo = this.repos.get(repoId);
    if (!repo) { res.writeHead(404, { 'x-error-code': 'RepoNotFound' }); res.end(); return; }
    if (repo.gatedToken && req.headers.authorization !== `Bearer ${repo.gatedToken}`) {
      res.writeHead(401, { 'x-error-code': 'GatedRepo', 'x-error-message': 'Access to model is restricted' }); res.end(); return;
    }
    const rev = api?.[2] ?? resolve?.[2] ?? '';
    const commit = repo.revisions[rev] ?? (Object.values(repo.revisions).includes(rev) ? rev : undefined);
    if (!commit) { res.writeHead(404, { 'x-error-code': 'RevisionNotFound' }); res.end(); return; }
    if (api) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: repoId, sha: commit, siblings: repo.files.map((f) => ({ rfilename: f.path })) }));
      return;
    }
    const file = repo.files.find((f) => f.path === resolve?.[3]);
    if (!file) { res.writeHead(404, { 'x-error-code': 'EntryNotFound' }); res.end(); return; }
    if (file.lfs) {
      const h = sha256(file.data);
      res.writeHead(302, {
        location: `${this.cdnUrl}/blob/${h}`, 'x-linked-etag': `"${h}"`, 'x-linked-size': String(file.data.length),
        'x-repo-commit': commit, etag: `"${gitSha1(Buffer.from('pointer'))}"`,
      });
      res.end();
      return;
    }
    this.serveBytes(req, res, file.data, { etag: `"${gitSha1(file.data)}"`, 'x-repo-commit': commit });
  }

  private onCdn(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.seen.push({ server: 'cdn', method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const h = /^\/blob\/([0-9a-f]{64})$/.exec(req.url ?? '')?.[1] ?? '';
    let data: Buffer | undefined;
    for (const r of this.repos.values()) for (const f of r.files) if (f.lfs && sha256(f.data) === h) data = f.data;
    if (!data) { res.writeHead(404); res.end(); return; }
    this.serveBytes(req, res, this.corrupt.get(h) ?? data, { etag: '"cdn-etag"' }, h);
  }

  private serveBytes(req: http.IncomingMessage, res: http.ServerResponse, data: Buffer, headers: Record<string, string>, key = ''): void {
    let start = 0;
    let status = 200;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      start = Number(range[1]);
      if (start >= data.length) { res.writeHead(416, { 'content-range': `bytes */${data.length}` }); res.end(); return; }
      status = 206;
      headers['content-range'] = `bytes ${start}-${data.length - 1}/${data.length}`;
    }
    const body = data.subarray(start);
    res.writeHead(status, { ...headers, 'content-length': String(body.length), 'accept-ranges': 'bytes' });
    if (req.method === 'HEAD') { res.end(); return; }
    const drop = this.dropOnce.get(key);
    if (drop !== undefined) {
      this.dropOnce.delete(key);
      res.write(body.subarray(0, drop), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    if (!this.slow) { res.end(body); return; }
    let off = 0;
    const timer = setInterval(() => {
      if (off >= body.length) { clearInterval(timer); res.end(); return; }
      res.write(body.subarray(off, off + 16_384));
      off += 16_384;
    }, 15);
    res.on('close', () => clearInterval(timer));
  }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const shard1 = randomBytes(300_000);
const shard2 = randomBytes(200_000);
const nested = randomBytes(5_000);
const config = Buffer.from(JSON.stringify({ model_type: 'llama', hidden_size: 64 }));
const tokenizer = Buffer.from(JSON.stringify({ model: { type: 'BPE' } }));
const index = Buffer.from(JSON.stringify({ weight_map: { 'a.weight': 'model-00001-of-00002.safetensors', 'b.weight': 'model-00002-of-00002.safetensors' } }));
const TINY_COMMIT = commitOf('tiny');

function tinyRepo(): FakeRepo {
  return {
    revisions: { main: TINY_COMMIT },
    files: [
      { path: 'README.md', data: Buffer.from('# tiny'), lfs: false },
      { path: 'config.json', data: config, lfs: false },
      { path: 'tokenizer.json', data: tokenizer, lfs: false },
      { path: 'model-00001-of-00002.safetensors', data: shard1, lfs: true },
      { path: 'model-00002-of-00002.safetensors', data: shard2, lfs: true },
      { path: 'model.safetensors.index.json', data: index, lfs: false },
      { path: 'sub/extra.safetensors', data: nested, lfs: true },
      { path: 'pytorch_model.bin', data: randomBytes(1000), lfs: true },
    ],
  };
}
const EXPECTED = ['config.json', 'tokenizer.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors',
  'model.safetensors.index.json', 'sub/extra.safetensors'];

let hub: FakeHub;
let tmp: string;
let cache: string;
const ENV_KEYS = ['HF_HOME', 'HF_TOKEN', 'HF_TOKEN_PATH', 'HF_HUB_OFFLINE', 'HF_ENDPOINT', 'HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE'];
let savedEnv: Record<string, string | undefined> = {};

before(async () => { hub = new FakeHub(); await hub.start(); });
after(async () => { await hub.stop(); });
beforeEach(async () => {
  savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  for (const k of ENV_KEYS) delete process.env[k];
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'limbic-hub-'));
  cache = path.join(tmp, 'cache');
  process.env.HF_HOME = path.join(tmp, 'hf-home'); // never read the real token or cache
  hub.repos.clear();
  hub.repos.set('acme/tiny', tinyRepo());
  hub.seen = [];
  hub.dropOnce.clear();
  hub.corrupt.clear();
  hub.slow = false;
});
afterEach(async () => {
  for (const k of ENV_KEYS) { if (savedEnv[k] === undefined) delete process.env[k]; else process.env[k] = savedEnv[k]; }
  await fsp.rm(tmp, { recursive: true, force: true });
});

const opts = (extra: Parameters<typeof pullModel>[1] = {}): Parameters<typeof pullModel>[1] =>
  ({ cacheDir: cache, endpoint: hub.hubUrl, retryDelayMs: 5, ...extra });

const resolveRequests = (): number => hub.count((s) => s.server === 'cdn' || s.url.includes('/resolve/'));

// ---------------------------------------------------------------------------------------------
// Tests

test('pull writes the huggingface_hub cache layout: blobs by ETag, refs/main, relative snapshot links', async () => {
  const events: PullEvent[] = [];
  const r = await pullModel('acme/tiny', opts({ onProgress: (e) => events.push(e) }));
  const repoDir = path.join(cache, 'models--acme--tiny');
  assert.equal(r.commit, TINY_COMMIT);
  assert.equal(r.dir, path.join(repoDir, 'snapshots', TINY_COMMIT));
  assert.deepEqual(r.files, EXPECTED);
  assert.equal(await fsp.readFile(path.join(repoDir, 'refs', 'main'), 'utf8'), TINY_COMMIT);

  const blobs = (await fsp.readdir(path.join(repoDir, 'blobs'))).sort();
  const want = [sha256(shard1), sha256(shard2), sha256(nested), gitSha1(config), gitSha1(tokenizer), gitSha1(index)].sort();
  assert.deepEqual(blobs, want);

  const expectBytes: Record<string, Buffer> = {
    'config.json': config, 'tokenizer.json': tokenizer, 'model.safetensors.index.json': index,
    'model-00001-of-00002.safetensors': shard1, 'model-00002-of-00002.safetensors': shard2, 'sub/extra.safetensors': nested,
  };
  for (const [f, bytes] of Object.entries(expectBytes)) {
    const p = path.join(r.dir, f);
    const target = readlinkSync(p);
    assert.ok(!path.isAbsolute(target), `${f} link is relative`);
    const blobName = f.endsWith('.safetensors') ? sha256(bytes) : gitSha1(bytes);
    assert.equal(path.resolve(path.dirname(p), target), path.join(repoDir, 'blobs', blobName));
    assert.ok((await fsp.readFile(p)).equals(bytes), `${f} bytes`);
  }
  assert.equal(readlinkSync(path.join(r.dir, 'sub/extra.safetensors')), `../../../blobs/${sha256(nested)}`);
  assert.ok(!(await fsp.readdir(r.dir)).includes('README.md'), 'default include skips README');

  assert.equal(events[0]?.type, 'start');
  const start = events[0] as Extract<PullEvent, { type: 'start' }>;
  assert.equal(start.files.length, 6);
  assert.equal(start.totalBytes, shard1.length + shard2.length + nested.length + config.length + tokenizer.length + index.length);
  assert.deepEqual(events.at(-1), { type: 'done', dir: r.dir });
  assert.equal(events.filter((e) => e.type === 'file-done').length, 6);
  const last = events.filter((e): e is Extract<PullEvent, { type: 'progress' }> => e.type === 'progress').at(-1);
  assert.equal(last?.downloaded, start.totalBytes);
  // Blobs went through the CDN origin (the 302 from X-Linked-Etag responses was followed).
  assert.equal(hub.count((s) => s.server === 'cdn' && s.method === 'GET'), 3);
});

test('second pull downloads nothing; a lost snapshot is relinked from blobs with HEADs only', async () => {
  await pullModel('acme/tiny', opts());
  hub.seen = [];
  const events: PullEvent[] = [];
  const r = await pullModel('acme/tiny', opts({ onProgress: (e) => events.push(e) }));
  assert.equal(resolveRequests(), 0, 'no HEAD or GET of any file');
  assert.deepEqual(events[0], { type: 'start', files: [], totalBytes: 0, cached: 6 });
  assert.deepEqual(r.files, EXPECTED);

  await fsp.rm(r.dir, { recursive: true });
  hub.seen = [];
  await pullModel('acme/tiny', opts());
  assert.equal(hub.count((s) => s.method === 'GET' && (s.server === 'cdn' || s.url.includes('/resolve/'))), 0, 'no GET');
  assert.equal(hub.count((s) => s.method === 'HEAD'), 6);
  assert.ok((await fsp.readFile(path.join(r.dir, 'model-00002-of-00002.safetensors'))).equals(shard2));
});

test('a connection dropped mid-file is resumed with Range and yields identical bytes', async () => {
  hub.dropOnce.set(sha256(shard1), 100_000);
  const r = await pullModel('acme/tiny', opts());
  const gets = hub.seen.filter((s) => s.server === 'cdn' && s.url === `/blob/${sha256(shard1)}`);
  assert.equal(gets.length, 2);
  assert.equal(gets[0]?.headers.range, undefined);
  const m = /^bytes=(\d+)-$/.exec(String(gets[1]?.headers.range));
  assert.ok(m, `second request has a Range header, got ${String(gets[1]?.headers.range)}`);
  assert.ok(Number(m[1]) > 0 && Number(m[1]) <= 100_000, `resume offset ${m[1]} within the bytes sent`);
  assert.ok((await fsp.readFile(path.join(r.dir, 'model-00001-of-00002.safetensors'))).equals(shard1));
  const blobs = await fsp.readdir(path.join(cache, 'models--acme--tiny', 'blobs'));
  assert.ok(!blobs.some((b) => b.endsWith('.incomplete')), 'no partial file left');
});

test('a partial blob left by a killed process is continued from its length', async () => {
  const blobs = path.join(cache, 'models--acme--tiny', 'blobs');
  await fsp.mkdir(blobs, { recursive: true });
  await fsp.writeFile(path.join(blobs, `${sha256(shard2)}.incomplete`), shard2.subarray(0, 12_345));
  const events: PullEvent[] = [];
  const r = await pullModel('acme/tiny', opts({ onProgress: (e) => events.push(e) }));
  const get = hub.seen.find((s) => s.server === 'cdn' && s.url === `/blob/${sha256(shard2)}`);
  assert.equal(get?.headers.range, 'bytes=12345-');
  assert.ok((await fsp.readFile(path.join(r.dir, 'model-00002-of-00002.safetensors'))).equals(shard2));
  const p = events.find((e): e is Extract<PullEvent, { type: 'progress' }> => e.type === 'progress' && e.path.startsWith('model-00002'));
  assert.ok(p && p.fileDownloaded > 12_345, 'progress counts the resumed prefix');
});

test('a corrupt download (SHA-256 mismatch) is rejected and not linked', async () => {
  const bad = Buffer.from(shard2); bad[7] = (bad[7] ?? 0) ^ 0xff;
  hub.corrupt.set(sha256(shard2), bad);
  await assert.rejects(pullModel('acme/tiny', opts()), HubIntegrityError);
  const blobs = await fsp.readdir(path.join(cache, 'models--acme--tiny', 'blobs'));
  assert.ok(!blobs.some((b) => b.startsWith(sha256(shard2))), 'corrupt blob and partial removed');
});

test('Authorization: Bearer is sent to the Hub (from HF_TOKEN, the option, or the token file), never to the CDN', async () => {
  hub.repos.set('acme/gated', { ...tinyRepo(), gatedToken: 'hf_good' });
  process.env.HF_TOKEN = 'hf_good';
  await pullModel('acme/gated', opts());
  const hubReqs = hub.seen.filter((s) => s.server === 'hub');
  assert.ok(hubReqs.length > 0 && hubReqs.every((s) => s.headers.authorization === 'Bearer hf_good'), 'token on every Hub request');
  assert.ok(hub.seen.filter((s) => s.server === 'cdn').every((s) => s.headers.authorization === undefined), 'no token sent to the CDN origin');

  process.env.HF_TOKEN = 'hf_wrong';
  await fsp.rm(cache, { recursive: true });
  hub.seen = [];
  await pullModel('acme/gated', opts({ token: 'hf_good' }));
  assert.equal(hub.seen[0]?.headers.authorization, 'Bearer hf_good');

  delete process.env.HF_TOKEN;
  await fsp.mkdir(process.env.HF_HOME as string, { recursive: true });
  await fsp.writeFile(path.join(process.env.HF_HOME as string, 'token'), 'hf_good\n');
  await fsp.rm(cache, { recursive: true });
  await pullModel('acme/gated', opts());
});

test('401 gives HubAuthError naming HF_TOKEN and gated models; 404 gives HubNotFoundError', async () => {
  hub.repos.set('acme/gated', { ...tinyRepo(), gatedToken: 'hf_good' });
  await assert.rejects(pullModel('acme/gated', opts()), (e: unknown) => {
    assert.ok(e instanceof HubAuthError && e instanceof HubError, `got ${String(e)}`);
    assert.equal(e.name, 'HubAuthError');
    assert.equal(e.status, 401);
    assert.match(e.message, /gated/);
    assert.match(e.hint, /HF_TOKEN/);
    return true;
  });
  await assert.rejects(pullModel('acme/missing', opts()), (e: unknown) =>
    e instanceof HubNotFoundError && e.kind === 'repo' && /acme\/missing/.test(e.message));
  await assert.rejects(pullModel('acme/tiny', opts({ revision: 'nope' })), (e: unknown) =>
    e instanceof HubNotFoundError && e.kind === 'revision' && /nope/.test(e.message));
  await assert.rejects(pullModel('not a repo id', opts()), InvalidRepoIdError);
});

test('network failure says so, and points to offline mode when the model is cached', async () => {
  const dead = http.createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
  await new Promise((r) => dead.close(r));
  await assert.rejects(pullModel('acme/tiny', opts({ endpoint: deadUrl, retries: 1 })), (e: unknown) =>
    e instanceof HubNetworkError && /cannot reach/.test(e.message) && !/set HF_HUB_OFFLINE/.test(e.hint));
  await pullModel('acme/tiny', opts());
  await assert.rejects(pullModel('acme/tiny', opts({ endpoint: deadUrl, retries: 1 })), (e: unknown) =>
    e instanceof HubNetworkError && /HF_HUB_OFFLINE=1/.test(e.hint));
});

test('offline mode resolves from refs/ without any request, and fails clearly when not cached', async () => {
  const noNet = (() => { throw new Error('network used in offline mode'); }) as unknown as typeof fetch;
  await assert.rejects(pullModel('acme/tiny', opts({ offline: true, fetchImpl: noNet })), (e: unknown) => {
    assert.ok(e instanceof HubOfflineError, `got ${String(e)}`);
    assert.match(e.hint, /npx limbic pull acme\/tiny/);
    assert.match(e.message, /refs|models--acme--tiny/);
    return true;
  });
  const online = await pullModel('acme/tiny', opts());
  const r = await pullModel('acme/tiny', opts({ offline: true, fetchImpl: noNet }));
  assert.equal(r.dir, online.dir);
  assert.equal(r.commit, TINY_COMMIT);
  assert.deepEqual(r.files, [...EXPECTED].sort());
  process.env.HF_HUB_OFFLINE = '1';
  const r2 = await pullModel('acme/tiny', opts({ fetchImpl: noNet, include: ['*.json'] }));
  assert.deepEqual(r2.files, ['config.json', 'model.safetensors.index.json', 'tokenizer.json']);
  await assert.rejects(pullModel('acme/tiny', opts({ fetchImpl: noNet, revision: 'dev' })), HubOfflineError);
  // A snapshot whose index names a shard that is not there is reported as incomplete.
  await fsp.rm(path.join(r.dir, 'model-00002-of-00002.safetensors'));
  await assert.rejects(pullModel('acme/tiny', opts({ fetchImpl: noNet })), /incomplete.*model-00002/);
});

test('resolveModelPath: local paths as is, cached hub ids to their snapshot, otherwise named errors', async () => {
  const dir = path.join(tmp, 'local-model');
  await fsp.mkdir(dir);
  const gguf = path.join(tmp, 'm.gguf');
  await fsp.writeFile(gguf, 'GGUF');
  assert.equal(await resolveModelPath(dir), dir);
  assert.equal(await resolveModelPath(gguf), gguf);
  await assert.rejects(resolveModelPath('acme/tiny', { cacheDir: cache }), (e: unknown) =>
    e instanceof ModelNotCachedError && /npx limbic pull acme\/tiny/.test(e.hint));
  await assert.rejects(resolveModelPath('./nowhere/model.gguf', { cacheDir: cache }), ModelPathNotFoundError);
  const r = await pullModel('acme/tiny', opts());
  assert.equal(await resolveModelPath('acme/tiny', { cacheDir: cache }), r.dir);
  process.env.HF_HUB_CACHE = cache;
  assert.equal(await resolveModelPath('acme/tiny'), r.dir);
  assert.equal(hubCacheDir(), cache);
  assert.equal(repoCacheDir('acme/tiny'), path.join(cache, 'models--acme--tiny'));
});

test('isHubId and include globs', () => {
  for (const ok of ['Qwen/Qwen2.5-0.5B-Instruct', 'meta-llama/Llama-3.2-1B', 'gpt2', 'a_b/c.d']) assert.ok(isHubId(ok), ok);
  for (const bad of ['', './model', '/abs/path', 'a/b/c', 'org/-x', 'org/x-', 'a--b/c', 'a/b..c', 'with space/x', 'org/x.git']) {
    assert.ok(!isHubId(bad), bad);
  }
  assert.ok(matchGlob('*.safetensors', 'sub/dir/x.safetensors'));
  assert.ok(matchGlob('*Q8_0.gguf', 'model-Q8_0.gguf'));
  assert.ok(!matchGlob('config.json', 'sub/config.json'));
  assert.ok(matchGlob('onnx/', 'onnx/model.onnx'));
  assert.ok(matchGlob('model-0000[12]-*', 'model-00001-of-2'));
  assert.ok(!matchGlob('model.?', 'model.json'));
});

test('GGUF-only repos need an include; the error suggests one', async () => {
  hub.repos.set('acme/gguf', {
    revisions: { main: commitOf('gguf') },
    files: [
      { path: 'README.md', data: Buffer.from('x'), lfs: false },
      { path: 'tiny-Q4_K_M.gguf', data: randomBytes(2000), lfs: true },
      { path: 'tiny-Q8_0.gguf', data: randomBytes(3000), lfs: true },
    ],
  });
  await assert.rejects(pullModel('acme/gguf', opts()), (e: unknown) =>
    e instanceof HubNoFilesError && e.hint.includes("'*Q8_0.gguf'"));
  const r = await pullModel('acme/gguf', opts({ include: ['*Q8_0.gguf'] }));
  assert.deepEqual(r.files, ['tiny-Q8_0.gguf']);
  assert.equal((await fsp.stat(path.join(r.dir, 'tiny-Q8_0.gguf'))).size, 3000);
});

test('an abort signal stops the download, keeps the partial file and links nothing', async () => {
  hub.slow = true;
  const ac = new AbortController();
  const p = pullModel('acme/tiny', opts({
    include: ['model-00001-of-00002.safetensors'],
    onProgress: (e) => { if (e.type === 'progress') ac.abort(); },
    signal: ac.signal,
  }));
  await assert.rejects(p, (e: unknown) => e instanceof Error && e.name === 'AbortError');
  const repoDir = path.join(cache, 'models--acme--tiny');
  const blobs = await fsp.readdir(path.join(repoDir, 'blobs'));
  assert.deepEqual(blobs, [`${sha256(shard1)}.incomplete`]);
  const size = (await fsp.stat(path.join(repoDir, 'blobs', blobs[0] as string))).size;
  assert.ok(size > 0 && size < shard1.length, `partial size ${size}`);
  await assert.rejects(fsp.access(path.join(repoDir, 'snapshots', TINY_COMMIT, 'model-00001-of-00002.safetensors')));
  await assert.rejects(fsp.access(path.join(repoDir, 'refs', 'main')));
  // Pre-aborted signals fail fast.
  await assert.rejects(pullModel('acme/tiny', opts({ signal: AbortSignal.abort() })), { name: 'AbortError' });
});
