// The limbic monitor server (API.md): an OpenAI-compatible HTTP server over one Model and one
// VectorPack that attaches per-token emotion read-outs, alerts and regulation to its responses,
// records every conversation as a trace, exports Prometheus metrics and serves the dashboard.
// node:http only; generations run one at a time in arrival order (queue.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Model } from '../engine/model.ts';
import type { AlertRule } from '../experiments/monitor.ts';
import type { VectorPack } from '../vectors/pack.ts';
import { emotionMap, type EmotionMap } from './emotionMap.ts';
import { newTrace, runJob, type Engine } from './generation.ts';
import { ApiError, checkAuth, checkHost, isLoopback, readJsonBody, sendError, sendJson, toApiError } from './http.ts';
import { Metrics } from './metrics.ts';
import { alertChunk, completionBody, finalChunk, firstChunk, regulationChunk, responseIds, tokenChunk, usageChunk } from './openai.ts';
import { FifoQueue } from './queue.ts';
import { parseJob, type Limits } from './requests.ts';
import { SseWriter } from './sse.ts';
import { serveStatic } from './static.ts';
import type { TraceStore } from './traces.ts';

export interface ServerOptions {
  model: Model;
  pack: VectorPack;
  traces: TraceStore;
  /** Name answered in /v1/models and responses (default: the model's id). */
  modelName?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  authToken?: string | null;
  /** Server alert rules (already checked against the pack). */
  rules?: readonly AlertRule[];
  limits?: Partial<Limits>;
  /** Request body limit in bytes (default 1 MB). */
  maxBody?: number;
  /** Requests allowed to wait for the model (default 64). */
  maxQueue?: number;
  /** Unsent bytes a streaming client may fall behind by before it is dropped (default 4 MB). */
  clientBuffer?: number;
  /** Dashboard folder (web/dist); null: none. */
  webDir?: string | null;
  log?: (msg: string) => void;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  server: Server;
  metrics: Metrics;
  queue: FifoQueue;
  /** Stops accepting connections, cancels running generations and waits for them. */
  close(): Promise<void>;
}

const ROUTES: [RegExp, string][] = [
  [/^\/v1\/chat\/completions$/, '/v1/chat/completions'],
  [/^\/v1\/completions$/, '/v1/completions'],
  [/^\/v1\/models$/, '/v1/models'],
  [/^\/v1\/emotions$/, '/v1/emotions'],
  [/^\/v1\/traces$/, '/v1/traces'],
  [/^\/v1\/traces\/[^/]+$/, '/v1/traces/:id'],
  [/^\/health$/, '/health'],
  [/^\/metrics$/, '/metrics'],
];

function routeOf(path: string): string {
  for (const [re, name] of ROUTES) if (re.test(path)) return name;
  return path.startsWith('/v1/') ? 'unknown' : 'static';
}

