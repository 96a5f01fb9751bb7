// Network side of the Hugging Face Hub client (src/engine/hub.ts): requests with hand-followed
// redirects (the token only goes to the Hub's origin), retries with backoff, mapping HTTP statuses
// to HubError subclasses, revision and file metadata, and the resumable, verified download of one
// blob into blobs/{etag}. pullModel() drives these; nothing here is public API.

import { createHash, type Hash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { COMMIT_RE, fileSize, findCachedSnapshot } from './hubCache.ts';
import {
  HubAuthError, HubError, HubHttpError, HubIntegrityError, HubNetworkError, HubNotFoundError, HubResponseError,
} from './hubErrors.ts';

// ---------------------------------------------------------------------------------------------
// HTTP

export interface Ctx {
  repoId: string;
  revision: string;
  repoDir: string;
  endpoint: string;
  endpointOrigin: string;
  token: string | undefined;
  fetch: typeof fetch;
  signal: AbortSignal;
  retries: number;
  retryDelayMs: number;
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

class RetryableStatus extends Error {
  constructor(readonly status: number, readonly url: string, readonly serverMessage?: string) {
    super(`HTTP ${status} for ${url}`);
  }
}

class ShortRead extends Error {}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

async function discard(res: Response): Promise<void> {
  try { await res.body?.cancel(); } catch { /* already closed */ }
}

/**
 * One request, following redirects by hand so the token only goes to the Hub endpoint's origin.
 * With stopAtLinked, a redirect that carries X-Linked-Etag (the Hub's answer for LFS files, pointing
 * at the CDN) is returned as is, because its headers are the ones that name the blob.
 */
async function send(ctx: Ctx, url: string, method: 'GET' | 'HEAD', headers: Record<string, string>, stopAtLinked = false): Promise<Response> {
  let current = url;
  for (let hop = 0; hop < 10; hop++) {
    const h: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'limbic (node)', ...headers };
    if (ctx.token && new URL(current).origin === ctx.endpointOrigin) h.authorization = `Bearer ${ctx.token}`;
    const res = await ctx.fetch(current, { method, headers: h, redirect: 'manual', signal: ctx.signal });
    const location = res.headers.get('location');
    if (!isRedirect(res.status) || !location) return res;
    if (stopAtLinked && res.headers.has('x-linked-etag')) return res;
    await discard(res);
    current = new URL(location, current).toString();
  }
  throw new HubResponseError(`too many redirects for ${url}`);
}

function backoff(ctx: Ctx, attempt: number): number {
  return Math.min(30_000, ctx.retryDelayMs * 2 ** Math.max(0, attempt - 1));
}

async function sleep(ctx: Ctx, ms: number): Promise<void> {
  try { await delay(ms, undefined, { signal: ctx.signal }); } catch { ctx.signal.throwIfAborted(); }
}

/** send() with retries on network errors and retryable statuses; other statuses are returned. */
async function request(ctx: Ctx, url: string, method: 'GET' | 'HEAD', stopAtLinked = false): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await send(ctx, url, method, {}, stopAtLinked);
      if (!RETRYABLE_STATUS.has(res.status) || attempt > ctx.retries) return res;
      await discard(res);
    } catch (e) {
      ctx.signal.throwIfAborted();
      if (e instanceof HubError) throw e;
      if (attempt > ctx.retries) throw await networkError(ctx, url, e);
    }
    await sleep(ctx, backoff(ctx, attempt));
  }
}

function describeCause(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = (e as Error & { cause?: unknown }).cause;
  const code = cause && typeof cause === 'object' && 'code' in cause ? String((cause as { code: unknown }).code) : '';
  const cmsg = cause instanceof Error ? cause.message : '';
  return [e.message, code && !cmsg.includes(code) ? code : '', cmsg].filter(Boolean).join(': ');
}

async function networkError(ctx: Ctx, url: string, e: unknown): Promise<HubNetworkError> {
  const snap = await findCachedSnapshot(ctx.repoDir, ctx.revision);
  const hint = snap.ok
    ? `a cached copy of ${ctx.repoId}@${ctx.revision} exists (commit ${snap.commit.slice(0, 10)}); ` +
      'use it without network: set HF_HUB_OFFLINE=1 or pass --offline (offline: true)'
    : `check your connection or proxy (HF_ENDPOINT=${ctx.endpoint}); nothing of ${ctx.repoId} is cached yet, ` +
      'so offline mode will not help; partial downloads resume when you retry';
  return new HubNetworkError(`cannot reach the Hugging Face Hub at ${new URL(url).origin}: ${describeCause(e)}`, hint, e);
}

