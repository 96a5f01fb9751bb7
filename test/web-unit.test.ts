// Dashboard logic that runs without a browser: the SSE parser, the API client (against an injected
// fetch), folding stream chunks into a reply, the colour scale, trace replay stepping, the map
// projection and axis helpers; plus the web/ type-check and a production build (offline: no
// external URLs in the output).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SseParser, sseJson } from '../web/src/lib/sse.ts';
import { ApiError, LimbicClient, type StreamChunk, type Trace } from '../web/src/lib/api.ts';
import { applyChunk, chartEmotions, emptyRun, runText, series } from '../web/src/lib/run.ts';
import { NEUTRAL, divergingRgb, luminance, paletteFor, textOn } from '../web/src/lib/colour.ts';
import { TraceReplay } from '../web/src/lib/replay.ts';
import { mapBounds, projectReadouts } from '../web/src/lib/mapPoint.ts';
import { symmetricRange, ticks } from '../web/src/lib/scale.ts';
import { REPO_ROOT } from './util/shared.ts';

// ------------------------------------------------------------------ SSE

const STREAM = ': keep-alive\r\n\r\ndata: {"a":1}\r\n\r\nevent: message\ndata: {"b":\ndata: 2}\n\nid: 7\rdata: [DONE]\r\r';

test('SSE parser: the same events however the stream is split, CRLF/CR/LF line ends, multi-line data, comments', () => {
  const whole = new SseParser().push(STREAM);
  assert.deepEqual(
    whole.map((e) => e.data),
    ['{"a":1}', '{"b":\n2}', '[DONE]'],
  );
  assert.equal(whole[2]!.id, '7');
  for (let cut = 0; cut <= STREAM.length; cut++) {
    for (let cut2 = cut; cut2 <= STREAM.length; cut2 += 5) {
      const p = new SseParser();
      const got = [...p.push(STREAM.slice(0, cut)), ...p.push(STREAM.slice(cut, cut2)), ...p.push(STREAM.slice(cut2))];
      assert.deepEqual(got, whole, `split at ${cut}/${cut2}`);
    }
  }
});

test('SSE parser: an unterminated last event is dropped; a field without colon and one leading space', () => {
  const p = new SseParser();
  assert.deepEqual(p.push('data:  two spaces\n\ndata\n\ndata: tail'), [
    { event: 'message', data: ' two spaces' },
    { event: 'message', data: '' },
  ]);
  assert.deepEqual(p.end(), []);
});

function streamOf(parts: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const p of parts) c.enqueue(enc.encode(p));
      c.close();
    },
  });
}

test('sseJson: parses JSON payloads across byte chunks (split inside a UTF-8 character), stops at [DONE]', async () => {
  const text = 'data: {"t":"héllo ✓"}\n\ndata: {"t":"x"}\n\ndata: [DONE]\n\ndata: {"t":"after"}\n\n';
  const bytes = new TextEncoder().encode(text);
  const cut = text.indexOf('✓') + 2; // inside the 3-byte check mark (é is 2 bytes: index shifts by 1)
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(bytes.slice(0, cut));
      c.enqueue(bytes.slice(cut));
      c.close();
    },
  });
  const got: unknown[] = [];
  for await (const x of sseJson(body)) got.push(x);
  assert.deepEqual(got, [{ t: 'héllo ✓' }, { t: 'x' }]);
  await assert.rejects(async () => {
    for await (const _ of sseJson(streamOf(['data: {oops\n\n']))) void _;
  }, /not JSON/);
});

// ------------------------------------------------------------------ client

function fakeFetch(log: { url: string; init: RequestInit | undefined }[], respond: (url: string) => Response): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    log.push({ url: String(input), init });
    return respond(String(input));
  }) as typeof fetch;
}

