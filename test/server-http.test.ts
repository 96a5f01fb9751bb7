// The monitor server's HTTP edges on a tiny random model: bad input answered with OpenAI-style
// error bodies (malformed JSON, unknown emotions, bad steering, n=2, oversized bodies, max_tokens
// over the limit), bearer-token auth, the Host check, /metrics in Prometheus text format, the trace
// list and replay (SQLite and JSONL stores), the dashboard's static files without directory
// traversal, and a slow streaming client that is dropped without holding up the generation loop.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import OpenAI from 'openai';
import type { Model } from '../src/engine/model.ts';
import { SseWriter } from '../src/server/sse.ts';
import { JsonlTraceStore, SqliteTraceStore, type TraceRecord } from '../src/server/traces.ts';
import type { VectorPack } from '../src/vectors/pack.ts';
import { serve, syntheticPack, tempRoot, tinyChatModel, type Fixture } from './server-fixture.ts';

let root: string;
let model: Model;
let pack: VectorPack;
let fx: Fixture;
let web: string;

before(async () => {
  root = tempRoot('limbic-srv-http-');
  model = await tinyChatModel(root, 512);
  pack = await syntheticPack(model, [1]);
  web = join(root, 'web', 'dist');
  mkdirSync(join(web, 'assets'), { recursive: true });
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>dash</title>');
  writeFileSync(join(web, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(web, 'assets', 'app.css'), 'body{}');
  writeFileSync(join(root, 'web', 'secret.txt'), 'SECRET');
  symlinkSync(join(root, 'web', 'secret.txt'), join(web, 'link.txt'));
  fx = await serve(root, model, pack, { webDir: web, limits: { maxTokens: 64 }, maxBody: 64 * 1024, rules: [{ id: 'calm-any', emotion: 'calm', kind: 'threshold', value: -1000, window: 8 }] });
});

after(async () => {
  await fx.srv.close();
  fx.traces.close();
  await model.dispose();
});

async function post(path: string, body: string, headers: Record<string, string> = { 'Content-Type': 'application/json' }, base = fx.srv.url): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

function assertErrorBody(r: { status: number; json: any }, status: number, code: string, param?: string | null): void {
  assert.equal(r.status, status, JSON.stringify(r.json));
  const e = r.json.error;
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0);
  assert.equal(typeof e.type, 'string');
  assert.ok('param' in e && 'code' in e);
  assert.equal(e.code, code);
  if (param !== undefined) assert.equal(e.param, param);
}

const ok = { model: 'x', prompt: 'Hello', max_tokens: 2 };

