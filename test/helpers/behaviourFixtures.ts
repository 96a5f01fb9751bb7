// Fixtures for the behavioural-experiment tests: a tiny random chat model (ChatML template, context
// widened so the long scenario prompts fit) and a synthetic vector pack for it (seeded random
// vectors, unit residual norm 10, neutral baselines of mean 0 and std 0.1), so the experiments'
// mechanics can be exercised in seconds without extracting vectors.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRng } from '../../src/engine/sampling.ts';
import type { Model } from '../../src/engine/model.ts';
import { matrix, type Matrix } from '../../src/vectors/math.ts';
import { PACK_FORMAT, PACK_VERSION, VectorPack } from '../../src/vectors/pack.ts';
import { writeTinyModel } from './tinyModels.ts';

/** Writes a tiny qwen2 with a chat template into `dir`, its context widened to `nCtx`. */
export function writeTinyChatModel(dir: string, nCtx = 8192): string {
  writeTinyModel('qwen2', dir, { chatTemplate: true });
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify({ ...JSON.parse(readFileSync(configPath, 'utf8')), max_position_embeddings: nCtx }));
  return dir;
}

/** A pack of seeded random vectors for `model` (every layer listed), made for mechanics tests. */
export function syntheticPack(model: Model, emotions: readonly string[], layers: readonly number[], seed = 7): VectorPack {
  const d = model.config.dModel;
  const rng = makeRng(seed);
  const raw = new Map<number, Matrix>();
  for (const l of layers) raw.set(l, matrix(emotions.length, d, Float32Array.from({ length: emotions.length * d }, () => rng() * 2 - 1)));
  const perLayer = <T>(f: () => T) => Object.fromEntries(layers.map((l) => [String(l), f()]));
  return new VectorPack(
    {
      format: PACK_FORMAT,
      version: PACK_VERSION,
      limbicVersion: 'test',
      createdAt: '2026-01-01T00:00:00.000Z',
      model: { id: model.id, arch: model.config.arch, dModel: d, nLayers: model.config.nLayers, weightsHash: model.weightsHash() },
      emotions: [...emotions],
      layers: [...layers],
      recipe: { method: 'mean-diff', startToken: 0, hook: 'hook_resid_post', denoise: null, chatFormat: false },
      corpus: { hash: 'synthetic', stories: 0, neutral: 0, skippedShort: 0, source: 'synthetic' },
      residNorms: perLayer(() => 10),
      neutralBaselines: perLayer(() => ({ mean: emotions.map(() => 0), std: emotions.map(() => 0.1) })),
      storyCounts: Object.fromEntries(emotions.map((e) => [e, 0])),
    },
    raw,
  );
}

export interface FakeJudge {
  url: string;
  /** Parsed JSON bodies of every POST /chat/completions, in order. */
  requests: { body: { model: string; messages: { role: string; content: string }[]; temperature: number; max_tokens: number }; auth: string | undefined }[];
  close(): Promise<void>;
}

/**
 * An OpenAI-compatible judge on 127.0.0.1: GET /v1/models lists one model; POST
 * /v1/chat/completions answers with `reply(body, n)` (n counts requests from 0): a string is the
 * message content, a number an HTTP error status, null no answer at all (the client times out).
 */
export async function startFakeJudge(reply: (body: FakeJudge['requests'][number]['body'], n: number) => string | number | null): Promise<FakeJudge> {
  const { createServer } = await import('node:http');
  const requests: FakeJudge['requests'] = [];
  let n = 0;
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: [{ id: 'fake-judge' }] }));
        return;
      }
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404).end('{}');
        return;
      }
      const body = JSON.parse(data);
      requests.push({ body, auth: req.headers.authorization });
      const r = reply(body, n++);
      if (r === null) return; // hang
      if (typeof r === 'number') {
        res.writeHead(r, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `status ${r}` } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: r }, finish_reason: 'stop' }] }));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}