function statusError(ctx: Ctx, res: Response, kind: 'metadata' | 'file', file?: string): HubError {
  const code = res.headers.get('x-error-code') ?? '';
  const msg = res.headers.get('x-error-message') ?? undefined;
  if (res.status === 401 || res.status === 403) {
    return new HubAuthError(ctx.repoId, res.status, Boolean(ctx.token), code === 'GatedRepo' || /gated/i.test(msg ?? ''), msg);
  }
  if (res.status === 404) {
    if (code === 'RepoNotFound') return new HubNotFoundError(ctx.repoId, ctx.revision, 'repo');
    if (code === 'RevisionNotFound') return new HubNotFoundError(ctx.repoId, ctx.revision, 'revision');
    if (code === 'EntryNotFound' || kind === 'file') return new HubNotFoundError(ctx.repoId, ctx.revision, 'file', file);
    return new HubNotFoundError(ctx.repoId, ctx.revision, 'repo-or-revision');
  }
  return new HubHttpError(res.status, res.url || ctx.endpoint, msg);
}

// ---------------------------------------------------------------------------------------------
// Metadata

export interface RemoteFile {
  path: string;
  etag: string;
  size: number | undefined;
}

function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

export async function fetchRevision(ctx: Ctx): Promise<{ commit: string; files: string[] }> {
  const url = `${ctx.endpoint}/api/models/${ctx.repoId}/revision/${encodeURIComponent(ctx.revision)}`;
  const res = await request(ctx, url, 'GET');
  if (!res.ok) { await discard(res); throw statusError(ctx, res, 'metadata'); }
  let body: unknown;
  try { body = await res.json(); } catch (e) {
    ctx.signal.throwIfAborted();
    throw new HubResponseError(`invalid JSON from ${url}: ${describeCause(e)}`);
  }
  const b = body as { sha?: unknown; siblings?: unknown };
  if (typeof b.sha !== 'string' || !COMMIT_RE.test(b.sha) || !Array.isArray(b.siblings)) {
    throw new HubResponseError(`unexpected answer from ${url}: expected {sha, siblings}`);
  }
  const files = (b.siblings as unknown[])
    .map((s) => (s && typeof s === 'object' ? (s as { rfilename?: unknown }).rfilename : undefined))
    .filter((f): f is string => typeof f === 'string');
  return { commit: b.sha, files };
}

function normalizeEtag(raw: string | null): string | undefined {
  if (!raw) return undefined;
  const e = raw.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
  return e || undefined;
}

export async function fetchFileMeta(ctx: Ctx, commit: string, file: string): Promise<RemoteFile> {
  const url = `${ctx.endpoint}/${ctx.repoId}/resolve/${commit}/${encodePath(file)}`;
  const res = await request(ctx, url, 'HEAD', true);
  await discard(res);
  if (!res.ok && !isRedirect(res.status)) throw statusError(ctx, res, 'file', file);
  const etag = normalizeEtag(res.headers.get('x-linked-etag')) ?? normalizeEtag(res.headers.get('etag'));
  if (!etag) throw new HubResponseError(`no ETag for ${file} at ${url}; cannot name its blob`);
  if (!/^[A-Za-z0-9._-]+$/.test(etag) || etag === '.' || etag === '..') {
    throw new HubResponseError(`unusable ETag ${JSON.stringify(etag)} for ${file}`);
  }
  const sizeHeader = res.headers.get('x-linked-size') ?? res.headers.get('content-length');
  const size = sizeHeader !== null && /^\d+$/.test(sizeHeader.trim()) ? Number(sizeHeader) : undefined;
  return { path: file, etag, size };
}

// ---------------------------------------------------------------------------------------------
// Downloading one blob

export interface Job {
  file: RemoteFile;
  /** Other selected paths with the same content (same ETag). */
  alsoPaths: string[];
  resumeFrom: number;
}

async function hashPrefix(file: string, hash: Hash, signal: AbortSignal): Promise<void> {
  for await (const chunk of createReadStream(file, { signal })) hash.update(chunk as Buffer);
}

