// Hugging Face Hub downloads for limbic's engine layer.
//
// pullModel() fetches a model repository into the same on-disk cache that Python's huggingface_hub
// uses, so a model pulled by limbic is visible to transformers and vice versa:
//
//   <cache>/models--{org}--{name}/blobs/{etag}                 file contents, named by ETag
//   <cache>/models--{org}--{name}/blobs/{etag}.incomplete      partial download (resumed with Range)
//   <cache>/models--{org}--{name}/snapshots/{commit}/{path}    relative symlink to ../../blobs/{etag}
//   <cache>/models--{org}--{name}/refs/{revision}              commit hash the revision pointed at
//
// <cache> = opts.cacheDir ?? $HF_HUB_CACHE ?? ($HF_HOME ?? ~/.cache/huggingface)/hub.
// resolveModelPath() maps a local path or a hub id to a directory without touching the network.
// This module never prints: progress is reported through the optional onProgress callback, and every
// failure is a named HubError subclass that carries a `hint` saying how to fix it.

import { createHash, type Hash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

// ---------------------------------------------------------------------------------------------
// Public types

/** Progress events emitted by pullModel through opts.onProgress. */
export type PullEvent =
  /** Planning finished. `files` are the repo paths that will be downloaded (not already cached),
   *  `totalBytes` their summed size, `cached` how many selected files were already complete. */
  | { type: 'start'; files: string[]; totalBytes: number; cached: number }
  | { type: 'file-start'; path: string; bytes: number }
  /** `downloaded`/`total` cover the whole pull (resumed bytes count as downloaded);
   *  `fileDownloaded`/`fileTotal` cover the current file. */
  | { type: 'progress'; path: string; downloaded: number; total: number; fileDownloaded: number; fileTotal: number }
  | { type: 'file-done'; path: string }
  | { type: 'done'; dir: string };

export interface PullOptions {
  /** Branch, tag or commit hash. Default "main". */
  revision?: string;
  /** Hub cache root (the folder holding models--org--name). Default $HF_HUB_CACHE or $HF_HOME/hub. */
  cacheDir?: string;
  /** Access token; default $HF_TOKEN, then the token file in $HF_HOME. `false` sends no token. */
  token?: string | false;
  /** Hub base URL. Default $HF_ENDPOINT or https://huggingface.co. */
  endpoint?: string;
  /** Never touch the network; resolve from the cache only. Also enabled by HF_HUB_OFFLINE=1. */
  offline?: boolean;
  /** Glob patterns (fnmatch style: `*` also crosses "/") selecting repo files. Default DEFAULT_INCLUDE. */
  include?: string[];
  onProgress?: (e: PullEvent) => void;
  signal?: AbortSignal;
  fetchImpl?: typeof fetch;
  /** Attempts after a failed request or dropped connection (reset whenever bytes arrive). Default 5. */
  retries?: number;
  /** First retry delay in ms, doubled each attempt (capped at 30 s). Default 500. */
  retryDelayMs?: number;
  /** Parallel file downloads. Default 4. */
  concurrency?: number;
}

export interface PullResult {
  /** Snapshot directory: snapshots/{commit} inside the repo's cache folder. */
  dir: string;
  commit: string;
  /** Repo-relative paths (forward slashes) of the selected files, all present under `dir`. */
  files: string[];
}

export interface ResolveOptions {
  cacheDir?: string;
  revision?: string;
}

/** Files pulled when opts.include is not given. */
export const DEFAULT_INCLUDE: readonly string[] = Object.freeze([
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  '*.safetensors',
  'model.safetensors.index.json',
]);

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

// ---------------------------------------------------------------------------------------------
// Errors

/** Base class of every error thrown by this module; `hint` says how to fix the problem. */
export class HubError extends Error {
  readonly hint: string;
  constructor(message: string, hint: string, options?: ErrorOptions) {
    super(`${message}\nhint: ${hint}`, options);
    this.name = 'HubError';
    this.hint = hint;
  }
}

/** The string is not a valid Hub repo id ("org/name"). */
export class InvalidRepoIdError extends HubError {
  constructor(readonly repoId: string) {
    super(`"${repoId}" is not a valid Hugging Face repo id`,
      'use the form org/name as shown on the model page, e.g. Qwen/Qwen2.5-0.5B-Instruct');
    this.name = 'InvalidRepoIdError';
  }
}

/** HTTP 401/403: missing or rejected token, or a gated/private repo. */
export class HubAuthError extends HubError {
  constructor(readonly repoId: string, readonly status: number, tokenSent: boolean, gated: boolean, serverMessage?: string) {
    const what = gated ? `${repoId} is a gated model` : `access to ${repoId} was refused`;
    const extra = serverMessage ? ` (${serverMessage})` : '';
    const hint = tokenSent
      ? `your token was sent but does not grant access: check that HF_TOKEN (or the token in $HF_HOME/token) is valid, ` +
        `and for gated models accept the license on https://huggingface.co/${repoId} with the same account`
      : `no token was sent. Gated and private models need one: accept the license on https://huggingface.co/${repoId}, ` +
        `create a read token at https://huggingface.co/settings/tokens and export HF_TOKEN=hf_... ` +
        `(the Hub also answers 401 for repos that do not exist, so check the spelling too)`;
    super(`Hugging Face Hub: ${what} (HTTP ${status})${extra}`, hint);
    this.name = 'HubAuthError';
  }
}

/** HTTP 404: the repo, the revision or a file does not exist. */
export class HubNotFoundError extends HubError {
  constructor(readonly repoId: string, readonly revision: string, readonly kind: 'repo' | 'revision' | 'file' | 'repo-or-revision', readonly file?: string) {
    const msg =
      kind === 'repo' ? `repository ${repoId} not found on the Hub`
      : kind === 'revision' ? `revision "${revision}" not found in ${repoId}`
      : kind === 'file' ? `file ${file ?? '?'} not found in ${repoId}@${revision}`
      : `repository ${repoId} or its revision "${revision}" not found on the Hub`;
    const hint = kind === 'revision'
      ? 'revision must be a branch, tag or full commit hash that exists in the repo (default "main")'
      : `check the id on https://huggingface.co/${repoId} (ids are "org/name"); private repos also need HF_TOKEN`;
    super(msg, hint);
    this.name = 'HubNotFoundError';
  }
}

/** The Hub could not be reached (DNS, refused connection, reset, timeout) after retrying. */
export class HubNetworkError extends HubError {
  constructor(message: string, hint: string, cause?: unknown) {
    super(message, hint, cause === undefined ? undefined : { cause });
    this.name = 'HubNetworkError';
  }
}

/** An unexpected HTTP status (5xx after retries, 429, ...). */
export class HubHttpError extends HubError {
  constructor(readonly status: number, url: string, serverMessage?: string) {
    super(`Hugging Face Hub answered HTTP ${status} for ${url}${serverMessage ? ` (${serverMessage})` : ''}`,
      status === 429 ? 'rate limited: wait a minute and retry, or set HF_TOKEN (authenticated users get higher limits)'
      : status >= 500 ? 'the Hub or its CDN is having trouble; retry later (partial downloads resume where they stopped)'
      : 'retry later; if it persists, check HF_ENDPOINT and any proxy in between');
    this.name = 'HubHttpError';
  }
}

/** The Hub answered something limbic cannot use (bad JSON, missing ETag, unsafe path). */
export class HubResponseError extends HubError {
  constructor(message: string) {
    super(message, 'check HF_ENDPOINT points at the Hub or a faithful mirror; retry later');
    this.name = 'HubResponseError';
  }
}

/** A downloaded file has the wrong size or SHA-256; the partial file was deleted. */
export class HubIntegrityError extends HubError {
  constructor(file: string, detail: string) {
    super(`downloaded ${file} is corrupt: ${detail}`, 'run the pull again; the corrupt partial file was removed');
    this.name = 'HubIntegrityError';
  }
}

/** No repo file matched the include patterns (or the default set found no safetensors weights). */
export class HubNoFilesError extends HubError {
  constructor(repoId: string, include: readonly string[], hint: string) {
    super(`no files in ${repoId} match ${include.join(', ')}`, hint);
    this.name = 'HubNoFilesError';
  }
}

/** Offline mode and the requested model/revision is not (completely) in the cache. */
export class HubOfflineError extends HubError {
  constructor(readonly repoId: string, revision: string, missing: string) {
    super(`offline mode: ${repoId}@${revision} is not in the Hugging Face cache (${missing})`,
      `connect and run \`npx limbic pull ${repoId}${revision === 'main' ? '' : ` --revision ${revision}`}\` first, ` +
      'or unset HF_HUB_OFFLINE / drop --offline to download it now');
    this.name = 'HubOfflineError';
  }
}

/** resolveModelPath: neither a local path nor a cached hub model. */
export class ModelNotCachedError extends HubError {
  constructor(readonly idOrDir: string, revision: string, missing: string) {
    super(`"${idOrDir}" is not a local file or directory, and ${idOrDir}@${revision} is not in the Hugging Face cache (${missing})`,
      `download it with \`npx limbic pull ${idOrDir}${revision === 'main' ? '' : ` --revision ${revision}`}\`, ` +
      'or pass the path of a local model directory or file');
    this.name = 'ModelNotCachedError';
  }
}

/** resolveModelPath: a path-like argument (./x, /x, x/y/z) that does not exist. */
export class ModelPathNotFoundError extends HubError {
  constructor(readonly p: string) {
    super(`model path "${p}" does not exist`,
      'check the path, or pass a Hugging Face repo id like org/name (pulled first with `npx limbic pull org/name`)');
    this.name = 'ModelPathNotFoundError';
  }
}

// ---------------------------------------------------------------------------------------------
// Cache locations, endpoint, token

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

/** $HF_HOME, default ($XDG_CACHE_HOME ?? ~/.cache)/huggingface. */
export function hfHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HOME) return expandHome(env.HF_HOME);
  const xdg = env.XDG_CACHE_HOME ? expandHome(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(xdg, 'huggingface');
}