test('client: bearer token, chat vs completions endpoint, stream body, errors with hints', async () => {
  const log: { url: string; init: RequestInit | undefined }[] = [];
  const sse = 'data: {"choices":[{"delta":{"content":"Hi"}}],"limbic":{"position":5,"readouts":{"calm":1.5}}}\n\ndata: [DONE]\n\n';
  const client = new LimbicClient('http://127.0.0.1:1', 'sekret', fakeFetch(log, (url) => (url.endsWith('/v1/models') ? new Response('{"error":{"message":"bad token"}}', { status: 401 }) : new Response(sse, { headers: { 'Content-Type': 'text/event-stream' } }))));
  const chunks: StreamChunk[] = [];
  for await (const c of client.stream({ messages: [{ role: 'user', content: 'hello' }], limbic: { steer: { calm: 0.05 } } })) chunks.push(c);
  for await (const c of client.stream({ prompt: 'Once' })) chunks.push(c);
  assert.equal(log[0]!.url, 'http://127.0.0.1:1/v1/chat/completions');
  assert.equal(log[1]!.url, 'http://127.0.0.1:1/v1/completions');
  const headers = log[0]!.init!.headers as Record<string, string>;
  assert.equal(headers['Authorization'], 'Bearer sekret');
  const body = JSON.parse(String(log[0]!.init!.body)) as Record<string, unknown>;
  assert.equal(body['stream'], true);
  assert.deepEqual(body['limbic'], { steer: { calm: 0.05 } });
  assert.equal(chunks.length, 2);
  assert.equal(chunks[0]!.limbic!.readouts!['calm'], 1.5);
  await assert.rejects(client.models(), (err: unknown) => err instanceof ApiError && err.status === 401 && err.message === 'bad token' && /token/.test(err.hint ?? ''));
  client.token = null;
  await client.models().catch(() => undefined);
  assert.equal((log[log.length - 1]!.init!.headers as Record<string, string>)['Authorization'], undefined);
});

// ------------------------------------------------------------------ stream -> reply

function tokenChunk(i: number, text: string, readouts: Record<string, number>): StreamChunk {
  return { choices: [{ index: 0, delta: { content: text }, finish_reason: null }], limbic: { index: i, position: 10 + i, token_id: 100 + i, token: text, text, readouts } };
}

test('applyChunk: header, tokens, alert, regulation engage/release, end; chart emotions follow the watched list', () => {
  const run = emptyRun();
  const chunks: StreamChunk[] = [
    { model: 'tiny', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], limbic: { trace_id: 'tr_1', layer: 3, watched: ['calm', 'desperate'], prompt_tokens: 10 } },
    tokenChunk(0, 'He', { happy: 2.1, calm: 0.5, desperate: -0.2 }),
    tokenChunk(1, 'llo', { sad: 1.9, calm: 1.2, desperate: 2.6 }),
    { choices: [{ index: 0, delta: {}, finish_reason: null }], limbic: { alert: { rule: 'd', kind: 'threshold', emotion: 'desperate', value: 2.6, threshold: 2, position: 11, index: 1, message: 'desperate z 2.6 > 2' } } },
    { choices: [{ index: 0, delta: {}, finish_reason: null }], limbic: { regulation: { emotion: 'calm', strength: 0.05, rule: 'd', mode: 'while', from_position: 12, to_position: null, active: true } } },
    tokenChunk(2, '', { calm: 0.1, desperate: 1.0 }),
    { choices: [{ index: 0, delta: {}, finish_reason: null }], limbic: { regulation: { emotion: 'calm', strength: 0.05, rule: 'd', mode: 'while', from_position: 12, to_position: 13, active: false } } },
    { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], limbic: { done: { trace_id: 'tr_1', tokens: 3, alerts: 1 } } },
  ];
  const effects = chunks.map((c) => applyChunk(run, c));
  assert.equal(run.tokens.length, 3, 'header, alert, regulation and end chunks add no tokens');
  assert.deepEqual(
    run.tokens.map((t) => [t.text, t.position, t.tokenId]),
    [
      ['He', 10, 100],
      ['llo', 11, 101],
      ['', 12, 102],
    ],
  );
  assert.equal(runText(run), 'Hello');
  assert.equal(run.traceId, 'tr_1');
  assert.equal(run.model, 'tiny');
  assert.deepEqual(run.watched, ['calm', 'desperate']);
  assert.equal(run.alerts.length, 1);
  assert.equal(effects[3]!.alert!.emotion, 'desperate');
  assert.equal(run.regulation.length, 1, 'the release closes the engaged entry');
  assert.equal(run.regulation[0]!.to_position, 13);
  assert.equal(run.finishReason, 'stop');
  assert.deepEqual(chartEmotions(run, ['desperate']), ['desperate', 'calm']);
  assert.deepEqual(series(run.tokens, 'happy').map((v) => (Number.isNaN(v) ? null : v)), [2.1, null, null]);
  const errRun = emptyRun();
  assert.equal(applyChunk(errRun, { error: { message: 'boom', hint: 'try less' } }).error, 'boom — try less');
});

