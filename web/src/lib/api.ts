// The monitor server's HTTP API as the dashboard sees it (contract: src/server/API.md): OpenAI
// chat/completions endpoints extended with a `limbic` field, emotion geometry and recorded traces.
// Only the fields the dashboard uses are typed; the rest pass through.
// fetch-based, so it runs in the browser and in Node tests alike. Every request carries the optional
// bearer token.
import { sseJson } from './sse.ts';

export interface Readouts {
  [emotion: string]: number;
}

export interface AlertInfo {
  rule: string;
  kind?: string;
  emotion: string;
  value: number;
  threshold?: number;
  position: number;
  index?: number;
  message: string;
}

export interface RegulationInfo {
  emotion: string;
  strength: number;
  rule?: string;
  mode?: string;
  from_position: number;
  /** Exclusive; null while still engaged. */
  to_position?: number | null;
  /** Stream events: true when it engages, false when it is released. */
  active?: boolean;
}

/** The `limbic` field of a stream chunk: the stream's header, a token's read-outs, an alert, a regulation event or the end. */
export interface LimbicChunk {
  trace_id?: string;
  layer?: number;
  watched?: string[];
  index?: number;
  position?: number;
  token_id?: number;
  /** The token's own string. */
  token?: string;
  /** What the token adds to the reply. */
  text?: string;
  readouts?: Readouts;
  /** Optional map coordinates the server may send for the token. */
  pc1?: number;
  pc2?: number;
  alert?: AlertInfo;
  regulation?: RegulationInfo;
  done?: { trace_id?: string; tokens?: number; alerts?: number };
  [k: string]: unknown;
}

export interface StreamChunk {
  id?: string;
  object?: string;
  model?: string;
  choices?: { index?: number; delta?: { role?: string; content?: string | null }; text?: string; finish_reason?: string | null }[];
  limbic?: LimbicChunk;
  usage?: Record<string, number>;
  error?: { message?: string; type?: string; hint?: string } | string;
}

export interface ModelInfo {
  id: string;
  limbic?: { chat_template?: boolean; layers?: number[]; default_layer?: number; [k: string]: unknown };
  [k: string]: unknown;
}

export interface EmotionPoint {
  name: string;
  pc1: number | null;
  pc2: number | null;
  cluster: string | number | null;
}

export interface EmotionsInfo {
  emotions: EmotionPoint[];
  layers: number[];
  default_layer: number;
  watched: string[];
  clusters?: { id: number | string; label?: string; members?: string[] }[];
  explained?: number[];
  [k: string]: unknown;
}

export interface TraceSummary {
  id: string;
  created: number | string;
  model: string;
  preview: string;
  prompt_preview?: string;
  status?: string;
  tokens: number;
  alerts: number;
  regulated?: boolean;
}

export interface TraceToken {
  index?: number;
  position: number;
  token_id?: number;
  token?: string;
  text: string;
  readouts: Readouts;
  /** z-scores of every pack emotion, in the order of Trace.emotions. */
  z?: number[];
}

export interface Trace {
  id: string;
  created?: number | string;
  model?: string;
  status?: string;
  /** The pack's emotions: the order of every token's z array. */
  emotions?: string[];
  watched?: string[];
  messages?: { role: string; content: string | { type: string; text?: string }[] }[];
  prompt?: string | string[];
  tokens: TraceToken[];
  alerts: AlertInfo[];
  steer?: Record<string, number> | null;
  regulation?: RegulationInfo[] | null;
  [k: string]: unknown;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export type RuleKind = 'threshold' | 'moving-average' | 'rise';

/** An alert rule as the server takes it: fires when the condition on `emotion`'s z becomes true. */
export interface AlertRule {
  id: string;
  emotion: string;
  kind: RuleKind;
  value: number;
  window?: number;
  message?: string;
}

export interface LimbicRequest {
  emotions?: string[];
  layer?: number;
  steer?: Record<string, number>;
  rules?: AlertRule[];
  regulate?: { emotion: string; strength: number; when: string; mode?: 'while' | 'rest' };
  top?: number;
}

export interface GenerateRequest {
  model?: string;
  messages?: ChatMessage[];
  prompt?: string;
  max_tokens?: number;
  temperature?: number;
  seed?: number;
  limbic?: LimbicRequest;
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    readonly status: number,
    readonly hint?: string,
  ) {
    super(message);
  }
}

async function errorFrom(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`;
  let hint: string | undefined;
  try {
    const body = (await res.json()) as { error?: { message?: string; hint?: string } | string };
    if (typeof body.error === 'string') message = body.error;
    else if (body.error?.message) {
      message = body.error.message;
      hint = body.error.hint;
    }
  } catch {
    // not JSON: keep the status line
  }
  if (res.status === 401) hint ??= 'the server needs a bearer token: open the page with ?token=... or set it in Settings';
  return new ApiError(message, res.status, hint);
}

export class LimbicClient {
  constructor(
    /** Base URL ('' for the page's own origin). */
    readonly base = '',
    public token: string | null = null,
    private readonly fetchImpl: typeof fetch = (...a) => fetch(...a),
  ) {}

  private headers(json = false): Record<string, string> {
    const h: Record<string, string> = {};
    if (this.token) h['Authorization'] = `Bearer ${this.token}`;
    if (json) h['Content-Type'] = 'application/json';
    return h;
  }

  async getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
    const res = await this.fetchImpl(`${this.base}${path}`, { headers: this.headers(), signal: signal ?? null });
    if (!res.ok) throw await errorFrom(res);
    return (await res.json()) as T;
  }

  async models(): Promise<ModelInfo[]> {
    return (await this.getJson<{ data: ModelInfo[] }>('/v1/models')).data;
  }

  emotions(): Promise<EmotionsInfo> {
    return this.getJson<EmotionsInfo>('/v1/emotions');
  }

  async traces(): Promise<TraceSummary[]> {
    return (await this.getJson<{ data: TraceSummary[] }>('/v1/traces')).data;
  }

  trace(id: string): Promise<Trace> {
    return this.getJson<Trace>(`/v1/traces/${encodeURIComponent(id)}`);
  }

  /** Streams a chat (messages) or plain completion (prompt) request; yields the parsed chunks. */
  async *stream(req: GenerateRequest, signal?: AbortSignal): AsyncGenerator<StreamChunk> {
    const path = req.messages ? '/v1/chat/completions' : '/v1/completions';
    const res = await this.fetchImpl(`${this.base}${path}`, {
      method: 'POST',
      headers: { ...this.headers(true), Accept: 'text/event-stream' },
      body: JSON.stringify({ ...req, stream: true }),
      signal: signal ?? null,
    });
    if (!res.ok) throw await errorFrom(res);
    if (!res.body) throw new ApiError('the server sent no response body', res.status);
    yield* sseJson<StreamChunk>(res.body, signal);
  }
}