function parseContentRangeStart(v: string | null): number | undefined {
  const m = v ? /^bytes\s+(\d+)-/i.exec(v.trim()) : null;
  return m ? Number(m[1]) : undefined;
}

/** Download into blobs/<etag>.incomplete (resuming with Range), verify, rename to blobs/<etag>. */
export async function downloadBlob(ctx: Ctx, commit: string, job: Job, blobPath: string, onBytes: (delta: number, have: number) => void): Promise<void> {
  const { file } = job;
  const url = `${ctx.endpoint}/${ctx.repoId}/resolve/${commit}/${encodePath(file.path)}`;
  const partial = `${blobPath}.incomplete`;
  const verifySha = /^[0-9a-f]{64}$/.test(file.etag); // LFS ETags are the SHA-256 of the content
  let hash: Hash | undefined = verifySha ? createHash('sha256') : undefined;
  let have = (await fileSize(partial)) ?? 0;
  if (file.size !== undefined && have > file.size) { await fsp.truncate(partial, 0); onBytes(-have, 0); have = 0; }
  if (have > 0 && hash) await hashPrefix(partial, hash, ctx.signal);

  let failures = 0;
  for (;;) {
    if (file.size !== undefined && have === file.size) break;
    let progressed = false;
    try {
      const res = await send(ctx, url, 'GET', have > 0 ? { range: `bytes=${have}-` } : {});
      if (res.status === 416 && have > 0) {
        // Range not satisfiable: the partial is as long as (or longer than) the file; start over if unsure.
        await discard(res);
        if (file.size === undefined) break;
        await fsp.truncate(partial, 0); onBytes(-have, 0); have = 0; hash = verifySha ? createHash('sha256') : undefined;
        continue;
      }
      if (RETRYABLE_STATUS.has(res.status)) { await discard(res); throw new RetryableStatus(res.status, url); }
      if (!res.ok) { await discard(res); throw statusError(ctx, res, 'file', file.path); }
      let append = false;
      if (res.status === 206) {
        if (parseContentRangeStart(res.headers.get('content-range')) === have) append = true;
        else { await discard(res); have = restart(have); hash = verifySha ? createHash('sha256') : undefined; continue; }
      } else if (have > 0) {
        have = restart(have); hash = verifySha ? createHash('sha256') : undefined; // server ignored Range
      }
      if (!res.body) throw new ShortRead('empty body');
      const fh = await fsp.open(partial, append ? 'a' : 'w');
      try {
        for await (const chunk of res.body) {
          ctx.signal.throwIfAborted();
          await fh.write(chunk);
          hash?.update(chunk);
          have += chunk.byteLength;
          progressed = true;
          onBytes(chunk.byteLength, have);
        }
      } finally {
        await fh.close();
      }
      if (file.size === undefined) break; // nothing to compare against: a clean end of stream is the end
      if (have < file.size) throw new ShortRead(`connection closed after ${have} of ${file.size} bytes`);
      if (have > file.size) {
        await fsp.rm(partial, { force: true });
        throw new HubIntegrityError(file.path, `got ${have} bytes, expected ${file.size}`);
      }
    } catch (e) {
      ctx.signal.throwIfAborted();
      if (e instanceof HubError) throw e;
      failures = progressed ? 1 : failures + 1;
      if (failures > ctx.retries) {
        if (e instanceof RetryableStatus) throw new HubHttpError(e.status, url);
        throw await networkError(ctx, url, e);
      }
      await sleep(ctx, backoff(ctx, failures));
    }
  }

  if (hash) {
    const digest = hash.digest('hex');
    if (digest !== file.etag) {
      await fsp.rm(partial, { force: true });
      throw new HubIntegrityError(file.path, `SHA-256 ${digest} does not match the Hub's ${file.etag}`);
    }
  }
  await fsp.rename(partial, blobPath);

  function restart(prev: number): number {
    onBytes(-prev, 0);
    return 0;
  }
}

/** Run fn over items with at most n in flight; the first failure aborts `ctl` so the others stop. */
export async function pool<T>(items: readonly T[], n: number, ctl: AbortController, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let firstError: { e: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !firstError) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (e) {
        firstError ??= { e };
        ctl.abort(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
  if (firstError) throw firstError.e;
}