test('chartEmotions without a watched list: the emotions every token carries', () => {
  const run = emptyRun();
  applyChunk(run, tokenChunk(0, 'a', { x: 1, y: 2 }));
  applyChunk(run, tokenChunk(1, 'b', { x: 1, z: 2 }));
  assert.deepEqual(chartEmotions(run), ['x']);
});

// ------------------------------------------------------------------ colour

test('diverging scale: neutral at 0, RdBu ends at +-zMax, clamped, lighter towards 0 on both sides, red above / blue below', () => {
  assert.deepEqual(divergingRgb(0), NEUTRAL);
  assert.deepEqual(divergingRgb(3), [178, 24, 43]);
  assert.deepEqual(divergingRgb(-3), [33, 102, 172]);
  assert.deepEqual(divergingRgb(99), divergingRgb(3));
  assert.deepEqual(divergingRgb(-1e9), divergingRgb(-3));
  assert.deepEqual(divergingRgb(NaN), NEUTRAL);
  assert.deepEqual(divergingRgb(undefined), NEUTRAL);
  assert.deepEqual(divergingRgb(0.5), [250, 233, 223], 'halfway between #f7f7f7 and #fddbc7');
  assert.deepEqual(divergingRgb(2, 2), divergingRgb(3, 3), 'zMax rescales');
  for (let z = 0.25; z <= 3; z += 0.25) {
    const up = divergingRgb(z);
    const down = divergingRgb(-z);
    assert.ok(luminance(up) < luminance(divergingRgb(z - 0.25)), `lighter towards 0 at +${z}`);
    assert.ok(luminance(down) < luminance(divergingRgb(-z + 0.25)), `lighter towards 0 at -${z}`);
    assert.ok(up[0] > up[2], `red above 0 at ${z}`);
    assert.ok(down[2] > down[0], `blue below 0 at -${z}`);
  }
  assert.equal(textOn(divergingRgb(3)), '#fff');
  assert.equal(textOn(divergingRgb(-3)), '#fff');
  assert.equal(textOn(NEUTRAL), '#111');
});

test('cluster palette: one colour per distinct key, independent of order', () => {
  const a = paletteFor([2, 0, 1, 0, 10]);
  const b = paletteFor([10, 1, 2, 0]);
  assert.deepEqual([...a], [...b]);
  assert.equal(a.size, 4);
  assert.equal(new Set(a.values()).size, 4);
  assert.deepEqual([...a.keys()], ['0', '1', '2', '10']);
});

// ------------------------------------------------------------------ replay

const TRACE: Trace = {
  id: 'tr_9',
  model: 'tiny',
  emotions: ['calm', 'desperate', 'happy'],
  watched: ['desperate', 'calm'],
  tokens: [0, 1, 2, 3, 4].map((i) => ({ index: i, position: 20 + i, token_id: i, text: `t${i} `, readouts: { calm: -i, desperate: i, happy: 0.5 }, z: [-i, i, 0.5] })),
  alerts: [
    { rule: 'd', emotion: 'desperate', value: 2, position: 22, message: 'desperate high' },
    { rule: 'd2', emotion: 'desperate', value: 4, position: 24, message: 'desperate very high' },
  ],
  regulation: [{ emotion: 'calm', strength: 0.05, from_position: 23, to_position: 25 }],
};

test('trace replay: stepping reveals tokens, alerts and regulation at their positions; seek clamps', () => {
  const r = new TraceReplay(TRACE);
  assert.equal(r.length, 5);
  assert.deepEqual(r.emotions, ['desperate', 'calm']);
  assert.ok(r.atStart);
  assert.deepEqual(r.snapshot().tokens, []);
  assert.equal(r.current(), undefined);
  assert.deepEqual(r.step().map((t) => t.text), ['t0 ']);
  assert.equal(r.snapshot().alerts.length, 0);
  assert.deepEqual(r.step(2).map((t) => t.position), [21, 22]);
  let s = r.snapshot();
  assert.equal(s.tokens.length, 3);
  assert.deepEqual(s.alerts.map((a) => a.rule), ['d']);
  assert.equal(s.regulation.length, 0);
  r.step();
  s = r.snapshot();
  assert.equal(s.regulation.length, 1);
  assert.equal(s.regulation[0]!.to_position, null, 'not yet released at position 23');
  r.step();
  s = r.snapshot();
  assert.deepEqual(s.alerts.map((a) => a.rule), ['d', 'd2']);
  assert.equal(s.regulation[0]!.to_position, 25);
  assert.ok(r.atEnd);
  assert.equal(s.finishReason, 'replayed');
  assert.deepEqual(r.step(), [], 'nothing past the end');
  assert.deepEqual(r.step(-2), [], 'going back reveals nothing');
  assert.equal(r.index, 3);
  assert.equal(r.snapshot().alerts.length, 1);
  assert.equal(r.seek(-5), 0);
  assert.equal(r.seek(99), 5);
  assert.equal(r.seek(NaN), 0);
  assert.equal(r.seek(2.6), 3);
  assert.deepEqual(r.current()!.full, { calm: -2, desperate: 2, happy: 0.5 }, 'z arrays become full read-outs');
  r.reset();
  assert.equal(r.index, 0);
});

