// OpenAI response objects of the monitor server, with limbic's extension field: stream chunks
// (`chat.completion.chunk` / `text_completion`) and whole responses (`chat.completion` /
// `text_completion`). Shapes: https://platform.openai.com/docs/api-reference/chat/object and
// .../chat/streaming; legacy completions: .../completions/object.
import type { Alert, RegulationEpisode } from '../experiments/monitor.ts';
import type { Job } from './requests.ts';
import type { TraceRecord, TraceToken } from './traces.ts';

export interface ResponseIds {
  id: string;
  created: number;
  model: string;
}

export function responseIds(rec: TraceRecord): ResponseIds {
  return { id: `${rec.endpoint === 'chat' ? 'chatcmpl' : 'cmpl'}-${rec.id}`, created: rec.created, model: rec.model };
}

function chunk(job: Job, ids: ResponseIds, content: string | null, finish: string | null, limbic: unknown, role = false): Record<string, unknown> {
  if (job.endpoint === 'chat') {
    const delta: Record<string, unknown> = role ? { role: 'assistant', content: '' } : content === null ? {} : { content };
    return { id: ids.id, object: 'chat.completion.chunk', created: ids.created, model: ids.model, system_fingerprint: null, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], limbic };
  }
  return { id: ids.id, object: 'text_completion', created: ids.created, model: ids.model, choices: [{ index: 0, text: content ?? '', logprobs: null, finish_reason: finish }], limbic };
}

export function firstChunk(job: Job, ids: ResponseIds, rec: TraceRecord): Record<string, unknown> {
  return chunk(job, ids, '', null, { trace_id: rec.id, layer: rec.layer, watched: rec.watched, prompt_tokens: rec.prompt_tokens.length }, true);
}

export function tokenChunk(job: Job, ids: ResponseIds, t: TraceToken): Record<string, unknown> {
  return chunk(job, ids, t.text, null, { index: t.index, position: t.position, token_id: t.token_id, token: t.token, text: t.text, readouts: t.readouts });
}

export function alertChunk(job: Job, ids: ResponseIds, a: Alert): Record<string, unknown> {
  return chunk(job, ids, null, null, { alert: a });
}

export function regulationChunk(job: Job, ids: ResponseIds, ep: RegulationEpisode, active: boolean): Record<string, unknown> {
  return chunk(job, ids, null, null, { regulation: { ...ep, active } });
}

export function finalChunk(job: Job, ids: ResponseIds, rec: TraceRecord): Record<string, unknown> {
  return chunk(job, ids, null, rec.finish_reason ?? 'stop', { done: { trace_id: rec.id, tokens: rec.tokens.length, alerts: rec.alerts.length, status: rec.status } });
}

export function usage(rec: TraceRecord): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  return { prompt_tokens: rec.prompt_tokens.length, completion_tokens: rec.tokens.length, total_tokens: rec.prompt_tokens.length + rec.tokens.length };
}

export function usageChunk(job: Job, ids: ResponseIds, rec: TraceRecord): Record<string, unknown> {
  return { id: ids.id, object: job.endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion', created: ids.created, model: ids.model, choices: [], usage: usage(rec) };
}

/** The `limbic` field of a non-stream response. */
export function limbicSummary(job: Job, rec: TraceRecord): Record<string, unknown> {
  return {
    trace_id: rec.id,
    layer: rec.layer,
    watched: rec.watched,
    tokens: rec.tokens.map(({ z: _z, t_ms: _t, ...t }) => t),
    alerts: rec.alerts,
    regulation: rec.regulation,
    ...(job.promptReadouts
      ? {
          prompt_tokens: rec.prompt_tokens.map((p) => ({
            position: p.position,
            token_id: p.token_id,
            token: p.token,
            readouts: Object.fromEntries(
              rec.emotions
                .map((e, i) => [e, p.z?.[i] ?? 0] as const)
                .sort((a, b) => b[1] - a[1])
                .filter(([e], rank) => rank < job.top || rec.watched.includes(e)),
            ),
          })),
        }
      : {}),
  };
}

export function completionBody(job: Job, rec: TraceRecord): Record<string, unknown> {
  const ids = responseIds(rec);
  const finish = rec.finish_reason ?? 'stop';
  const choice =
    job.endpoint === 'chat'
      ? { index: 0, message: { role: 'assistant', content: rec.text, refusal: null }, logprobs: null, finish_reason: finish }
      : { index: 0, text: rec.text, logprobs: null, finish_reason: finish };
  return {
    id: ids.id,
    object: job.endpoint === 'chat' ? 'chat.completion' : 'text_completion',
    created: ids.created,
    model: ids.model,
    system_fingerprint: null,
    choices: [choice],
    usage: usage(rec),
    limbic: limbicSummary(job, rec),
  };
}
