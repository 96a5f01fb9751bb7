// Running one validated Job on the model: waits its turn in the FIFO queue, generates with the
// monitor (read-outs, alerts, regulation), reports each event to a listener as it happens (the SSE
// writer, or nothing for non-stream responses), and records the trace and metrics. Cancelled jobs
// (client gone, client too slow) stop at the next token and are kept with status "cancelled".
import { randomBytes } from 'node:crypto';
import type { Model } from '../engine/model.ts';
import { monitorGenerate, round4, selectReadouts, type Alert, type RegulationEpisode } from '../experiments/monitor.ts';
import type { VectorPack } from '../vectors/pack.ts';
import type { Metrics } from './metrics.ts';
import type { FifoQueue } from './queue.ts';
import type { Job } from './requests.ts';
import type { TraceRecord, TraceStore, TraceToken } from './traces.ts';

export interface Engine {
  model: Model;
  pack: VectorPack;
  modelName: string;
  queue: FifoQueue;
  traces: TraceStore;
  metrics: Metrics;
  log: (msg: string) => void;
}

export interface JobListener {
  /** The job has its turn and the prompt is prefilled. */
  started?(rec: TraceRecord): void;
  token?(t: TraceToken, rec: TraceRecord): void;
  alert?(a: Alert): void;
  regulation?(episode: RegulationEpisode, active: boolean): void;
}

export function newTraceId(): string {
  return `tr_${randomBytes(10).toString('hex')}`;
}

const FINISH: Record<string, string> = { eos: 'stop', stop: 'stop', length: 'length' };

/** A fresh running trace for a job. */
export function newTrace(engine: Engine, job: Job, id = newTraceId()): TraceRecord {
  const { model, pack } = engine;
  const tokenText = (t: number) => model.tokenizer?.tokenText(t) ?? String(t);
  return {
    id,
    created: Math.floor(Date.now() / 1000),
    endpoint: job.endpoint,
    model: engine.modelName,
    status: 'running',
    finish_reason: null,
    error: null,
    layer: job.layer,
    emotions: [...pack.emotions],
    watched: job.watched,
    ...(job.messages ? { messages: job.messages } : {}),
    ...(job.prompt !== undefined ? { prompt: job.prompt } : {}),
    params: { max_tokens: job.maxTokens, temperature: job.temperature, top_p: job.topP, seed: job.seed, stop: job.stop },
    steer: job.steer,
    rules: job.rules,
    regulate: job.regulate,
    text: '',
    prompt_tokens: job.promptIds.map((t, position) => ({ position, token_id: t, token: tokenText(t), z: null })),
    tokens: [],
    alerts: [],
    regulation: [],
    timings: { arrived_at: epochMs(), started_at: 0, finished_at: 0, queued_ms: 0, prefill_ms: 0, ttft_ms: 0, duration_ms: 0, tokens_per_second: 0, monitor_ms: 0 },
  };
}

/**
 * Runs a job to its end (finished, cancelled through `signal`, or failed) and returns its trace,
 * already stored. Throws only when the job never got its turn because the queue was full.
 */
