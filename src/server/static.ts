// Static files for the dashboard (web/dist): GET/HEAD only, index.html for "/", content types by
// extension, no directory listings, and no path that resolves (after decoding and symlinks) outside
// the root. When the folder is missing, a small page says how to build it.
import { createReadStream, existsSync, realpathSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { SECURITY_HEADERS } from './http.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

const PAGE_HEADERS = { ...SECURITY_HEADERS, 'Content-Security-Policy': "default-src 'self'; img-src 'self' data: blob:; font-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'", 'X-Frame-Options': 'DENY' };

export function contentType(path: string): string {
  return TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>limbic monitor</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em}code{background:#eee;padding:0 .3em}</style></head>
<body><h1>limbic monitor</h1><p>The server is running, but the dashboard has not been built.</p>
<p>Build it from the repository root with <code>npm run build:web</code> (it is written to
<code>web/dist</code>; see <code>web/README.md</code>), then reload this page.</p>
<p>The API works without it: <code>GET /v1/models</code>, <code>POST /v1/chat/completions</code>, <code>GET /v1/traces</code>, <code>GET /metrics</code> (see <code>src/server/API.md</code>).</p></body></html>`;

function text(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8', head = false): void {
  res.writeHead(status, { ...PAGE_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(head ? undefined : body);
}

/** Serves `req` from `root` (or the not-built page). Returns the status sent. */
export function serveStatic(req: IncomingMessage, res: ServerResponse, root: string | null): number {
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) {
    res.setHeader('Allow', 'GET, HEAD');
    text(res, 405, 'method not allowed\n');
    return 405;
  }
  const rawPath = (req.url ?? '/').split('?')[0]!.split('#')[0]!;
  if (!root || !existsSync(root)) {
    if (rawPath === '/' || rawPath === '/index.html') {
      text(res, 200, NOT_BUILT, 'text/html; charset=utf-8', head);
      return 200;
    }
    text(res, 404, 'not found\n');
    return 404;
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    text(res, 400, 'bad path\n');
    return 400;
  }
  if (decoded.includes('\0') || decoded.includes('\\') || decoded.split('/').some((s) => s === '..')) {
    text(res, 404, 'not found\n');
    return 404;
  }
  const base = realpathSync(root);
  let file = resolve(base, `.${decoded.endsWith('/') ? `${decoded}index.html` : decoded}`);
  if (file !== base && !file.startsWith(base + sep)) {
    text(res, 404, 'not found\n');
    return 404;
  }
  try {
    if (statSync(file).isDirectory()) file = join(file, 'index.html');
    const real = realpathSync(file);
    if (!real.startsWith(base + sep)) throw new Error('outside the root');
    const st = statSync(real);
    if (!st.isFile()) throw new Error('not a file');
    res.writeHead(200, { ...PAGE_HEADERS, 'Content-Type': contentType(real), 'Content-Length': st.size, 'Cache-Control': real.endsWith('.html') ? 'no-cache' : 'public, max-age=3600' });
    if (head) res.end();
    else createReadStream(real).pipe(res);
    return 200;
  } catch {
    text(res, 404, 'not found\n');
    return 404;
  }
}
