// Writer on an OpenAI-compatible server (llama.cpp's llama-server, vLLM, Ollama, LM Studio, hosted
// APIs): non-streaming POST {base}/chat/completions through fetch, with a per-request timeout and
// retries with exponential backoff on 429, 5xx, timeouts and network errors (Retry-After honoured).
// The API key comes from an environment variable (default OPENAI_API_KEY) and is sent only if set.
// Reference: https://platform.openai.com/docs/api-reference/chat/create
import { WriterAuthError, WriterError, type OpenWriterOptions, type WriteRequest, type WriteResult, type Writer } from './writer.ts';

const DEFAULT_TIMEOUT_MS = 300_000;
const MAX_DELAY_MS = 60_000;

/** "http://host:8080/v1/" and "http://host:8080/v1/chat/completions" both become "http://host:8080/v1". */
export function normalizeBaseUrl(url: string): string {
  let u = url.trim().replace(/\/+$/, '');
  u = u.replace(/\/chat\/completions$/i, '');
  return u;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((res, rej) => {
    if (signal?.aborted) return rej(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      res();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      rej(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Delay in ms from a Retry-After header (seconds or an HTTP date), or undefined. */
function retryAfterMs(h: string | null): number | undefined {
  if (h === null || h.trim() === '') return undefined;
  const s = Number(h);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const t = Date.parse(h);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : undefined;
}

/** The server's own error message from a JSON error body ({"error": {"message"}} or {"error": "..."}), else the text. */
function serverMessage(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: unknown; message?: unknown; detail?: unknown };
    const e = j.error;
    if (typeof e === 'string') return e;
    if (e && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string') return (e as { message: string }).message;
    if (typeof j.message === 'string') return j.message;
    if (typeof j.detail === 'string') return j.detail;
  } catch {
    // not JSON
  }
  const t = body.trim().replace(/\s+/g, ' ');
  return t.length > 300 ? `${t.slice(0, 300)}...` : t;
}

interface HttpOutcome {
  status: number;
  body: string;
  headers: Headers;
}

export interface OpenAiClient {
  base: string;
  request(method: 'GET' | 'POST', path: string, body: unknown, signal?: AbortSignal): Promise<unknown>;
}

/** A small JSON client with the retry, timeout and error policy of the writer. */
export function openAiClient(baseUrl: string, opts: OpenWriterOptions = {}): OpenAiClient {
  const base = normalizeBaseUrl(baseUrl);
  const keyEnv = opts.apiKeyEnv ?? 'OPENAI_API_KEY';
  const key = (opts.env ?? process.env)[keyEnv];
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const retries = Math.max(0, Math.floor(opts.retries ?? 5));
  const baseDelay = opts.retryBaseMs ?? 1000;

  async function once(method: string, url: string, body: unknown, signal?: AbortSignal): Promise<HttpOutcome> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (key) headers.authorization = `Bearer ${key}`;
    const res = await fetch(url, { method, headers, signal: combined, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: await res.text(), headers: res.headers };
  }

  async function request(method: 'GET' | 'POST', path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    const url = `${base}${path}`;
    for (let attempt = 0; ; attempt++) {
      let retryReason: string;
      let serverDelay: number | undefined;
      try {
        const r = await once(method, url, body, signal);
        if (r.status >= 200 && r.status < 300) {
          try {
            return JSON.parse(r.body) as unknown;
          } catch {
            throw new WriterError(`${method} ${url} returned a body that is not JSON: ${serverMessage(r.body)}`, 'check that the URL is an OpenAI-compatible API base (usually ending in /v1)');
          }
        }
        const msg = serverMessage(r.body);
        if (r.status === 401 || r.status === 403) {
          throw new WriterAuthError(
            `${url} refused the request (HTTP ${r.status}${msg ? `: ${msg}` : ''})`,
            key
              ? `the API key in $${keyEnv} was not accepted: check it, or name another variable with --api-key-env`
              : `no API key was sent because $${keyEnv} is not set: export ${keyEnv}=<key>, or name another variable with --api-key-env`,
          );
        }
        if (r.status === 404) {
          throw new WriterError(`${method} ${url} not found (HTTP 404${msg ? `: ${msg}` : ''})`,
            'the base URL should be the API root that holds /chat/completions, usually ending in /v1 (e.g. http://127.0.0.1:8080/v1); also check --writer-model');
        }
        if (r.status !== 429 && r.status < 500) {
          throw new WriterError(`${url} rejected the request (HTTP ${r.status}${msg ? `: ${msg}` : ''})`, 'check --writer-model and that the server accepts chat completions');
        }
        retryReason = `HTTP ${r.status}${msg ? ` (${msg})` : ''}`;
        serverDelay = retryAfterMs(r.headers.get('retry-after'));
      } catch (err) {
        if (err instanceof WriterError) throw err;
        if (signal?.aborted) throw signal.reason ?? err;
        const e = err as Error & { cause?: { code?: string; message?: string } };
        retryReason = e.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : `network error (${e.cause?.code ?? e.cause?.message ?? e.message})`;
      }
      if (attempt >= retries) {
        throw new WriterError(`${method} ${url} failed after ${attempt + 1} attempt(s): ${retryReason}`,
          'check that the server is running and reachable; raise --retries or --timeout for a slow or busy server');
      }
      const delayMs = Math.min(MAX_DELAY_MS, serverDelay ?? baseDelay * 2 ** attempt);
      opts.onEvent?.({ type: 'retry', attempt: attempt + 1, of: retries, delayMs, reason: retryReason });
      await sleep(delayMs, signal);
    }
  }

  return { base, request };
}

/** The ids GET {base}/models lists. */
export async function listModels(client: OpenAiClient, signal?: AbortSignal): Promise<string[]> {
  const j = (await client.request('GET', '/models', undefined, signal)) as { data?: Array<{ id?: unknown }> };
  return Array.isArray(j.data) ? j.data.map((m) => m.id).filter((id): id is string => typeof id === 'string') : [];
}

function completionText(j: unknown, url: string): WriteResult {
  const choice = (j as { choices?: Array<{ message?: { content?: unknown }; finish_reason?: unknown }> }).choices?.[0];
  if (!choice || typeof choice !== 'object') {
    throw new WriterError(`${url} answered without choices[0]`, 'the server does not look OpenAI-compatible; check the base URL');
  }
  const content = choice.message?.content;
  const text = typeof content === 'string' ? content : '';
  const fr = choice.finish_reason;
  return { text, finishReason: fr === 'length' ? 'length' : fr === 'stop' || fr === 'eos' ? 'stop' : 'other' };
}

export async function openAiWriter(url: string, opts: OpenWriterOptions = {}): Promise<Writer> {
  const client = openAiClient(url, opts);
  let model = opts.model;
  if (model === undefined || model === '') {
    let ids: string[];
    try {
      ids = await listModels(client);
    } catch (err) {
      if (err instanceof WriterAuthError) throw err;
      throw new WriterError(`no --writer-model given and ${client.base}/models could not be listed (${(err as Error).message.split('\n')[0]})`, 'pass the served model name with --writer-model');
    }
    if (ids.length !== 1) {
      throw new WriterError(`no --writer-model given and ${client.base}/models lists ${ids.length === 0 ? 'no models' : `${ids.length} models: ${ids.slice(0, 10).join(', ')}`}`,
        'pass the served model name with --writer-model');
    }
    model = ids[0]!;
  }
  const name = model;
  return {
    id: `openai:${name}`,
    kind: 'openai',
    maxConcurrency: 64,
    async write(req: WriteRequest): Promise<WriteResult> {
      const body = {
        model: name,
        messages: req.messages,
        max_tokens: req.maxTokens,
        temperature: req.temperature,
        ...(req.topP !== undefined ? { top_p: req.topP } : {}),
        seed: req.seed,
        stream: false,
      };
      return completionText(await client.request('POST', '/chat/completions', body, req.signal), `${client.base}/chat/completions`);
    },
    close: async () => {},
  };
}