test('bad requests get 4xx with OpenAI error bodies naming the field', async () => {
  assertErrorBody(await post('/v1/completions', '{"prompt": "hi",'), 400, 'invalid_json', null);
  assertErrorBody(await post('/v1/completions', '[1, 2]'), 400, 'invalid_value');
  assertErrorBody(await post('/v1/completions', JSON.stringify({ ...ok, limbic: { emotions: ['calm', 'ecstatic'] } })), 400, 'unknown_emotion', 'limbic.emotions[1]');
  assertErrorBody(await post('/v1/completions', JSON.stringify({ ...ok, limbic: { steer: { calm: 'lots' } } })), 400, 'invalid_value', 'limbic.steer.calm');
  assertErrorBody(await post('/v1/completions', JSON.stringify({ ...ok, limbic: { steer: { calm: 7 } } })), 400, 'invalid_value', 'limbic.steer.calm');
  assertErrorBody(await post('/v1/completions', JSON.stringify({ ...ok, limbic: { steer: { joy: 0.1 } } })), 400, 'unknown_emotion', 'limbic.steer.joy');
  assertErrorBody(await post('/v1/completions', JSON.stringify({ ...ok, limbic: { steer: [0.1] } })), 400, 'invalid_value', 'limbic.steer');
  assertErrorBody(await post('/v1/completions', JSON.stringify({ ...ok, limbic: { layer: 0 } })), 400, 'invalid_value', 'limbic.layer');
  assertErrorBody(await post('/v1/completions', JSON.stringify({ ...ok, limbic: { rules: [{ id: 'r', emotion: 'calm', kind: 'spike', value: 1 }] } })), 400, 'invalid_value', 'limbic.rules[0].kind');
  assertErrorBody(await post('/v1/completions', JSON.stringify({ ...ok, limbic: { rules: [{ id: 'r', emotion: 'glee', value: 1 }] } })), 400, 'unknown_emotion', 'limbic.rules[0].emotion');
  assertErrorBody(await post('/v1/completions', JSON.stringify({ ...ok, limbic: { regulate: { emotion: 'calm', strength: 0.1, when: 'nope' } } })), 400, 'invalid_value', 'limbic.regulate.when');
  assertErrorBody(await post('/v1/completions', JSON.stringify({ ...ok, n: 2 })), 400, 'unsupported_value', 'n');
  assertErrorBody(await post('/v1/completions', JSON.stringify({ ...ok, max_tokens: 65 })), 400, 'max_tokens_exceeded', 'max_tokens');
  assertErrorBody(await post('/v1/completions', JSON.stringify({ ...ok, temperature: -1 })), 400, 'invalid_value', 'temperature');
  assertErrorBody(await post('/v1/completions', JSON.stringify({ model: 'x' })), 400, 'missing_field', 'prompt');
  assertErrorBody(await post('/v1/chat/completions', JSON.stringify({ model: 'x', messages: [{ role: 'wizard', content: 'hi' }] })), 400, 'invalid_value', 'messages[0].role');
  assertErrorBody(await post('/v1/completions', JSON.stringify({ ...ok, prompt: 'word '.repeat(600) })), 400, 'context_length_exceeded', 'prompt');
  assertErrorBody(await post('/v1/completions', JSON.stringify({ ...ok, prompt: 'x'.repeat(70 * 1024) })), 413, 'body_too_large');
  assertErrorBody(await post('/v1/completions', JSON.stringify(ok), { 'Content-Type': 'text/plain' }), 415, 'unsupported_media_type');
  const get = await fetch(`${fx.srv.url}/v1/completions`);
  assert.equal(get.status, 405);
  assertErrorBody({ status: 404, json: await (await fetch(`${fx.srv.url}/v1/nothing`)).json() }, 404, 'not_found');
  // The official client surfaces these as typed errors with the server's code and param.
  const client = new OpenAI({ baseURL: `${fx.srv.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  await assert.rejects(client.completions.create({ ...ok, n: 2 }), (e: unknown) => e instanceof OpenAI.BadRequestError && e.code === 'unsupported_value' && e.param === 'n');
  await assert.rejects(client.completions.create({ ...ok, limbic: { emotions: ['glee'] } } as never), (e: unknown) => e instanceof OpenAI.BadRequestError && e.code === 'unknown_emotion');
  // The server still works afterwards.
  assert.equal((await post('/v1/completions', JSON.stringify(ok))).status, 200);
});

test('a Host header that is not loopback is refused (DNS rebinding)', async () => {
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${fx.srv.url}/v1/models`, { headers: { Host: 'evil.example.com' } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 421);
});

test('bearer-token auth: missing or wrong token 401, right token works, /health stays open', async () => {
  const authed = await serve(root, model, pack, { authToken: 's3cret-token' });
  try {
    const url = authed.srv.url;
    const missing = await post('/v1/completions', JSON.stringify(ok), { 'Content-Type': 'application/json' }, url);
    assertErrorBody(missing, 401, 'invalid_api_key');
    assert.equal(missing.json.error.type, 'authentication_error');
    const wrong = await fetch(`${url}/v1/models`, { headers: { Authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    assert.equal((await fetch(`${url}/metrics`)).status, 401);
    assert.equal((await fetch(`${url}/v1/traces`)).status, 401);
    assert.equal((await fetch(`${url}/health`)).status, 200);
    const bad = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'wrong', maxRetries: 0 });
    await assert.rejects(bad.models.list(), (e: unknown) => e instanceof OpenAI.AuthenticationError);
    const good = new OpenAI({ baseURL: `${url}/v1`, apiKey: 's3cret-token', maxRetries: 0 });
    const r = await good.completions.create(ok);
    assert.equal(r.choices.length, 1);
  } finally {
    await authed.srv.close();
    authed.traces.close();
  }
});

test('/metrics: Prometheus text with the documented families and labels', async () => {
  await post('/v1/completions', JSON.stringify(ok));
  await post('/v1/completions', '{');
  const res = await fetch(`${fx.srv.url}/metrics`);
  assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const families = new Map<string, string>();
  for (const line of text.trimEnd().split('\n')) {
    const m = /^# TYPE (\S+) (counter|gauge)$/.exec(line);
    if (m) families.set(m[1]!, m[2]!);
    else if (!line.startsWith('# HELP ')) assert.match(line, /^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+-]+$/, `sample line: ${line}`);
  }
  assert.deepEqual(Object.fromEntries(families), {
    limbic_tokens_total: 'counter',
    limbic_tokens_per_second: 'gauge',
    limbic_queue_depth: 'gauge',
    limbic_requests_total: 'counter',
    limbic_alerts_total: 'counter',
    limbic_monitor_overhead_seconds: 'counter',
  });
  const value = (re: RegExp) => Number(re.exec(text)?.[1]);
  assert.ok(value(/^limbic_tokens_total (\S+)$/m) >= 2);
  assert.ok(value(/^limbic_requests_total\{endpoint="\/v1\/completions",status="200"\} (\S+)$/m) >= 1);
  assert.ok(value(/^limbic_requests_total\{endpoint="\/v1\/completions",status="400"\} (\S+)$/m) >= 1);
  assert.ok(value(/^limbic_alerts_total\{rule="calm-any"\} (\S+)$/m) >= 1, 'the server rule fired');
  assert.ok(value(/^limbic_monitor_overhead_seconds (\S+)$/m) > 0);
  assert.ok(value(/^limbic_tokens_per_second (\S+)$/m) > 0);
});

test('/v1/traces lists newest first with paging; /v1/traces/:id replays a stream in order', async () => {
  const stream = await fetch(`${fx.srv.url}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ...ok, max_tokens: 6, stream: true, limbic: { emotions: ['sad'] } }) });
  assert.match(stream.headers.get('content-type')!, /^text\/event-stream/);
  const raw = await stream.text();
  assert.ok(raw.endsWith('data: [DONE]\n\n'));
  const events = raw.split('\n\n').filter(Boolean);
  assert.ok(events.every((e) => e.startsWith('data: ')), 'OpenAI framing only');
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)));
  const id = chunks[0].limbic.trace_id as string;
  const list = await (await fetch(`${fx.srv.url}/v1/traces?limit=2`)).json();
  assert.equal(list.object, 'list');
  assert.equal(list.data.length, 2);
  assert.equal(list.data[0].id, id, 'newest first');
  assert.ok(list.total >= 3);
  const page2 = await (await fetch(`${fx.srv.url}/v1/traces?limit=2&offset=1`)).json();
  assert.equal(page2.data[0].id, list.data[1].id);
  assert.equal((await fetch(`${fx.srv.url}/v1/traces?limit=0`)).status, 400);
  const tr = (await (await fetch(`${fx.srv.url}/v1/traces/${id}`)).json()) as TraceRecord;
  assert.equal(tr.prompt, 'Hello');
  assert.equal(tr.status, 'complete');
  assert.deepEqual(tr.params, { max_tokens: 6, temperature: 1, top_p: null, seed: 0, stop: [] });
  const streamedTokens = chunks.filter((c) => c.limbic?.readouts).map((c) => c.limbic);
  assert.deepEqual(tr.tokens.map((t) => [t.index, t.position, t.token_id, t.text, t.readouts]), streamedTokens.map((l) => [l.index, l.position, l.token_id, l.text, l.readouts]));
  assert.ok(tr.tokens.every((t, i) => t.z.length === pack.emotions.length && (i === 0 || t.t_ms >= tr.tokens[i - 1]!.t_ms)));
  assert.deepEqual(tr.alerts.map((a) => a.rule), ['calm-any']);
  assert.equal((await fetch(`${fx.srv.url}/v1/traces/tr_0000`)).status, 404);
  assert.equal((await fetch(`${fx.srv.url}/v1/traces/..%2F..%2Fetc`)).status, 404);
});

test('JSONL trace store: list, get, reopen; SQLite marks traces left running as interrupted', async () => {
  const dir = join(root, 'jsonl');
  const j = await serve(root, model, pack, { traces: new JsonlTraceStore(dir) });
  let id: string;
  try {
    const r = await post('/v1/completions', JSON.stringify({ ...ok, max_tokens: 3 }), undefined, j.srv.url);
    id = r.json.limbic.trace_id;
    const got = await (await fetch(`${j.srv.url}/v1/traces/${id}`)).json();
    assert.equal(got.tokens.length, 3);
  } finally {
    await j.srv.close();
    j.traces.close();
  }
  const reopened = new JsonlTraceStore(dir);
  assert.equal(reopened.list(10, 0).total, 1);
  assert.equal(reopened.get(id)!.tokens.length, 3);
  const dbPath = join(root, 'crash.sqlite');
  const db = new SqliteTraceStore(dbPath);
  const rec = reopened.get(id)!;
  db.begin({ ...rec, id: 'tr_abc', status: 'running' });
  db.close();
  const again = new SqliteTraceStore(dbPath);
  assert.equal(again.get('tr_abc')!.status, 'interrupted');
  again.close();
});

test('static files: content types, index for /, no traversal or symlink escape; emotions map', async () => {
  const get = async (path: string) => {
    const res = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      // Raw request so the path is sent exactly as written (fetch would normalise "..").
      const req = request({ host: '127.0.0.1', port: fx.srv.port, path, method: 'GET' }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
      });
      req.on('error', reject);
      req.end();
    });
    return res;
  };
  const index = await get('/');
  assert.equal(index.status, 200);
  assert.match(index.type, /^text\/html/);
  assert.match(index.body, /dash/);
  assert.match((await get('/assets/app.js')).type, /^text\/javascript/);
  assert.match((await get('/assets/app.css')).type, /^text\/css/);
  for (const p of ['/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/assets/..%2F..%2Fsecret.txt', '/link.txt', '//etc/passwd', '/%00index.html', '/assets/']) {
    const r = await get(p);
    assert.notEqual(r.status, 200, p);
    assert.ok(!r.body.includes('SECRET'), p);
  }
  const bare = await serve(root, model, pack, { webDir: join(root, 'no-such-dir') });
  try {
    const res = await fetch(`${bare.srv.url}/`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /dashboard has not been built/);
  } finally {
    await bare.srv.close();
    bare.traces.close();
  }
  const map = await (await fetch(`${fx.srv.url}/v1/emotions`)).json();
  assert.deepEqual(map.emotions.map((e: { name: string }) => e.name), pack.emotions);
  assert.ok(map.emotions.every((e: { pc1: number; pc2: number; cluster: number }) => Number.isFinite(e.pc1) && Number.isFinite(e.pc2) && e.cluster >= 0 && e.cluster < 8));
  assert.equal(map.clusters.reduce((s: number, c: { members: string[] }) => s + c.members.length, 0), pack.emotions.length);
  assert.deepEqual(map.watched, ['calm']);
  assert.equal((await fetch(`${fx.srv.url}/v1/emotions?layer=9`)).status, 400);
});

test('SSE writer: a client that stops reading is dropped at the buffer cap, without blocking', () => {
  const stuck = new Writable({ highWaterMark: 16, write: () => undefined }); // never acknowledges a write
  let dropped = 0;
  const w = new SseWriter(stuck as never, 1000, () => dropped++);
  const t0 = performance.now();
  let sent = 0;
  while (w.send({ i: sent, pad: 'x'.repeat(50) })) sent++;
  assert.ok(performance.now() - t0 < 100, 'writes return at once');
  assert.equal(dropped, 1);
  assert.ok(w.overflowed && !w.open && stuck.destroyed);
  assert.ok(sent >= 10 && sent <= 20, `about 1000 bytes were buffered first (${sent} events)`);
  assert.equal(w.send({ late: true }), false);
});

test('a client that never reads does not hold up another one', async () => {
  // A raw socket that sends a streaming request and then stops reading. Its generation must run to
  // the end (writes never wait on its socket), and a request queued behind it must be served.
  const slow = request({ host: '127.0.0.1', port: fx.srv.port, path: '/v1/completions', method: 'POST', headers: { 'Content-Type': 'application/json' } });
  let slowId = '';
  slow.on('response', (res) => {
    res.once('data', (d: Buffer) => (slowId = /"trace_id":"(tr_[0-9a-f]+)"/.exec(d.toString())?.[1] ?? ''));
    setImmediate(() => res.pause());
  });
  slow.on('error', () => undefined);
  slow.end(JSON.stringify({ ...ok, max_tokens: 60, temperature: 0, stream: true, limbic: { top: 8 } }));
  await new Promise((r) => setTimeout(r, 50));
  const other = await post('/v1/completions', JSON.stringify({ ...ok, max_tokens: 4 }));
  assert.equal(other.status, 200);
  assert.ok(slowId, 'the slow client got its first chunk');
  const tr = (await (await fetch(`${fx.srv.url}/v1/traces/${slowId}`)).json()) as TraceRecord;
  assert.equal(tr.status, 'complete');
  assert.ok(tr.tokens.length > 4);
  slow.destroy();
});
