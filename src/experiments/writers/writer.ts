// Writers: the instruct models `limbic stories` asks for stories and dialogues. One interface, two
// implementations: limbic's own engine (a local model directory or a pulled hub id, prompted through
// the model's chat template; ./engine.ts) and any OpenAI-compatible server (POST /chat/completions;
// ./openai.ts). openWriter() tells them apart: an http(s):// URL is an endpoint, anything else a model.

import { LimbicError } from '../../engine/errors.ts';

export interface WriterMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface WriteRequest {
  messages: WriterMessage[];
  maxTokens: number;
  temperature: number;
  topP?: number;
  /** Per-request seed; the engine reproduces it exactly, servers as far as they honour `seed`. */
  seed: number;
  signal?: AbortSignal;
}

export interface WriteResult {
  text: string;
  /** 'length' when the writer stopped at maxTokens (the text is then likely cut off). */
  finishReason: 'stop' | 'length' | 'other';
}

/** Something that answers a chat with one completion. */
export interface Writer {
  /** Stable name recorded in each record's source and in the run's parameter hash. */
  readonly id: string;
  readonly kind: 'engine' | 'openai';
  /** How many requests it makes sense to have in flight at once. */
  readonly maxConcurrency: number;
  write(request: WriteRequest): Promise<WriteResult>;
  close(): Promise<void>;
}

/** A writer that cannot produce text: bad endpoint, refused request, unusable model. */
export class WriterError extends LimbicError {}

/** The endpoint refused the credentials (HTTP 401/403). */
export class WriterAuthError extends WriterError {}

export type WriterEvent =
  | { type: 'retry'; attempt: number; of: number; delayMs: number; reason: string }
  | { type: 'model-load'; spec: string }
  | { type: 'graph-ready'; variant: string; cacheHit: boolean; ms: number };

export interface OpenWriterOptions {
  /** Endpoint only: the served model's name; when absent, the one model listed by GET /models. */
  model?: string;
  /** Endpoint only: environment variable holding the API key (default OPENAI_API_KEY). */
  apiKeyEnv?: string;
  /** Environment to read the key from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Endpoint only: per-request timeout in ms (default 300000). */
  timeoutMs?: number;
  /** Endpoint only: retries after a 429, a 5xx, a timeout or a network error (default 5). */
  retries?: number;
  /** Endpoint only: first retry delay in ms, doubled each time, unless the server sends Retry-After (default 1000). */
  retryBaseMs?: number;
  /** Engine only: intra-op threads and graph cache root. */
  threads?: number;
  cacheDir?: string;
  onEvent?: (e: WriterEvent) => void;
}

/** True for an http:// or https:// URL (an OpenAI-compatible endpoint), false for a path or hub id. */
export function isEndpointUrl(spec: string): boolean {
  return /^https?:\/\//i.test(spec.trim());
}

/**
 * Opens a writer from a command-line spec.
 * @example
 * const w = await openWriter('http://127.0.0.1:8080/v1', { model: 'qwen2.5-7b-instruct' });
 * const { text } = await w.write({ messages: [{ role: 'user', content: 'Hi' }], maxTokens: 32, temperature: 0.9, seed: 1 });
 * await w.close();
 */
export async function openWriter(spec: string, opts: OpenWriterOptions = {}): Promise<Writer> {
  if (isEndpointUrl(spec)) {
    const { openAiWriter } = await import('./openai.ts');
    return openAiWriter(spec, opts);
  }
  if (opts.model !== undefined) {
    throw new WriterError(`a model name (${opts.model}) was given for ${spec}, which is not an endpoint URL`,
      'the model name is only for http(s):// endpoints; for a local model pass its directory or hub id alone');
  }
  const { engineWriter } = await import('./engine.ts');
  return engineWriter(spec, opts);
}