// ------------------------------------------------------------------ map and axes

const POINTS = [
  { name: 'happy', pc1: 1, pc2: 0, cluster: 0 },
  { name: 'calm', pc1: 0, pc2: -1, cluster: 0 },
  { name: 'angry', pc1: -1, pc2: 1, cluster: 1 },
  { name: 'unplaced', pc1: null, pc2: null, cluster: null },
];

test('map projection: positive-z weighted average of emotion coordinates, centroid when nothing is above baseline', () => {
  assert.deepEqual(projectReadouts({ happy: 2 }, POINTS), { x: 1, y: 0, weight: 2 });
  assert.deepEqual(projectReadouts({ happy: 1, calm: 1, angry: -3 }, POINTS), { x: 0.5, y: -0.5, weight: 2 });
  const p = projectReadouts({ happy: 1, angry: 3 }, POINTS)!;
  assert.ok(Math.abs(p.x - (1 - 3) / 4) < 1e-12 && Math.abs(p.y - 3 / 4) < 1e-12);
  assert.deepEqual(projectReadouts({ happy: -1, calm: -1 }, POINTS), { x: 0.5, y: -0.5, weight: 0 });
  assert.equal(projectReadouts({ unplaced: 5, other: 1 }, POINTS), null);
  assert.deepEqual(projectReadouts({ happy: 2 }, POINTS, { pc1: 0.3, pc2: -0.2 }), { x: 0.3, y: -0.2, weight: 1 });
  const b = mapBounds(POINTS, 0);
  assert.deepEqual(b, { x0: -1, x1: 1, y0: -1, y1: 1 });
});

test('axes: symmetric z range and round ticks', () => {
  assert.equal(symmetricRange([0.3, -0.5]), 2);
  assert.equal(symmetricRange([0.3, -4.2, NaN]), 5);
  assert.deepEqual(ticks(-2, 2, 4), [-2, -1, 0, 1, 2]);
  assert.deepEqual(ticks(0, 63, 6), [0, 10, 20, 30, 40, 50, 60]);
  assert.deepEqual(ticks(-0.3, 0.3, 3), [-0.2, 0, 0.2]);
  assert.deepEqual(ticks(1, 1), [1]);
});

// ------------------------------------------------------------------ type-check and build

test('web/ type-checks (DOM lib) and builds offline: relative asset URLs, no external resources', () => {
  const req = createRequire(import.meta.url);
  const tsc = spawnSync(process.execPath, [req.resolve('typescript/bin/tsc'), '--noEmit', '-p', 'web/tsconfig.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(tsc.status, 0, `web type errors:\n${tsc.stdout}${tsc.stderr}`);
  const out = mkdtempSync(join(tmpdir(), 'limbic-web-'));
  try {
    const vite = join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
    const r = spawnSync(process.execPath, [vite, 'build', 'web', '--outDir', out, '--logLevel', 'warn'], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, `vite build failed:\n${r.stdout}${r.stderr}`);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    assert.match(html, /src="\.\/assets\/index-[\w-]+\.js"/);
    const assets = readdirSync(join(out, 'assets'));
    assert.ok(assets.some((f) => f.endsWith('.css')));
    for (const f of ['index.html', ...assets.map((a) => join('assets', a))]) {
      const text = readFileSync(join(out, f), 'utf8');
      // The SVG namespace is an identifier, not a fetch.
      const external = text.replaceAll('http://www.w3.org/2000/svg', '').match(/(?:src|href)\s*=\s*["']?https?:|url\(\s*["']?https?:|@import\s+["']?https?:/);
      assert.equal(external, null, `${f} loads an external resource: ${external?.[0]}`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