export async function runJob(engine: Engine, job: Job, rec: TraceRecord, signal: AbortSignal, listener: JobListener = {}, arrival = performance.now()): Promise<TraceRecord> {
  const { model, pack, metrics } = engine;
  const turn = engine.queue.acquire(signal); // throws 429 at once when full
  engine.traces.begin(rec);
  const tokenText = (t: number) => model.tokenizer?.tokenText(t) ?? String(t);
  const watchedIdx = job.watched.map((e) => pack.emotionIndex(e));
  const E = pack.emotions.length;
  let release: (() => void) | null = null;
  let firstAt = 0;
  let lastAt = 0;
  let acquiredAt = arrival;
  let monitorMs = 0;
  try {
    release = await turn;
    acquiredAt = performance.now();
    rec.timings.started_at = epochMs();
    rec.timings.queued_ms = acquiredAt - arrival;
    const events = monitorGenerate(model, pack, job.promptIds, {
      layer: job.layer,
      maxTokens: job.maxTokens,
      temperature: job.temperature,
      ...(job.topP !== null ? { topP: job.topP } : {}),
      seed: job.seed,
      stop: job.stop,
      rules: job.rules,
      steer: job.steer,
      regulate: job.regulate,
      watchPrompt: job.watchPrompt,
      signal,
    });
    for await (const ev of events) {
      if (ev.type === 'prefill') {
        rec.timings.prefill_ms = ev.ms;
        if (ev.z) rec.prompt_tokens.forEach((p, t) => (p.z = Array.from(ev.z!.subarray(t * E, (t + 1) * E), round4)));
        listener.started?.(rec);
      } else if (ev.type === 'token') {
        const now = performance.now();
        if (rec.tokens.length === 0) {
          firstAt = now;
          rec.timings.ttft_ms = now - arrival;
        }
        lastAt = now;
        monitorMs += ev.monitorMs;
        const z = ev.z ?? new Float32Array(E);
        const tok: TraceToken = {
          index: ev.index,
          position: ev.position,
          token_id: ev.token,
          token: tokenText(ev.token),
          text: ev.text,
          logprob: round4(ev.logprob),
          t_ms: Math.round((now - arrival) * 10) / 10,
          readouts: selectReadouts(pack.emotions, z, job.top, watchedIdx),
          z: Array.from(z, round4),
        };
        rec.tokens.push(tok);
        rec.text += ev.text;
        if (ev.finishReason) rec.finish_reason = FINISH[ev.finishReason] ?? ev.finishReason;
        metrics.tokens.inc();
        listener.token?.(tok, rec);
      } else if (ev.type === 'alert') {
        rec.alerts.push(ev.alert);
        metrics.alerts.inc({ rule: ev.alert.rule });
        engine.log(`alert ${ev.alert.rule} (${rec.id} position ${ev.alert.position}): ${ev.alert.message}`);
        listener.alert?.(ev.alert);
      } else {
        if (ev.active) rec.regulation.push({ ...ev.episode });
        else {
          const open = rec.regulation.findLast((r) => r.to_position === null);
          if (open) open.to_position = ev.episode.to_position;
        }
        engine.log(`regulation ${ev.active ? 'engaged' : 'released'} (${rec.id}): ${ev.episode.emotion} ${ev.episode.strength} at position ${ev.active ? ev.episode.from_position : ev.episode.to_position}`);
        listener.regulation?.(ev.episode, ev.active);
      }
    }
    rec.status = signal.aborted ? 'cancelled' : 'complete';
    if (signal.aborted) rec.finish_reason = null;
  } catch (err) {
    if (signal.aborted) rec.status = 'cancelled';
    else {
      rec.status = 'error';
      rec.error = (err as Error).message;
      engine.log(`generation failed (${rec.id}): ${(err as Error).stack ?? String(err)}`);
    }
  } finally {
    release?.();
    const end = performance.now();
    rec.timings.finished_at = epochMs();
    const n = rec.tokens.length;
    rec.timings.duration_ms = round1(end - arrival);
    rec.timings.queued_ms = round1(rec.timings.queued_ms);
    rec.timings.prefill_ms = round1(rec.timings.prefill_ms);
    rec.timings.ttft_ms = round1(rec.timings.ttft_ms);
    rec.timings.monitor_ms = Math.round(monitorMs * 1000) / 1000;
    const decodeS = (lastAt - firstAt) / 1000;
    rec.timings.tokens_per_second = n > 1 && decodeS > 0 ? round1((n - 1) / decodeS) : n === 1 ? round1(1000 / Math.max(1e-3, lastAt - acquiredAt)) : 0;
    if (n > 0) metrics.tokensPerSecond.set(rec.timings.tokens_per_second);
    metrics.monitorSeconds.inc({}, monitorMs / 1000);
    try {
      engine.traces.finish(rec);
    } catch (err) {
      engine.log(`could not store trace ${rec.id}: ${(err as Error).message}`);
    }
  }
  return rec;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** Epoch milliseconds with sub-millisecond resolution (orders events within one process). */
function epochMs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;
}