function intParam(q: URLSearchParams, name: string, lo: number, hi: number, fallback: number): number {
  const v = q.get(name);
  if (v === null || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new ApiError(400, `${name} must be an integer in [${lo}, ${hi}]`, 'invalid_value', name);
  return n;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const { model, pack } = opts;
  const host = opts.host ?? '127.0.0.1';
  const loopback = isLoopback(host);
  const log = opts.log ?? (() => undefined);
  const queue = new FifoQueue(opts.maxQueue ?? 64);
  const metrics = new Metrics(() => queue.depth);
  const limits: Limits = { maxTokens: 1024, defaultMaxTokens: 128, maxSteer: 1, ...opts.limits };
  const maxBody = opts.maxBody ?? 1 << 20;
  const clientBuffer = opts.clientBuffer ?? 4 << 20;
  const rules = [...(opts.rules ?? [])];
  const engine: Engine = { model, pack, modelName: opts.modelName ?? model.id, queue, traces: opts.traces, metrics, log };
  const ctx = { model, pack, serverRules: rules, limits };
  const started = performance.now();
  const maps = new Map<number, EmotionMap>();
  const running = new Set<{ abort: AbortController; done: Promise<unknown> }>();

  async function generation(req: IncomingMessage, res: ServerResponse, endpoint: 'chat' | 'completions', arrival: number): Promise<void> {
    if (req.method !== 'POST') throw new ApiError(405, `${req.method} is not allowed here; use POST`, 'method_not_allowed');
    const body = await readJsonBody(req, maxBody);
    const job = parseJob(body, endpoint, ctx);
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort(new Error('client disconnected'));
    });
    const rec = newTrace(engine, job);
    const ids = responseIds(rec);
    let sse: SseWriter | null = null;
    const drop = () => {
      log(`client of ${rec.id} fell behind by more than ${clientBuffer} bytes: dropped`);
      abort.abort(new Error('client too slow'));
    };
    const listener = job.stream
      ? {
          started: () => {
            sse = SseWriter.open(res, clientBuffer, drop);
            sse.send(firstChunk(job, ids, rec));
          },
          token: (t: Parameters<typeof tokenChunk>[2]) => sse?.send(tokenChunk(job, ids, t)),
          alert: (a: Parameters<typeof alertChunk>[2]) => sse?.send(alertChunk(job, ids, a)),
          regulation: (ep: Parameters<typeof regulationChunk>[2], active: boolean) => sse?.send(regulationChunk(job, ids, ep, active)),
        }
      : {};
    const done = runJob(engine, job, rec, abort.signal, listener, arrival);
    const entry = { abort, done: done.catch(() => undefined) };
    running.add(entry);
    try {
      await done;
    } finally {
      running.delete(entry);
    }
    const w = sse as SseWriter | null;
    if (rec.status === 'cancelled') {
      w?.end();
      if (!res.headersSent && !res.destroyed) sendError(res, new ApiError(503, 'the request was cancelled', 'cancelled', null, 'the server is shutting down or the client went away'));
      return;
    }
    if (rec.status === 'error') {
      const err = new ApiError(500, `generation failed: ${rec.error ?? 'unknown error'}`, 'generation_failed', null, 'see the server log');
      if (w) {
        w.send(err.body());
        w.done();
      } else sendError(res, err);
      return;
    }
    if (w) {
      w.send(finalChunk(job, ids, rec));
      if (job.includeUsage) w.send(usageChunk(job, ids, rec));
      w.done();
    } else sendJson(res, 200, completionBody(job, rec));
  }

  function traces(req: IncomingMessage, res: ServerResponse, url: URL, route: string): void {
    if (req.method !== 'GET') throw new ApiError(405, `${req.method} is not allowed here; use GET`, 'method_not_allowed');
    if (route === '/v1/traces') {
      const limit = intParam(url.searchParams, 'limit', 1, 500, 50);
      const offset = intParam(url.searchParams, 'offset', 0, Number.MAX_SAFE_INTEGER, 0);
      const { data, total } = opts.traces.list(limit, offset);
      sendJson(res, 200, { object: 'list', data, total, limit, offset });
      return;
    }
    let id: string;
    try {
      id = decodeURIComponent(url.pathname.slice('/v1/traces/'.length));
    } catch {
      throw new ApiError(400, 'malformed trace id', 'invalid_value', 'id');
    }
    const rec = /^tr_[0-9a-f]{1,64}$/.test(id) ? opts.traces.get(id) : null;
    if (!rec) throw new ApiError(404, `no trace with id ${JSON.stringify(id.slice(0, 80))}`, 'not_found', 'id', 'GET /v1/traces lists the recorded ones');
    sendJson(res, 200, rec);
  }

  function emotions(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (req.method !== 'GET') throw new ApiError(405, `${req.method} is not allowed here; use GET`, 'method_not_allowed');
    const lv = url.searchParams.get('layer');
    const layer = lv === null || lv === '' ? pack.defaultLayer : Number(lv);
    if (!pack.layers.includes(layer)) throw new ApiError(400, `layer ${lv} is not in the pack`, 'invalid_value', 'layer', `the pack has layers ${pack.layers.join(', ')}`);
    let map = maps.get(layer);
    if (!map) maps.set(layer, (map = emotionMap(pack, layer)));
    sendJson(res, 200, { model: engine.modelName, layers: pack.layers, default_layer: pack.defaultLayer, watched: [...new Set(rules.map((r) => r.emotion))], rules, ...map });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrival = performance.now();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      url = new URL('http://localhost/');
    }
    const route = routeOf(url.pathname);
    res.on('close', () => metrics.requests.inc({ endpoint: route, status: String(res.headersSent ? res.statusCode : 499) }));
    try {
      checkHost(req, loopback);
      if (route === 'static') {
        serveStatic(req, res, opts.webDir ?? null);
        return;
      }
      if (route === '/health') {
        sendJson(res, 200, { status: 'ok', model: engine.modelName, pack: { emotions: pack.emotions.length, layers: pack.layers }, queue_depth: queue.depth, uptime_s: Math.round((performance.now() - started) / 100) / 10 });
        return;
      }
      checkAuth(req, opts.authToken ?? null);
      switch (route) {
        case '/v1/chat/completions':
          return await generation(req, res, 'chat', arrival);
        case '/v1/completions':
          return await generation(req, res, 'completions', arrival);
        case '/v1/models':
          sendJson(res, 200, {
            object: 'list',
            data: [{ id: engine.modelName, object: 'model', created: 0, owned_by: 'limbic', limbic: { chat_template: model.tokenizer?.hasChatTemplate ?? false, layers: pack.layers, default_layer: pack.defaultLayer, emotions: pack.emotions.length, n_ctx: model.config.nCtx } }],
          });
          return;
        case '/v1/emotions':
          return emotions(req, res, url);
        case '/v1/traces':
        case '/v1/traces/:id':
          return traces(req, res, url, route);
        case '/metrics':
          if (req.method !== 'GET') throw new ApiError(405, `${req.method} is not allowed here; use GET`, 'method_not_allowed');
          res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Cache-Control': 'no-store' });
          res.end(metrics.render());
          return;
        default:
          throw new ApiError(404, `no route ${url.pathname.slice(0, 100)}`, 'not_found', null, 'see src/server/API.md for the endpoints');
      }
    } catch (err) {
      const e = toApiError(err);
      if (e.status >= 500) log(`error on ${req.method} ${url.pathname}: ${(err as Error).stack ?? String(err)}`);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendError(res, e);
      if (e.status === 413) res.once('finish', () => req.socket.destroy());
    }
  }

  const server = createServer({ requestTimeout: 120_000, headersTimeout: 30_000, keepAliveTimeout: 5_000 }, (req, res) => void handle(req, res));
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shownHost}:${addr.port}`,
    host: addr.address,
    port: addr.port,
    server,
    metrics,
    queue,
    async close() {
      server.close();
      for (const r of running) r.abort.abort(new Error('server shutting down'));
      await Promise.all([...running].map((r) => r.done));
      server.closeAllConnections();
    },
  };
}
