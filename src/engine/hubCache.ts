// On-disk side of the Hugging Face Hub client (src/engine/hub.ts): where the cache lives ($HF_HOME,
// $HF_HUB_CACHE), the access token and offline switch from the environment, and reading and writing
// the huggingface_hub cache layout (refs/{revision}, snapshots/{commit}/{path} links, blobs/{etag}).
// No network here.

import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// ---------------------------------------------------------------------------------------------
// Cache locations, endpoint, token

export function expandHome(p: string): string {
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

export async function resolveToken(opt: string | false | undefined): Promise<string | undefined> {
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

export function offlineFromEnv(): boolean {
  return ['1', 'ON', 'YES', 'TRUE'].includes((process.env.HF_HUB_OFFLINE ?? '').trim().toUpperCase());
}

// ---------------------------------------------------------------------------------------------
// Cache reading (no network)

export const COMMIT_RE = /^[0-9a-f]{40}$/;

export async function exists(p: string): Promise<boolean> {
  try { await fsp.stat(p); return true; } catch { return false; }
}

export async function fileSize(p: string): Promise<number | undefined> {
  try { return (await fsp.stat(p)).size; } catch { return undefined; }
}

type CachedSnapshot = { ok: true; dir: string; commit: string } | { ok: false; missing: string };

export async function findCachedSnapshot(repoDir: string, revision: string): Promise<CachedSnapshot> {
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
export async function listSnapshot(dir: string, prefix = ''): Promise<string[]> {
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
export async function missingShards(dir: string, files: readonly string[]): Promise<string[]> {
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

// ---------------------------------------------------------------------------------------------
// Cache writing

export async function linkSnapshot(blobPath: string, pointer: string): Promise<void> {
  await fsp.mkdir(path.dirname(pointer), { recursive: true });
  await fsp.rm(pointer, { force: true });
  try {
    await fsp.symlink(path.relative(path.dirname(pointer), blobPath), pointer);
  } catch {
    await fsp.copyFile(blobPath, pointer); // filesystems without symlinks (some Windows setups, FAT, ...)
  }
}

export async function writeRef(repoDir: string, revision: string, commit: string): Promise<void> {
  const ref = path.join(repoDir, 'refs', ...revision.split('/'));
  await fsp.mkdir(path.dirname(ref), { recursive: true });
  const tmp = `${ref}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, commit);
  await fsp.rename(tmp, ref);
}