/** Hub cache root: cacheDir ?? $HF_HUB_CACHE ?? $HF_HOME/hub. */
export function hubCacheDir(cacheDir?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (cacheDir) return expandHome(cacheDir);
  const fromEnv = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  return fromEnv ? expandHome(fromEnv) : path.join(hfHome(env), 'hub');
}

/** The repo's folder in the cache: <root>/models--org--name. */
export function repoCacheDir(repoId: string, cacheDir?: string): string {
  return path.join(hubCacheDir(cacheDir), ['models', ...repoId.split('/')].join('--'));
}

function resolveEndpoint(opt?: string): string {
  return (opt || process.env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

async function resolveToken(opt: string | false | undefined): Promise<string | undefined> {
  if (opt === false) return undefined;
  if (opt) return opt;
  const env = process.env.HF_TOKEN?.trim();
  if (env) return env;
  const file = process.env.HF_TOKEN_PATH ? expandHome(process.env.HF_TOKEN_PATH) : path.join(hfHome(), 'token');
  try {
    const t = (await fsp.readFile(file, 'utf8')).trim();
    return t || undefined;
  } catch {
    return undefined;
  }
}

function offlineFromEnv(): boolean {
  return ['1', 'ON', 'YES', 'TRUE'].includes((process.env.HF_HUB_OFFLINE ?? '').trim().toUpperCase());
}

// ---------------------------------------------------------------------------------------------
// Repo ids and globs

const SEGMENT = /^[A-Za-z0-9_](?:[\w.-]*[A-Za-z0-9_])?$/;

/** True when `s` has the shape of a Hub model id ("org/name" or a legacy bare "name"). */
export function isHubId(s: string): boolean {
  if (!s || s.length > 200 || s.includes('--') || s.includes('..') || s.endsWith('.git')) return false;
  const parts = s.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1] ?? '';
  return name.length <= 96 && parts.every((p) => SEGMENT.test(p));
}

const globCache = new Map<string, RegExp>();

/** fnmatch-style glob test as huggingface_hub applies allow_patterns: `*` matches any run of
 *  characters including "/", `?` one character, `[abc]`/`[!abc]` a class; a trailing "/" means "folder/*". */
export function matchGlob(pattern: string, file: string): boolean {
  let re = globCache.get(pattern);
  if (!re) {
    const pat = pattern.endsWith('/') ? `${pattern}*` : pattern;
    let src = '';
    for (let i = 0; i < pat.length; i++) {
      const c = pat[i] as string;
      if (c === '*') src += '.*';
      else if (c === '?') src += '.';
      else if (c === '[') {
        const end = pat.indexOf(']', i + 2);
        if (end < 0) { src += '\\['; continue; }
        let body = pat.slice(i + 1, end);
        const neg = body.startsWith('!');
        if (neg) body = body.slice(1);
        src += `[${neg ? '^' : ''}${body.replace(/\\/g, '\\\\').replace(/\^/g, '\\^')}]`;
        i = end;
      } else src += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
    }
    re = new RegExp(`^${src}$`, 's');
    globCache.set(pattern, re);
  }
  return re.test(file);
}

function selectFiles(files: readonly string[], include: readonly string[]): string[] {
  return files.filter((f) => include.some((p) => matchGlob(p, f)));
}

// ---------------------------------------------------------------------------------------------
// Cache reading (no network)

const COMMIT_RE = /^[0-9a-f]{40}$/;

async function exists(p: string): Promise<boolean> {
  try { await fsp.stat(p); return true; } catch { return false; }
}

async function fileSize(p: string): Promise<number | undefined> {
  try { return (await fsp.stat(p)).size; } catch { return undefined; }
}

type CachedSnapshot = { ok: true; dir: string; commit: string } | { ok: false; missing: string };

async function findCachedSnapshot(repoDir: string, revision: string): Promise<CachedSnapshot> {
  if (!(await exists(repoDir))) return { ok: false, missing: `no folder ${repoDir}` };
  let commit: string | undefined;
  if (COMMIT_RE.test(revision) && (await exists(path.join(repoDir, 'snapshots', revision)))) commit = revision;
  else {
    const ref = path.join(repoDir, 'refs', ...revision.split('/'));
    try { commit = (await fsp.readFile(ref, 'utf8')).trim(); } catch { return { ok: false, missing: `no ref ${ref}` }; }
    if (!COMMIT_RE.test(commit)) return { ok: false, missing: `ref ${ref} does not hold a commit hash` };
  }
  const dir = path.join(repoDir, 'snapshots', commit);
  if (!(await exists(dir))) return { ok: false, missing: `no snapshot ${dir}` };
  return { ok: true, dir, commit };
}

/** Repo-relative paths of the files in a snapshot whose link target exists. */
async function listSnapshot(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  let entries: import('node:fs').Dirent[];
  try { entries = await fsp.readdir(dir, { withFileTypes: true }); } catch { return out; }
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listSnapshot(full, rel)));
    else {
      try { if ((await fsp.stat(full)).isFile()) out.push(rel); } catch { /* dangling link: blob missing */ }
    }
  }
  return out.sort();
}

