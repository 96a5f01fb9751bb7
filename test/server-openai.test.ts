// The monitor server through the official `openai` npm client, unchanged but for baseURL, on a tiny
// random chat model (ChatML) and a synthetic pack: chat and completions, streamed and not, the
// limbic fields on every chunk, read-outs equal to an independent forward pass, steering,
// alerts and regulation events, cancellation through AbortController, and concurrent clients
// served one at a time in arrival order, each answer identical to the same request served alone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import type { Model } from '../src/engine/model.ts';
import { runLoadTest } from '../src/server/bench.ts';
import type { TraceRecord } from '../src/server/traces.ts';
import { readout } from '../src/vectors/readout.ts';
import type { VectorPack } from '../src/vectors/pack.ts';
import { serve, syntheticPack, tempRoot, tinyChatModel, type Fixture } from './server-fixture.ts';

let model: Model;
let pack: VectorPack;
let fx: Fixture;
let client: OpenAI;

// Chunks and responses carry the limbic extension, which the client's types do not know.
type Limbic = Record<string, any>;
const lim = (x: unknown): Limbic => (x as { limbic: Limbic }).limbic;

before(async () => {
  const root = tempRoot('limbic-srv-openai-');
  model = await tinyChatModel(root);
  pack = await syntheticPack(model, [1, 2]);
  fx = await serve(root, model, pack, { limits: { maxTokens: 1500 } });
  client = new OpenAI({ baseURL: `${fx.srv.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
});

after(async () => {
  await fx.srv.close();
  fx.traces.close();
  await model.dispose();
});

async function trace(id: string): Promise<TraceRecord> {
  const res = await fetch(`${fx.srv.url}/v1/traces/${id}`);
  assert.equal(res.status, 200);
  return (await res.json()) as TraceRecord;
}

const chatBody = { model: 'tiny-qwen2', messages: [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Tell me about the sea.' }] };

test('non-stream chat: OpenAI shape plus per-token read-outs, recorded as a trace', async () => {
  const r = await client.chat.completions.create({ ...chatBody, max_tokens: 12, temperature: 0.7, seed: 3, limbic: { emotions: ['calm', 'sad'] } } as never);
  const c = r as unknown as OpenAI.Chat.Completions.ChatCompletion;
  assert.equal(c.object, 'chat.completion');
  assert.equal(c.choices.length, 1);
  assert.equal(c.choices[0]!.message.role, 'assistant');
  assert.ok(['stop', 'length'].includes(c.choices[0]!.finish_reason));
  const l = lim(c);
  assert.equal(c.usage!.completion_tokens, l.tokens.length);
  assert.equal(c.usage!.prompt_tokens, model.encodeChat(chatBody.messages, { addGenerationPrompt: true }).length);
  assert.equal(l.tokens.map((t: Limbic) => t.text).join(''), c.choices[0]!.message.content);
  l.tokens.forEach((t: Limbic, i: number) => {
    assert.equal(t.index, i);
    assert.equal(t.position, c.usage!.prompt_tokens + i);
    assert.ok('calm' in t.readouts && 'sad' in t.readouts, 'watched emotions always reported');
    assert.ok(Object.keys(t.readouts).length >= 3 && Object.keys(t.readouts).length <= 5);
    const top3 = Object.entries(t.readouts as Record<string, number>).filter(([e]) => e !== 'calm' && e !== 'sad');
    assert.ok(top3.every(([, z]) => z >= Math.min(t.readouts.calm, t.readouts.sad) || Object.keys(t.readouts).length === 5));
  });
  const tr = await trace(l.trace_id);
  assert.equal(tr.status, 'complete');
  assert.equal(tr.text, c.choices[0]!.message.content);
  assert.deepEqual(tr.messages, chatBody.messages);
  // The chunk readouts are the top 3 of the full z row plus the watched ones.
  tr.tokens.forEach((t, i) => {
    const order = tr.emotions.map((e, j) => [e, t.z[j]!] as const).sort((a, b) => b[1] - a[1]);
    for (const [e] of order.slice(0, 3)) assert.ok(e in l.tokens[i].readouts, `token ${i}: top emotion ${e} reported`);
  });
});

test('read-outs match an independent forward pass over prompt + generated tokens', async () => {
  const r = (await client.completions.create({ model: 'x', prompt: 'The boat was small and the waves were high.', max_tokens: 10, temperature: 0.9, seed: 4, limbic: { prompt_readouts: true, layer: 2 } } as never)) as unknown as Limbic;
  const tr = await trace(lim(r).trace_id);
  assert.equal(tr.layer, 2);
  const ids = [...tr.prompt_tokens.map((p) => p.token_id), ...tr.tokens.map((t) => t.token_id)];
  const f = await model.forward(ids, { capture: ['blocks.2.hook_resid_post'], logits: 'none' });
  const ref = readout(pack, f.captures.get('blocks.2.hook_resid_post')!.data, 2).z; // [T, E]
  const E = pack.emotions.length;
  const rows = [...tr.prompt_tokens.map((p) => p.z!), ...tr.tokens.map((t) => t.z)];
  assert.equal(rows.length, ids.length);
  rows.forEach((z, t) => z.forEach((v, j) => assert.ok(Math.abs(v - ref.data[t * E + j]!) < 2e-3 + 1e-3 * Math.abs(v), `position ${t} ${pack.emotions[j]}: ${v} vs ${ref.data[t * E + j]}`)));
  assert.equal(lim(r).prompt_tokens.length, tr.prompt_tokens.length);
});

test('streamed chat: role chunk, one chunk per token with limbic fields, finish, usage; same text as non-stream', async () => {
  const body = { ...chatBody, max_tokens: 16, temperature: 1, seed: 11, limbic: { emotions: ['happy'] } };
  const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } } as never);
  const chunks: Limbic[] = [];
  for await (const ch of stream as unknown as AsyncIterable<Limbic>) chunks.push(ch);
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0]!.id));
  assert.deepEqual(chunks[0]!.choices[0].delta, { role: 'assistant', content: '' });
  const first = chunks[0]!.limbic;
  const promptLen = model.encodeChat(body.messages, { addGenerationPrompt: true }).length;
  assert.equal(first.prompt_tokens, promptLen);
  const tokens = chunks.filter((c) => c.limbic?.readouts);
  assert.ok(tokens.length >= 1);
  tokens.forEach((c, i) => {
    assert.equal(c.limbic.index, i);
    assert.equal(c.limbic.position, promptLen + i);
    assert.equal(typeof c.limbic.token, 'string');
    assert.equal(typeof c.limbic.token_id, 'number');
    assert.ok('happy' in c.limbic.readouts);
    assert.equal(c.choices[0].delta.content, c.limbic.text);
  });
  const last = chunks.at(-2)!;
  const usage = chunks.at(-1)!;
  assert.ok(['stop', 'length'].includes(last.choices[0].finish_reason));
  assert.equal(last.limbic.done.tokens, tokens.length);
  assert.deepEqual(usage.choices, []);
  assert.equal(usage.usage.completion_tokens, tokens.length);
  const text = tokens.map((c) => c.choices[0].delta.content).join('');
  const whole = (await client.chat.completions.create(body as never)) as unknown as OpenAI.Chat.Completions.ChatCompletion;
  assert.equal(whole.choices[0]!.message.content, text, 'same seed: streamed and whole responses agree');
  const tr = await trace(first.trace_id);
  assert.deepEqual(tr.tokens.map((t) => t.readouts), tokens.map((c) => c.limbic.readouts), 'the trace replays the stream');
});

test('completions, streamed and not; greedy is deterministic; models list', async () => {
  const body = { model: 'tiny-qwen2', prompt: 'Once upon a time', max_tokens: 8, temperature: 0 };
  const a = await client.completions.create(body);
  assert.equal(a.object, 'text_completion');
  assert.equal(a.choices[0]!.finish_reason, 'length');
  assert.equal(lim(a).tokens.length, 8);
  const s = await client.completions.create({ ...body, stream: true });
  let text = '';
  let n = 0;
  for await (const ch of s) {
    text += ch.choices[0]?.text ?? '';
    if (lim(ch)?.readouts) n++;
  }
  assert.equal(text, a.choices[0]!.text);
  assert.equal(n, 8);
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ['tiny-qwen2']);
  assert.equal((models.data[0] as unknown as Limbic).limbic.chat_template, true);
});

test('steering: limbic.steer raises the steered emotion at every position of the read-out layer', async () => {
  const prompt = 'A quiet morning by the window.';
  const run = async (steer?: Record<string, number>) => lim(await client.completions.create({ model: 'x', prompt, max_tokens: 1, temperature: 0, limbic: { prompt_readouts: true, emotions: ['calm'], top: 0, ...(steer ? { steer } : {}) } } as never));
  const plain = await run();
  const steered = await run({ calm: 0.3 });
  const trPlain = await trace(plain.trace_id);
  const trSteer = await trace(steered.trace_id);
  assert.deepEqual(trSteer.steer, { calm: 0.3 });
  const j = pack.emotionIndex('calm');
  const k = pack.emotionIndex('sad');
  let rise = 0;
  let other = 0;
  trPlain.prompt_tokens.forEach((p, t) => {
    const d = trSteer.prompt_tokens[t]!.z![j]! - p.z![j]!;
    assert.ok(d > 0.1, `position ${t}: calm z ${p.z![j]} -> ${trSteer.prompt_tokens[t]!.z![j]}`);
    rise += d;
    other += Math.abs(trSteer.prompt_tokens[t]!.z![k]! - p.z![k]!);
  });
  assert.ok(rise > other, 'the steered emotion moves more than an unsteered one');
});

test('alerts and regulation: events follow the token that caused them; regulation raises the regulated read-out', async () => {
  const rules = [{ id: 'always', emotion: 'sad', kind: 'threshold', value: -1000 }];
  const base = { model: 'x', prompt: 'The rain fell on the roof', max_tokens: 12, temperature: 0.8, seed: 21 };
  const plain = lim(await client.completions.create({ ...base, limbic: { rules, default_rules: false, emotions: ['happy'] } } as never));
  assert.equal(plain.alerts.length, 1, 'a rule that always holds fires once');
  assert.equal(plain.alerts[0].index, 0);
  const reg = { emotion: 'happy', strength: 0.4, when: 'always', mode: 'rest' };
  const stream = await client.completions.create({ ...base, stream: true, limbic: { rules, default_rules: false, regulate: reg } } as never);
  const events: Limbic[] = [];
  for await (const ch of stream as unknown as AsyncIterable<Limbic>) if (ch.limbic) events.push(ch.limbic);
  const kinds = events.map((e) => (e.alert ? 'alert' : e.regulation ? 'regulation' : e.readouts ? 'token' : e.done ? 'done' : 'start'));
  assert.deepEqual(kinds.slice(0, 4), ['start', 'token', 'alert', 'regulation']);
  const engaged = events.find((e) => e.regulation)!.regulation;
  const promptLen = events[0]!.prompt_tokens;
  assert.deepEqual(engaged, { emotion: 'happy', strength: 0.4, rule: 'always', mode: 'rest', from_position: promptLen + 1, to_position: null, active: true });
  const regTrace = await trace(events.at(-1)!.done.trace_id);
  const plainTrace = await trace(plain.trace_id);
  assert.equal(regTrace.regulation.length, 1);
  const h = pack.emotionIndex('happy');
  // Same seed: the first two tokens are sampled before steering can act, so they are identical;
  // the second one is the first steered position and reads higher on the regulated emotion.
  assert.deepEqual(regTrace.tokens.slice(0, 2).map((t) => t.token_id), plainTrace.tokens.slice(0, 2).map((t) => t.token_id));
  assert.equal(regTrace.tokens[0]!.z[h], plainTrace.tokens[0]!.z[h]);
  assert.ok(regTrace.tokens[1]!.z[h]! > plainTrace.tokens[1]!.z[h]! + 0.1);
  const mean = (tr: TraceRecord) => tr.tokens.slice(1).reduce((s, t) => s + t.z[h]!, 0) / (tr.tokens.length - 1);
  assert.ok(mean(regTrace) > mean(plainTrace), `mean happy z after engaging: ${mean(regTrace)} vs ${mean(plainTrace)}`);
});

test('regulation "while" engages and releases with its rule', async () => {
  // Threshold at the median of the unregulated run's read-outs, so the rule switches on and off.
  const base = { model: 'x', prompt: 'The cat sat by the door and', max_tokens: 40, temperature: 1, seed: 8 };
  const probe = lim(await client.completions.create({ ...base, limbic: { emotions: ['nervous'], default_rules: false } } as never));
  const zs = probe.tokens.map((t: Limbic) => t.readouts.nervous as number).sort((a: number, b: number) => a - b);
  const value = zs[Math.floor(zs.length / 2)];
  const r = lim(await client.completions.create({ ...base, limbic: { default_rules: false, rules: [{ id: 'nv', emotion: 'nervous', kind: 'threshold', value }], regulate: { emotion: 'calm', strength: 0.02, when: 'nv', mode: 'while' } } } as never));
  assert.ok(r.regulation.length >= 1);
  const zAt = new Map<number, number>(r.tokens.map((t: Limbic) => [t.position, t.readouts.nervous]));
  const lastPos = r.tokens.at(-1).position;
  for (const ep of r.regulation) {
    // Engaged after a token above the threshold, held while above, released after one at or below.
    assert.ok(zAt.get(ep.from_position - 1)! > value);
    const end = ep.to_position ?? lastPos + 1;
    for (let p = ep.from_position; p < end - 1; p++) assert.ok(zAt.get(p)! > value, `position ${p} inside the episode`);
    if (ep.to_position !== null) assert.ok(zAt.get(ep.to_position - 1)! <= value);
  }
  assert.equal(r.alerts.length, r.regulation.length, 'each engagement follows one firing');
  assert.ok(r.regulation.some((ep: Limbic) => ep.to_position !== null), 'at least one episode was released');
});

test('cancellation: aborting a stream stops its generation and the trace says cancelled', async () => {
  const ac = new AbortController();
  const stream = await client.completions.create({ model: 'x', prompt: 'Long ago', max_tokens: 1500, temperature: 1, seed: 2, stream: true }, { signal: ac.signal });
  let id = '';
  let n = 0;
  try {
    // The client ends the iteration quietly on abort (older versions throw an abort error).
    for await (const ch of stream) {
      id ||= lim(ch)?.trace_id ?? '';
      if (lim(ch)?.readouts && ++n === 5) ac.abort();
    }
  } catch (e) {
    if (!(e instanceof OpenAI.APIUserAbortError) && (e as Error).name !== 'AbortError') throw e;
  }
  assert.ok(n >= 5 && n < 1500, `the stream ended after ${n} tokens`);
  let tr = await trace(id);
  for (let i = 0; i < 100 && tr.status === 'running'; i++) {
    await new Promise((r) => setTimeout(r, 20));
    tr = await trace(id);
  }
  assert.equal(tr.status, 'cancelled');
  assert.equal(tr.finish_reason, null);
  assert.ok(tr.tokens.length >= 5 && tr.tokens.length < 100, `generation stopped early: ${tr.tokens.length} of 1500 tokens`);
  // The model is free again: a new request is served at once.
  const t0 = performance.now();
  await client.completions.create({ model: 'x', prompt: 'Hi', max_tokens: 2 });
  assert.ok(performance.now() - t0 < 5000);
});

test('concurrent streaming clients: all complete, all recorded, one at a time in arrival order, same answers as alone', async () => {
  const clients = 6;
  const load = await runLoadTest({ url: fx.srv.url, clients, maxTokens: 24, endpoint: 'chat', prompt: 'Count the stars.', seed: 100 });
  assert.equal(load.completed, clients, JSON.stringify(load.results.map((r) => r.error)));
  assert.equal(load.recorded, clients);
  assert.ok(load.results.every((r) => r.readoutChunks === r.tokens && r.tokens > 0));
  const traces = await Promise.all(load.results.map((r) => trace(r.traceId!)));
  const byStart = [...traces].sort((a, b) => a.timings.started_at - b.timings.started_at);
  for (let i = 1; i < byStart.length; i++) {
    assert.ok(byStart[i]!.timings.started_at >= byStart[i - 1]!.timings.finished_at - 1, 'generations do not overlap');
    assert.ok(byStart[i]!.timings.arrived_at >= byStart[i - 1]!.timings.arrived_at, 'served first-in-first-out');
  }
  // Each answer equals the same request served alone (seed 100 + i).
  for (const i of [0, clients - 1]) {
    const solo = (await client.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'Count the stars.' }], max_tokens: 24, temperature: 1, seed: 100 + i })) as OpenAI.Chat.Completions.ChatCompletion;
    assert.equal(load.results[i]!.text, solo.choices[0]!.message.content);
  }
  const metrics = await (await fetch(`${fx.srv.url}/metrics`)).text();
  assert.match(metrics, /limbic_queue_depth 0\n/);
});
