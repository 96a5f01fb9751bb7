// HTTP plumbing of the monitor server: OpenAI-style error bodies, JSON responses, bounded body
// reading, bearer-token auth (constant-time compare) and a Host check against DNS rebinding when
// bound to loopback. Error shape: https://platform.openai.com/docs/guides/error-codes
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { LimbicError } from '../engine/errors.ts';

export type ErrorType = 'invalid_request_error' | 'authentication_error' | 'rate_limit_error' | 'server_error';

/** An error answered as `{"error": {message, type, param, code, hint}}` with an HTTP status. */
export class ApiError extends LimbicError {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly code: string,
    readonly param: string | null = null,
    readonly apiHint?: string,
    readonly type: ErrorType = status === 401 ? 'authentication_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error',
  ) {
    super(detail, apiHint);
  }

  body(): { error: { message: string; type: ErrorType; param: string | null; code: string; hint?: string } } {
    return { error: { message: this.detail, type: this.type, param: this.param, code: this.code, ...(this.apiHint ? { hint: this.apiHint } : {}) } };
  }
}

/** Any thrown value as an ApiError: library errors with a hint become 400s, the rest 500s. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof LimbicError) {
    const e = err as LimbicError & { param?: string | null; code?: string };
    const msg = err.message.split('\n  hint: ')[0]!;
    return new ApiError(400, msg, typeof e.code === 'string' ? e.code : 'invalid_value', e.param ?? null, err.hint);
  }
  return new ApiError(500, 'internal server error', 'internal_error', null, 'see the server log');
}

export const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store', ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status, err.body(), err.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {});
}

/** Reads a JSON request body of at most `limit` bytes (413 beyond it, 400 for malformed JSON). */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const ct = String(req.headers['content-type'] ?? '');
  if (!/^application\/(.+\+)?json\b/i.test(ct)) throw new ApiError(415, `Content-Type must be application/json, got "${ct.slice(0, 80)}"`, 'unsupported_media_type', null, 'send the body as JSON with Content-Type: application/json');
  const declared = Number(req.headers['content-length']);
  const tooLarge = () => new ApiError(413, `request body exceeds ${limit} bytes`, 'body_too_large', null, 'send a shorter prompt (the server limit is --max-body)');
  if (Number.isFinite(declared) && declared > limit) {
    req.resume(); // drain without keeping it, so the 413 can be read by the client
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) throw new ApiError(400, 'the request body is empty', 'invalid_json', null, 'send a JSON object');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, `malformed JSON in the request body: ${(err as Error).message}`, 'invalid_json', null, 'send a valid JSON object');
  }
}

/** Constant-time bearer-token check; throws 401 when a token is configured and not presented. */
export function checkAuth(req: IncomingMessage, token: string | null): void {
  if (!token) return;
  const h = String(req.headers['authorization'] ?? '');
  const m = /^Bearer\s+(.+)$/i.exec(h.trim());
  if (!m) throw new ApiError(401, 'missing bearer token', 'invalid_api_key', null, 'send Authorization: Bearer <token> (the server was started with --auth-token / LIMBIC_AUTH_TOKEN)');
  const a = createHash('sha256').update(m[1]!).digest();
  const b = createHash('sha256').update(token).digest();
  if (!timingSafeEqual(a, b)) throw new ApiError(401, 'incorrect bearer token', 'invalid_api_key', null, 'use the token the server was started with');
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1';
}

/** Host header check: a loopback-bound server answers only loopback host names (DNS rebinding). */
export function checkHost(req: IncomingMessage, boundToLoopback: boolean): void {
  if (!boundToLoopback) return;
  const host = String(req.headers['host'] ?? '');
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
  if (!isLoopback(name)) throw new ApiError(421, `host "${host.slice(0, 100)}" is not served here`, 'misdirected_request', null, 'this server is bound to loopback; connect through 127.0.0.1 or localhost');
}
