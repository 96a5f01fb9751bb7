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
//
// The code is split by concern: hubErrors.ts (the error classes), hubCache.ts (cache locations,
// token, reading and writing the cache layout) and hubHttp.ts (requests, retries, metadata and the
// resumable download). This file holds the public types and entry points and re-exports the rest.

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import {
  exists, expandHome, fileSize, findCachedSnapshot, linkSnapshot, listSnapshot, missingShards, offlineFromEnv,
  repoCacheDir, resolveToken, writeRef,
} from './hubCache.ts';
import {
  HubNetworkError, HubNoFilesError, HubOfflineError, HubResponseError, InvalidRepoIdError, ModelNotCachedError,
  ModelPathNotFoundError,
} from './hubErrors.ts';
import { downloadBlob, fetchFileMeta, fetchRevision, pool, type Ctx, type Job, type RemoteFile } from './hubHttp.ts';

export {
  HubAuthError, HubError, HubHttpError, HubIntegrityError, HubNetworkError, HubNoFilesError, HubNotFoundError,
  HubOfflineError, HubResponseError, InvalidRepoIdError, ModelNotCachedError, ModelPathNotFoundError,
} from './hubErrors.ts';
export { hfHome, hubCacheDir, repoCacheDir } from './hubCache.ts';

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
// Endpoint

function resolveEndpoint(opt?: string): string {
  return (opt || process.env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, '');
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
// Offline resolution (cache only)

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
