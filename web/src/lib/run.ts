// One model reply as the dashboard holds it: tokens with their read-outs, alerts and regulation
// events, built chunk by chunk from a live stream (applyChunk) or all at once from a recorded trace.
// Pure state and helpers; the views in ui/ render it.
import type { AlertInfo, Readouts, RegulationInfo, StreamChunk } from './api.ts';

export interface TokenView {
  /** What the token adds to the reply ('' for part of a UTF-8 character or the end token). */
  text: string;
  position: number;
  /** The server's per-token read-outs: its top emotions plus the watched ones. */
  readouts: Readouts;
  tokenId?: number;
  /** The token's own string. */
  token?: string;
  /** Every pack emotion's z (traces carry them), for the map. */
  full?: Readouts;
  pc1?: number;
  pc2?: number;
}

export interface RunState {
  tokens: TokenView[];
  alerts: AlertInfo[];
  regulation: RegulationInfo[];
  /** Emotions seen in read-outs, in first-seen order. */
  emotions: string[];
  /** Emotions the server reports for every token (the request's plus its rules'), from the stream's first chunk. */
  watched: string[];
  traceId: string | null;
  finishReason: string | null;
  error: string | null;
  model: string | null;
}

export function emptyRun(): RunState {
  return { tokens: [], alerts: [], regulation: [], emotions: [], watched: [], traceId: null, finishReason: null, error: null, model: null };
}

/** What one chunk added, so views can update incrementally. */
export interface ChunkEffect {
  token?: TokenView;
  alert?: AlertInfo;
  regulation?: RegulationInfo;
  finished?: string;
  error?: string;
}

function noteEmotions(state: RunState, readouts: Readouts): void {
  for (const e of Object.keys(readouts)) if (!state.emotions.includes(e)) state.emotions.push(e);
}

/** Folds one stream chunk into the run (mutating it) and says what changed. */
export function applyChunk(state: RunState, chunk: StreamChunk): ChunkEffect {
  const effect: ChunkEffect = {};
  if (chunk.error !== undefined) {
    const e = chunk.error;
    state.error = typeof e === 'string' ? e : [e.message ?? 'server error', e.hint].filter(Boolean).join(' — ');
    effect.error = state.error;
    return effect;
  }
  if (chunk.model) state.model = chunk.model;
  const choice = chunk.choices?.[0];
  const text = choice?.delta?.content ?? choice?.text ?? '';
  const lim = chunk.limbic;
  if (lim?.alert) {
    state.alerts.push(lim.alert);
    effect.alert = lim.alert;
  }
  if (lim?.regulation) {
    const r = lim.regulation;
    const open = r.active === false ? [...state.regulation].reverse().find((x) => x.emotion === r.emotion && x.rule === r.rule && (x.to_position === null || x.to_position === undefined)) : undefined;
    if (open) open.to_position = r.to_position ?? r.from_position;
    else state.regulation.push({ ...r });
    effect.regulation = r;
  }
  if (lim?.watched) state.watched = [...lim.watched];
  if (lim?.trace_id) state.traceId = lim.trace_id;
  if (lim?.done?.trace_id) state.traceId = lim.done.trace_id;
  const hasTokenInfo = lim !== undefined && (lim.readouts !== undefined || lim.position !== undefined);
  if (hasTokenInfo || text !== '') {
    const last = state.tokens[state.tokens.length - 1];
    const tok: TokenView = {
      text: text !== '' ? text : typeof lim?.text === 'string' ? lim.text : '',
      position: typeof lim?.position === 'number' ? lim.position : last ? last.position + 1 : 0,
      readouts: lim?.readouts ?? {},
    };
    if (typeof lim?.token_id === 'number') tok.tokenId = lim.token_id;
    if (typeof lim?.token === 'string') tok.token = lim.token;
    if (typeof lim?.pc1 === 'number' && typeof lim?.pc2 === 'number') {
      tok.pc1 = lim.pc1;
      tok.pc2 = lim.pc2;
    }
    noteEmotions(state, tok.readouts);
    state.tokens.push(tok);
    effect.token = tok;
  }
  if (choice?.finish_reason) {
    state.finishReason = choice.finish_reason;
    effect.finished = choice.finish_reason;
  }
  return effect;
}

/** The z-series of one emotion over the run's tokens (NaN where a token has no read-out). */
export function series(tokens: readonly TokenView[], emotion: string): number[] {
  return tokens.map((t) => {
    const v = t.readouts[emotion];
    return typeof v === 'number' ? v : NaN;
  });
}

/** The emotions to chart: the watched ones first (in order), then any others every token carries. */
export function chartEmotions(state: Pick<RunState, 'tokens' | 'watched'>, preferred: readonly string[] = []): string[] {
  const out = [...preferred.filter((e) => state.watched.length === 0 || state.watched.includes(e))];
  for (const e of state.watched) if (!out.includes(e)) out.push(e);
  if (out.length === 0 && state.tokens.length > 0) {
    // No watched list (an older server or a trace without one): the emotions on every token.
    const first = Object.keys(state.tokens[0]!.readouts);
    for (const e of first) if (state.tokens.every((t) => e in t.readouts)) out.push(e);
  }
  return out;
}

/** The full text of the run. */
export function runText(state: RunState): string {
  return state.tokens.map((t) => t.text).join('');
}
