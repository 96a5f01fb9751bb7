// The dashboard end to end: a real monitor server (src/server) on 127.0.0.1 over a tiny random chat
// model and a synthetic vector pack, the dashboard built from web/ into a temporary folder, and
// headless Debian Chromium driven by playwright-core. Sends a message and checks the streamed
// tokens, their colours, the chart and an alert against the recorded trace; follows the current
// token on the emotion map; replays the trace; opens a saved HTML report; checks the completions
// route and the bearer token. Screenshots go to test-artifacts/web/.
// Skips (with a message) when Chromium is absent: apt-get install -y chromium, or set LIMBIC_CHROMIUM.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { loadModel, type Model } from '../src/engine/model.ts';
import { startServer, type RunningServer } from '../src/server/server.ts';
import { JsonlTraceStore } from '../src/server/traces.ts';
import { writeReport } from '../src/report/html.ts';
import { randomPack, writeTinyChatModel } from './helpers/randomPack.ts';
import { REPO_ROOT } from './util/shared.ts';

const CHROMIUM = process.env['LIMBIC_CHROMIUM'] ?? '/usr/bin/chromium';
const SKIP = existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM}: dashboard browser tests skipped (Debian: apt-get install -y chromium; or set LIMBIC_CHROMIUM to a Chromium binary)`;
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'web');
const TOKEN = 'web-test-token';
const EMOTIONS = ['happy', 'inspired', 'loving', 'proud', 'calm', 'desperate', 'angry', 'guilty', 'sad', 'afraid', 'nervous', 'surprised', 'playful', 'bored', 'hostile', 'serene', 'excited', 'lonely'];
const MAX_TOKENS = 40;

interface TraceJson {
  id: string;
  watched: string[];
  tokens: { position: number; text: string; readouts: Record<string, number> }[];
  alerts: { rule: string; emotion: string; position: number }[];
  regulation: { emotion: string; from_position: number }[];
}

describe('dashboard in headless Chromium against a live server', { skip: SKIP, timeout: 180_000 }, () => {
  let tmp: string;
  let model: Model;
  let server: RunningServer;
  let ctx: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  async function api<T>(path: string): Promise<T> {
    const res = await fetch(`${server.url}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200, `${path}: ${res.status}`);
    return (await res.json()) as T;
  }

  async function shot(name: string): Promise<void> {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  }

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'limbic-web-e2e-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    const webDir = join(tmp, 'dist');
    const vite = join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
    const built = spawnSync(process.execPath, [vite, 'build', 'web', '--outDir', webDir, '--logLevel', 'warn'], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(built.status, 0, `vite build failed:\n${built.stdout}${built.stderr}`);
    model = await loadModel(writeTinyChatModel(join(tmp, 'model'), 1024)); // context widened for a two-turn chat
    const pack = randomPack(model, { emotions: EMOTIONS, layers: [1, 2] }); // the UI needs no meaningful vectors
    server = await startServer({ model, pack, traces: new JsonlTraceStore(join(tmp, 'traces')), modelName: 'tiny-qwen2', port: 0, authToken: TOKEN, webDir });
    const { chromium } = await import('playwright-core');
    ctx = await chromium.launchPersistentContext(join(tmp, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 1000 },
    });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
    });
  });

  after(async () => {
    await ctx?.close();
    await server?.close();
    model?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('without the token, the page says the server needs one', async () => {
    await page.goto(`${server.url}/`);
    const banner = page.getByTestId('banner');
    await banner.waitFor({ state: 'visible' });
    assert.match((await banner.textContent()) ?? '', /bearer token/);
    pageErrors.length = 0; // the 401s are expected here
  });

  it('chat: a reply streams in, coloured per token, charted, with an alert from a low-threshold rule', async () => {
    await page.goto(`${server.url}/?token=${TOKEN}`);
    await page.locator('body[data-ready]').waitFor();
    assert.ok(!page.url().includes(TOKEN), 'the token is dropped from the address bar');
    assert.match((await page.getByTestId('model').textContent()) ?? '', /tiny-qwen2 · 18 emotions · layer 2/);
    // watched: showcase emotions of the pack; one steering slider each
    const watched = await page.locator('[data-testid=watched] .chip').allTextContents();
    assert.equal(watched.length, 6);
    assert.equal(await page.locator('[data-testid=steering] input[type=range]').count(), 6);
    // a rule that fires on the first token whose happy z is above -50, i.e. at once
    await page.getByTestId('rule-emotion').fill('happy');
    await page.getByTestId('rule-value').fill('-50');
    await page.getByTestId('add-rule').click();
    await page.locator('[data-testid=steering] input[data-emotion=calm]').fill('0.05');
    // regulation: when any rule fires, steer sad down for the rest of the reply
    await page.getByTestId('regulate-on').check();
    await page.getByTestId('regulate-emotion').fill('sad');
    await page.getByTestId('regulate-strength').fill('-0.05');
    await page.getByTestId('regulate-mode').selectOption('rest');
    await page.getByTestId('max-tokens').fill(String(MAX_TOKENS));
    await page.getByTestId('temperature').fill('0');
    // record how the token count grows while streaming
    await page.evaluate(() => {
      const w = window as unknown as { counts: number[] };
      w.counts = [];
      new MutationObserver(() => w.counts.push(document.querySelectorAll('[data-testid=assistant-msg] .tok').length)).observe(document.querySelector('[data-testid=chat-log]')!, { childList: true, subtree: true });
    });
    const requestBody = page.waitForRequest((r) => r.url().endsWith('/v1/chat/completions')).then((r) => r.postDataJSON() as Record<string, any>);
    await page.getByTestId('chat-input').fill('Tell me about your day.');
    await page.getByTestId('chat-input').press('Enter');
    const body = await requestBody;
    assert.equal(body['stream'], true);
    assert.deepEqual(body['messages'], [{ role: 'user', content: 'Tell me about your day.' }]);
    assert.deepEqual(body['limbic'].steer, { calm: 0.05 });
    assert.equal(body['limbic'].rules[0].emotion, 'happy');
    assert.equal(body['limbic'].rules[0].value, -50);
    assert.deepEqual(body['limbic'].regulate, { emotion: 'sad', strength: -0.05, when: 'any', mode: 'rest' });
    await page.locator('[data-testid=assistant-msg][data-done]').waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('[data-testid=assistant-msg] .error').count(), 0, 'no error in the reply');

    const list = await api<{ data: { id: string; tokens: number; alerts: number }[] }>('/v1/traces');
    assert.equal(list.data.length, 1);
    const trace = await api<TraceJson>(`/v1/traces/${list.data[0]!.id}`);
    assert.ok(trace.tokens.length > 0 && trace.tokens.length <= MAX_TOKENS);
    const spans = page.locator('[data-testid=assistant-msg] .tok');
    assert.equal(await spans.count(), trace.tokens.length, 'one span per generated token');
    assert.equal((await page.locator('[data-testid=assistant-msg] .tokens').textContent()) ?? '', trace.tokens.map((t) => t.text).join(''));
    // tokens are coloured by the selected emotion's z, exactly as recorded
    const colourBy = await page.getByTestId('colour-by').inputValue();
    assert.ok(trace.watched.includes(colourBy), `colour-by ${colourBy} is watched`);
    const zs = await spans.evaluateAll((els) => els.map((e) => e.getAttribute('data-z')));
    assert.deepEqual(zs, trace.tokens.map((t) => t.readouts[colourBy]!.toFixed(3)));
    const bgs = new Set(await spans.evaluateAll((els) => els.map((e) => (e as HTMLElement).style.background)));
    assert.ok(bgs.size > 1, 'token colours vary with z');
    // switching the colour-by emotion recolours the tokens
    const other = trace.watched.find((e) => e !== colourBy)!;
    await page.getByTestId('colour-by').selectOption(other);
    assert.deepEqual(await spans.evaluateAll((els) => els.map((e) => e.getAttribute('data-z'))), trace.tokens.map((t) => t.readouts[other]!.toFixed(3)));
    // chart: one line per watched emotion over every token
    assert.equal(await page.locator('svg.chart').first().getAttribute('data-points'), String(trace.tokens.length));
    const paths = await page.locator('svg.chart').first().locator('path.series').evaluateAll((els) => els.map((e) => [e.getAttribute('data-emotion'), (e.getAttribute('d') ?? '').split(/[ML]/).length - 1]));
    for (const e of trace.watched) assert.ok(paths.some(([n, k]) => n === e && k === trace.tokens.length), `a full line for ${e}: ${JSON.stringify(paths)}`);
    // the alert
    assert.ok(trace.alerts.length >= 1);
    const alerts = page.locator('[data-testid=alerts] .alert');
    assert.equal(await alerts.count(), trace.alerts.length);
    assert.match((await alerts.first().textContent()) ?? '', /happy/);
    assert.equal(await page.locator('svg.chart').first().locator('line.alert-rule').count(), trace.alerts.length);
    assert.equal(await page.locator('[data-testid=assistant-msg] .tok.alerted').count() >= 1, true);
    // the regulation the alert engaged
    assert.equal(trace.regulation.length, 1);
    assert.equal(trace.regulation[0]!.emotion, 'sad');
    assert.match((await page.getByTestId('alerts').locator('.regulation-note').textContent()) ?? '', /regulating sad at -0\.050 from position \d+/);
    assert.equal(await page.locator('svg.chart').first().locator('rect.regulation').count(), 1);
    // it streamed: the page showed intermediate token counts
    const counts = await page.evaluate(() => (window as unknown as { counts: number[] }).counts);
    const partial = new Set(counts.filter((c) => c > 0 && c < trace.tokens.length));
    assert.ok(partial.size >= 1, `tokens appeared one chunk at a time (counts seen: ${[...new Set(counts)].join(', ')})`);
    assert.match((await page.getByTestId('chat-status').textContent()) ?? '', new RegExp(`${trace.tokens.length} tokens`));
    await shot('chat');
    assert.deepEqual(pageErrors, []);
  });

  it('emotion map: every pack emotion plotted by cluster, the marker at the last token', async () => {
    await page.locator('a[data-tab=map]').click();
    const mapPage = page.locator('[data-page=map]');
    await mapPage.waitFor({ state: 'visible' });
    const emotions = await api<{ emotions: { name: string; pc1: number; pc2: number; cluster: number }[] }>('/v1/emotions');
    assert.equal(await mapPage.locator('circle.pt').count(), EMOTIONS.length);
    const fills = new Set(await mapPage.locator('circle.pt').evaluateAll((els) => els.map((e) => e.getAttribute('fill'))));
    assert.equal(fills.size, new Set(emotions.emotions.map((e) => e.cluster)).size, 'one colour per cluster');
    const marker = mapPage.locator('circle.current');
    assert.equal(await marker.count(), 1);
    const x = Number(await marker.getAttribute('data-x'));
    const xs = emotions.emotions.map((e) => e.pc1);
    assert.ok(x >= Math.min(...xs) - 1e-6 && x <= Math.max(...xs) + 1e-6, 'the marker lies within the emotions\' hull');
    assert.match((await page.getByTestId('map-current').textContent()) ?? '', /chat · position \d+/);
    await shot('map');
    assert.deepEqual(pageErrors, []);
  });

  it('traces: the recorded conversation replays token by token with its alerts', async () => {
    await page.locator('a[data-tab=traces]').click();
    const rows = page.locator('[data-testid=trace-list] tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 1);
    const list = await api<{ data: { id: string }[] }>('/v1/traces');
    const trace = await api<TraceJson>(`/v1/traces/${list.data[0]!.id}`);
    await rows.first().click();
    const viewer = page.getByTestId('trace-viewer');
    await viewer.waitFor({ state: 'visible' });
    const n = trace.tokens.length;
    assert.equal(await page.getByTestId('replay-counter').textContent(), `0 / ${n}`);
    const toks = viewer.locator('.tok');
    assert.equal(await toks.count(), 0);
    for (let i = 0; i < 3; i++) await page.getByTestId('step').click();
    assert.equal(await page.getByTestId('replay-counter').textContent(), `3 / ${n}`);
    assert.equal(await toks.count(), 3);
    assert.deepEqual(await toks.allTextContents(), trace.tokens.slice(0, 3).map((t) => t.text));
    const firstAlertAt = trace.tokens.findIndex((t) => t.position >= trace.alerts[0]!.position);
    assert.equal(await page.getByTestId('trace-alerts').locator('.alert').count(), trace.alerts.filter((a) => a.position <= trace.tokens[2]!.position).length);
    await page.getByTestId('step-back').click();
    assert.equal(await toks.count(), 2);
    assert.ok(firstAlertAt >= 0);
    // play to the end
    await page.getByTestId('play').click();
    await page.waitForFunction((want) => document.querySelector('[data-testid=replay-counter]')?.textContent === want, `${n} / ${n}`, { timeout: 30_000 });
    assert.equal(await toks.count(), n);
    assert.equal(await page.getByTestId('trace-alerts').locator('.alert').count(), trace.alerts.length);
    assert.equal(await page.getByTestId('trace-alerts').locator('.regulation-note').count(), trace.regulation.length);
    assert.equal(await viewer.locator('svg.chart rect.regulation').count(), trace.regulation.length);
    assert.equal(await viewer.locator('.tok.alerted').count(), new Set(trace.alerts.map((a) => a.position)).size);
    assert.equal(await viewer.locator('svg.chart').getAttribute('data-points'), String(n));
    const colourBy = await page.getByTestId('trace-colour-by').inputValue();
    assert.deepEqual(await toks.evaluateAll((els) => els.map((e) => e.getAttribute('data-z'))), trace.tokens.map((t) => t.readouts[colourBy]!.toFixed(3)));
    assert.match((await page.getByTestId('map-current').textContent()) ?? '', /replay · position/);
    // scrub back to the middle
    const mid = Math.floor(n / 2);
    await page.getByTestId('scrub').fill(String(mid));
    assert.equal(await toks.count(), mid);
    await shot('traces');
    assert.deepEqual(pageErrors, []);
  });

  it('traces: a saved HTML report opens in a sandboxed frame', async () => {
    const path = join(tmp, 'report.html');
    writeReport(path, { title: 'Probe report for the web test', sections: [{ title: 'Read-outs', blocks: [{ kind: 'text', text: 'calm rises at the end' }] }] });
    await page.getByTestId('report-file').setInputFiles(path);
    const frame = page.getByTestId('report-frame');
    await frame.waitFor({ state: 'visible' });
    assert.equal(await frame.getAttribute('sandbox'), '');
    await page.frameLocator('[data-testid=report-frame]').locator('h1').filter({ hasText: 'Probe report for the web test' }).waitFor();
    await frame.scrollIntoViewIfNeeded();
    await shot('report');
    assert.deepEqual(pageErrors, []);
  });

  it('chat: a second message carries the first exchange; New chat starts over', async () => {
    await page.locator('a[data-tab=chat]').click();
    const first = (await page.locator('[data-testid=assistant-msg] .tokens').first().textContent()) ?? '';
    const req = page.waitForRequest((r) => r.url().endsWith('/v1/chat/completions'));
    await page.getByTestId('max-tokens').fill('4');
    await page.getByTestId('chat-input').fill('And then?');
    await page.getByTestId('send').click();
    const body = (await req).postDataJSON() as { messages: { role: string; content: string }[] };
    assert.deepEqual(body.messages, [
      { role: 'user', content: 'Tell me about your day.' },
      { role: 'assistant', content: first },
      { role: 'user', content: 'And then?' },
    ]);
    await page.locator('[data-testid=assistant-msg][data-done]').nth(1).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'New chat' }).click();
    assert.equal(await page.locator('[data-testid=assistant-msg]').count(), 0);
    assert.deepEqual(pageErrors, []);
  });

  it('models without a chat template get plain completions', async () => {
    // The server's model has a template; the page is told otherwise, so it must use /v1/completions.
    await page.route('**/v1/models', async (route) => {
      const res = await route.fetch();
      const json = (await res.json()) as { data: { limbic: { chat_template: boolean } }[] };
      json.data[0]!.limbic.chat_template = false;
      await route.fulfill({ response: res, json });
    });
    await page.goto(`${server.url}/?reload#chat`);
    await page.locator('body[data-ready]').waitFor();
    assert.match((await page.getByTestId('model').textContent()) ?? '', /\(completion\)/);
    await page.getByTestId('max-tokens').fill('8');
    const req = page.waitForRequest((r) => r.url().endsWith('/v1/completions'));
    await page.getByTestId('chat-input').fill('Once upon a time');
    await page.getByTestId('send').click();
    const body = (await req).postDataJSON() as Record<string, unknown>;
    assert.equal(body['prompt'], 'Once upon a time');
    assert.equal(body['messages'], undefined);
    await page.locator('[data-testid=assistant-msg][data-done]').waitFor({ timeout: 60_000 });
    assert.ok((await page.locator('[data-testid=assistant-msg] .tok').count()) > 0);
    await page.unroute('**/v1/models');
    assert.deepEqual(pageErrors, []);
  });
});