/** Shards named by *.safetensors.index.json files in the snapshot that are not present. */
async function missingShards(dir: string, files: readonly string[]): Promise<string[]> {
  const present = new Set(files);
  const missing: string[] = [];
  for (const f of files.filter((x) => x.endsWith('.safetensors.index.json'))) {
    try {
      const idx = JSON.parse(await fsp.readFile(path.join(dir, f), 'utf8')) as { weight_map?: Record<string, string> };
      const base = f.includes('/') ? f.slice(0, f.lastIndexOf('/') + 1) : '';
      for (const shard of new Set(Object.values(idx.weight_map ?? {}))) {
        if (!present.has(base + shard)) missing.push(base + shard);
      }
    } catch { /* unreadable index: let the loader report it */ }
  }
  return missing;
}

async function resolveOffline(repoId: string, revision: string, repoDir: string, include: readonly string[] | undefined): Promise<PullResult> {
  const snap = await findCachedSnapshot(repoDir, revision);
  if (!snap.ok) throw new HubOfflineError(repoId, revision, snap.missing);
  const all = await listSnapshot(snap.dir);
  const files = include ? selectFiles(all, include) : all;
  if (files.length === 0) {
    throw new HubOfflineError(repoId, revision,
      include ? `snapshot ${snap.dir} has no files matching ${include.join(', ')}` : `snapshot ${snap.dir} is empty`);
  }
  const missing = await missingShards(snap.dir, all);
  if (missing.length > 0) throw new HubOfflineError(repoId, revision, `snapshot is incomplete, missing ${missing.join(', ')}`);
  return { dir: snap.dir, commit: snap.commit, files };
}

