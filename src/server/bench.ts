// Benchmarks of the monitor, callable from tests and `npm run bench`:
// - runMonitorBench: decode speed with the monitor on (one layer captured per token, a [d] x [E, d]
//   read-out and the rules) and off (plain generation), interleaved in the same run so both see the
//   same machine state; the difference per token is the monitor's overhead.
// - runLoadTest: N concurrent streaming clients against a running server (plain fetch + SSE
//   parsing, like any client); checks every response completed and every trace was recorded.
import type { Model } from '../engine/model.ts';
import { monitorGenerate, type AlertRule } from '../experiments/monitor.ts';
import type { VectorPack } from '../vectors/pack.ts';

export interface MonitorBenchOptions {
  prompt?: string;
  /** Tokens per run (default 64); EOS is ignored so every run decodes this many. */
  maxTokens?: number;
  /** Runs per condition (default 3); the median is reported. */
  reps?: number;
  layer?: number;
  rules?: readonly AlertRule[];
}

export interface MonitorBenchResult {
  tokens: number;
  tokensPerSecondOn: number;
  tokensPerSecondOff: number;
  /** Extra seconds per token with the monitor on (capture + read-out + rules). */
  overheadPerToken: number;
  /** Of which: seconds per token in the read-out product and rules (outside the engine). */
  readoutPerToken: number;
  /** overheadPerToken relative to the time per token with the monitor off. */
  overheadFraction: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function decodeRun(model: Model, pack: VectorPack, ids: number[], monitor: boolean, opts: MonitorBenchOptions): Promise<{ seconds: number; tokens: number; readout: number }> {
  let first = 0;
  let last = 0;
  let n = 0;
  let readout = 0;
  for await (const ev of monitorGenerate(model, pack, ids, { maxTokens: opts.maxTokens ?? 64, temperature: 0, stopAtEos: false, monitor, rules: opts.rules ?? [], ...(opts.layer !== undefined ? { layer: opts.layer } : {}) })) {
    if (ev.type !== 'token') continue;
    const now = performance.now();
    if (n === 0) first = now;
    last = now;
    n++;
    readout += ev.monitorMs;
  }
  // Decode speed: from the first token (prefill excluded) to the last.
  return { seconds: (last - first) / 1000, tokens: Math.max(0, n - 1), readout: readout / 1000 };
}

/** Decode tokens/s with the monitor on and off, interleaved (off, on, off, on, ...) after a warm-up. */
export async function runMonitorBench(model: Model, pack: VectorPack, opts: MonitorBenchOptions = {}): Promise<MonitorBenchResult> {
  const ids = model.encode(opts.prompt ?? 'Once upon a time, there was a little girl who went to the park with her dog.');
  const reps = Math.max(1, opts.reps ?? 3);
  await decodeRun(model, pack, ids, false, { ...opts, maxTokens: 4 });
  await decodeRun(model, pack, ids, true, { ...opts, maxTokens: 4 });
  const on: number[] = [];
  const off: number[] = [];
  const readout: number[] = [];
  let tokens = 0;
  for (let r = 0; r < reps; r++) {
    const a = await decodeRun(model, pack, ids, false, opts);
    const b = await decodeRun(model, pack, ids, true, opts);
    tokens = b.tokens;
    off.push(a.seconds / Math.max(1, a.tokens));
    on.push(b.seconds / Math.max(1, b.tokens));
    readout.push(b.readout / Math.max(1, b.tokens + 1));
  }
  const sOn = median(on);
  const sOff = median(off);
  return {
    tokens,
    tokensPerSecondOn: 1 / sOn,
    tokensPerSecondOff: 1 / sOff,
    overheadPerToken: sOn - sOff,
    readoutPerToken: median(readout),
    overheadFraction: (sOn - sOff) / sOff,
  };
}

export interface LoadTestOptions {
  /** Server base URL, e.g. http://127.0.0.1:8080. */
  url: string;
  clients: number;
  maxTokens?: number;
  /** 'completions' (default) or 'chat'. */
  endpoint?: 'completions' | 'chat';
  prompt?: string;
  authToken?: string;
  /** Per-client seeds are seed + i (default 1). */
  seed?: number;
  /** Gives up after this long (default 120 s). */
  timeoutMs?: number;
}

export interface LoadClientResult {
  ok: boolean;
  error: string | null;
  traceId: string | null;
  text: string;
  tokens: number;
  /** Token chunks that carried limbic read-outs. */
  readoutChunks: number;
  finishReason: string | null;
  sawDone: boolean;
  ttftMs: number;
  totalMs: number;
  recorded: boolean;
}

export interface LoadTestResult {
  clients: number;
  completed: number;
  recorded: number;
  tokens: number;
  wallSeconds: number;
  tokensPerSecond: number;
  ttftMsP50: number;
  ttftMsMax: number;
  results: LoadClientResult[];
}

async function oneClient(o: LoadTestOptions, i: number, headers: Record<string, string>, signal: AbortSignal): Promise<LoadClientResult> {
  const t0 = performance.now();
  const r: LoadClientResult = { ok: false, error: null, traceId: null, text: '', tokens: 0, readoutChunks: 0, finishReason: null, sawDone: false, ttftMs: 0, totalMs: 0, recorded: false };
  try {
    const chat = o.endpoint === 'chat';
    const prompt = o.prompt ?? 'Once upon a time';
    const body = { model: 'limbic', stream: true, max_tokens: o.maxTokens ?? 16, temperature: 1, seed: (o.seed ?? 1) + i, ...(chat ? { messages: [{ role: 'user', content: prompt }] } : { prompt }) };
    const res = await fetch(`${o.url}/v1/${chat ? 'chat/completions' : 'completions'}`, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
    const decoder = new TextDecoder();
    let buf = '';
    for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(part, { stream: true });
      let k: number;
      while ((k = buf.indexOf('\n\n')) >= 0) {
        const event = buf.slice(0, k);
        buf = buf.slice(k + 2);
        const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
        if (data === '[DONE]') {
          r.sawDone = true;
          continue;
        }
        const chunk = JSON.parse(data) as { error?: { message: string }; choices?: { delta?: { content?: string }; text?: string; finish_reason?: string | null }[]; limbic?: { trace_id?: string; readouts?: unknown } };
        if (chunk.error) throw new Error(chunk.error.message);
        const c = chunk.choices?.[0];
        if (chunk.limbic?.trace_id) r.traceId = chunk.limbic.trace_id;
        if (chunk.limbic?.readouts) {
          if (r.tokens === 0) r.ttftMs = performance.now() - t0;
          r.tokens++;
          r.readoutChunks++;
        }
        r.text += (chat ? c?.delta?.content : c?.text) ?? '';
        if (c?.finish_reason) r.finishReason = c.finish_reason;
      }
    }
    r.ok = r.sawDone && r.finishReason !== null && r.traceId !== null;
  } catch (err) {
    r.error = (err as Error).message;
  }
  r.totalMs = performance.now() - t0;
  return r;
}

/** N concurrent streaming clients; then checks that each one's trace is stored and complete. */
export async function runLoadTest(o: LoadTestOptions): Promise<LoadTestResult> {
  const headers: Record<string, string> = o.authToken ? { Authorization: `Bearer ${o.authToken}` } : {};
  const signal = AbortSignal.timeout(o.timeoutMs ?? 120_000);
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: o.clients }, (_, i) => oneClient(o, i, headers, signal)));
  const wallSeconds = (performance.now() - t0) / 1000;
  for (const r of results) {
    if (!r.traceId) continue;
    const res = await fetch(`${o.url}/v1/traces/${r.traceId}`, { headers });
    if (!res.ok) continue;
    const t = (await res.json()) as { status: string; tokens: unknown[]; text: string };
    r.recorded = t.status === 'complete' && t.tokens.length === r.tokens && t.text === r.text;
  }
  const tokens = results.reduce((s, r) => s + r.tokens, 0);
  const ttfts = results.filter((r) => r.ok).map((r) => r.ttftMs);
  return {
    clients: o.clients,
    completed: results.filter((r) => r.ok).length,
    recorded: results.filter((r) => r.recorded).length,
    tokens,
    wallSeconds,
    tokensPerSecond: tokens / wallSeconds,
    ttftMsP50: ttfts.length ? median(ttfts) : 0,
    ttftMsMax: ttfts.length ? Math.max(...ttfts) : 0,
    results,
  };
}