// ---------------------------------------------------------------------------------------------
// HTTP

interface Ctx {
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

interface RemoteFile {
  path: string;
  etag: string;
  size: number | undefined;
}

function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

async function fetchRevision(ctx: Ctx): Promise<{ commit: string; files: string[] }> {
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

async function fetchFileMeta(ctx: Ctx, commit: string, file: string): Promise<RemoteFile> {
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

interface Job {
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
async function downloadBlob(ctx: Ctx, commit: string, job: Job, blobPath: string, onBytes: (delta: number, have: number) => void): Promise<void> {
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

async function linkSnapshot(blobPath: string, pointer: string): Promise<void> {
  await fsp.mkdir(path.dirname(pointer), { recursive: true });
  await fsp.rm(pointer, { force: true });
  try {
    await fsp.symlink(path.relative(path.dirname(pointer), blobPath), pointer);
  } catch {
    await fsp.copyFile(blobPath, pointer); // filesystems without symlinks (some Windows setups, FAT, ...)
  }
}

async function writeRef(repoDir: string, revision: string, commit: string): Promise<void> {
  const ref = path.join(repoDir, 'refs', ...revision.split('/'));
  await fsp.mkdir(path.dirname(ref), { recursive: true });
  const tmp = `${ref}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, commit);
  await fsp.rename(tmp, ref);
}

/** Run fn over items with at most n in flight; the first failure aborts `ctl` so the others stop. */
async function pool<T>(items: readonly T[], n: number, ctl: AbortController, fn: (item: T) => Promise<void>): Promise<void> {
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

function safeRelPath(p: string): boolean {
  return p.length > 0 && !p.startsWith('/') && !p.includes('\\') && !p.split('/').some((s) => s === '..' || s === '.' || s === '');
}

// ---------------------------------------------------------------------------------------------
// Public entry points

/**
 * Download (or find in the cache) the selected files of a Hub model repo and return its snapshot
 * directory. Files already complete in the blob store are not downloaded again; interrupted downloads
 * resume from blobs/<etag>.incomplete.
 */
export async function pullModel(repoId: string, opts: PullOptions = {}): Promise<PullResult> {
  if (!isHubId(repoId)) throw new InvalidRepoIdError(repoId);
  const revision = opts.revision || 'main';
  const repoDir = repoCacheDir(repoId, opts.cacheDir);
  opts.signal?.throwIfAborted();
  if (opts.offline || offlineFromEnv()) return resolveOffline(repoId, revision, repoDir, opts.include?.length ? opts.include : undefined);

  const explicit = Boolean(opts.include && opts.include.length > 0);
  const include = explicit && opts.include ? opts.include : DEFAULT_INCLUDE;
  const endpoint = resolveEndpoint(opts.endpoint);
  let endpointOrigin: string;
  try { endpointOrigin = new URL(endpoint).origin; } catch {
    throw new HubNetworkError(`invalid Hub endpoint "${endpoint}"`, 'set HF_ENDPOINT (or --endpoint) to a URL like https://huggingface.co');
  }

  // Internal controller: the first failing worker stops the others; a caller's abort stops everyone.
  const internal = new AbortController();
  const onAbort = (): void => internal.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const ctx: Ctx = {
    repoId, revision, repoDir, endpoint, endpointOrigin,
    token: await resolveToken(opts.token),
    fetch: opts.fetchImpl ?? globalThis.fetch,
    signal: internal.signal,
    retries: opts.retries ?? 5,
    retryDelayMs: opts.retryDelayMs ?? 500,
  };
  const emit = opts.onProgress ?? ((): void => undefined);
  const concurrency = Math.max(1, opts.concurrency ?? 4);

  try {
    const { commit, files: remoteFiles } = await fetchRevision(ctx);
    const selected = selectFiles(remoteFiles, include);
    if (selected.length === 0 || (!explicit && !selected.some((f) => f.endsWith('.safetensors')))) {
      throw noFilesError(repoId, include, remoteFiles, explicit);
    }
    const unsafe = selected.find((f) => !safeRelPath(f));
    if (unsafe) throw new HubResponseError(`refusing unsafe file path ${JSON.stringify(unsafe)} in ${repoId}`);

    const snapDir = path.join(repoDir, 'snapshots', commit);
    const blobsDir = path.join(repoDir, 'blobs');
    const pointerOf = (f: string): string => path.join(snapDir, ...f.split('/'));

    // Plan: files whose snapshot entry resolves are done without any request; the rest get a HEAD.
    const needMeta: string[] = [];
    for (const f of selected) if (!(await exists(pointerOf(f)))) needMeta.push(f);
    const metas: RemoteFile[] = [];
    await pool(needMeta, 8, internal, async (f) => { metas.push(await fetchFileMeta(ctx, commit, f)); });
    metas.sort((a, b) => selected.indexOf(a.path) - selected.indexOf(b.path));

    await fsp.mkdir(blobsDir, { recursive: true });
    const jobs = new Map<string, Job>();
    const linkOnly: RemoteFile[] = [];
    for (const m of metas) {
      const blob = path.join(blobsDir, m.etag);
      const size = await fileSize(blob);
      if (size !== undefined && (m.size === undefined || size === m.size)) { linkOnly.push(m); continue; }
      const job = jobs.get(m.etag);
      if (job) { job.alsoPaths.push(m.path); continue; }
      const part = (await fileSize(`${blob}.incomplete`)) ?? 0;
      jobs.set(m.etag, { file: m, alsoPaths: [], resumeFrom: m.size !== undefined && part > m.size ? 0 : part });
    }
    const jobList = [...jobs.values()];
    const total = jobList.reduce((s, j) => s + (j.file.size ?? 0), 0);
    let downloaded = jobList.reduce((s, j) => s + j.resumeFrom, 0);
    emit({ type: 'start', files: jobList.map((j) => j.file.path), totalBytes: total, cached: selected.length - jobList.length - jobList.reduce((s, j) => s + j.alsoPaths.length, 0) });

    for (const m of linkOnly) await linkSnapshot(path.join(blobsDir, m.etag), pointerOf(m.path));

    await pool(jobList, concurrency, internal, async (job) => {
      const { file } = job;
      const blob = path.join(blobsDir, file.etag);
      emit({ type: 'file-start', path: file.path, bytes: file.size ?? 0 });
      let counted = job.resumeFrom;
      await downloadBlob(ctx, commit, job, blob, (delta, have) => {
        downloaded += have - counted; // `have` is authoritative (covers resumes and restarts)
        counted = have;
        if (delta > 0) emit({ type: 'progress', path: file.path, downloaded, total, fileDownloaded: have, fileTotal: file.size ?? have });
      });
      for (const p of [file.path, ...job.alsoPaths]) await linkSnapshot(blob, pointerOf(p));
      emit({ type: 'file-done', path: file.path });
    });

    if (revision !== commit) await writeRef(repoDir, revision, commit);
    emit({ type: 'done', dir: snapDir });
    return { dir: snapDir, commit, files: selected };
  } catch (e) {
    // A caller's abort surfaces as its own reason (an AbortError by default), not as a network error.
    if (opts.signal?.aborted) throw opts.signal.reason;
    throw e;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    internal.abort();
  }
}

function noFilesError(repoId: string, include: readonly string[], remote: readonly string[], explicit: boolean): HubNoFilesError {
  const ggufs = remote.filter((f) => f.endsWith('.gguf'));
  const otherWeights = remote.filter((f) => /\.(bin|pth|pt|onnx|ckpt)$/.test(f));
  let hint: string;
  if (ggufs.length > 0) {
    const quants = [...new Set(ggufs.map((f) => /[.-]((?:I?Q\d[\w]*|F16|BF16|F32))\.gguf$/i.exec(f)?.[1]).filter(Boolean))];
    const example = quants.includes('Q8_0') ? 'Q8_0' : quants[0] ?? '';
    hint = `this repo ships GGUF files (${ggufs.slice(0, 6).join(', ')}${ggufs.length > 6 ? ', ...' : ''}); ` +
      `pick one with include, e.g. include: ['*${example ? `${example}.gguf` : '.gguf'}'] (CLI: --include '*${example || ''}.gguf')`;
  } else if (otherWeights.length > 0) {
    hint = `the repo has ${otherWeights.slice(0, 4).join(', ')} but no safetensors weights; pass include patterns naming the files you need`;
  } else {
    hint = remote.length === 0 ? 'the repo is empty at this revision'
      : `the repo holds ${remote.slice(0, 8).join(', ')}${remote.length > 8 ? ', ...' : ''}; ` +
        (explicit ? 'adjust the include patterns (`*` also matches "/")' : 'pass include patterns naming the files you need');
  }
  return new HubNoFilesError(repoId, explicit ? include : [...include, '(no *.safetensors found)'], hint);
}

/**
 * Map a model argument to something on disk, without any network: an existing local file or
 * directory is returned unchanged (a leading "~/" is expanded); a hub id returns its cached snapshot
 * directory (the revision's ref, default "main").
 */
export async function resolveModelPath(idOrDir: string, opts: ResolveOptions = {}): Promise<string> {
  const local = expandHome(idOrDir);
  if (await exists(local)) return local;
  const looksLikePath = /^(\.{1,2}[\\/]|[\\/]|~|[A-Za-z]:[\\/])/.test(idOrDir) || idOrDir.includes('\\');
  if (looksLikePath || !isHubId(idOrDir)) throw new ModelPathNotFoundError(idOrDir);
  const revision = opts.revision || 'main';
  const snap = await findCachedSnapshot(repoCacheDir(idOrDir, opts.cacheDir), revision);
  if (!snap.ok) throw new ModelNotCachedError(idOrDir, revision, snap.missing);
  const files = await listSnapshot(snap.dir);
  if (files.length === 0) throw new ModelNotCachedError(idOrDir, revision, `snapshot ${snap.dir} is empty`);
  const missing = await missingShards(snap.dir, files);
  if (missing.length > 0) throw new ModelNotCachedError(idOrDir, revision, `snapshot is incomplete, missing ${missing.join(', ')}`);
  return snap.dir;
}
