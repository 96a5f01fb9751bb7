// The live monitor's cost on the benchmark model: decode with the monitor on (one layer captured per
// token, read-outs of every emotion, default rules) vs off, interleaved in one run; then a bounded
// loopback load test: N concurrent streaming clients against `limbic serve`'s server, every response
// complete and every trace recorded. Vectors are random (only their shape matters for speed).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../src/engine/model.ts';
import { runLoadTest, runMonitorBench } from '../src/server/bench.ts';
import { startServer } from '../src/server/server.ts';
import { SqliteTraceStore } from '../src/server/traces.ts';
import { matrix } from '../src/vectors/math.ts';
import { PACK_FORMAT, PACK_VERSION, VectorPack } from '../src/vectors/pack.ts';

const [dir, threadsArg, cacheDir, clientsArg] = process.argv.slice(2);
const model = await loadModel(dir!, { threads: Number(threadsArg), cacheDir: cacheDir! });
const c = model.config;
const emotions = (JSON.parse(readFileSync(new URL('../data/emotions.json', import.meta.url), 'utf8')) as { emotions: string[] }).emotions;
const layer = Math.round((2 * c.nLayers) / 3);
let s = 7;
const raw = matrix(emotions.length, c.dModel, Float32Array.from({ length: emotions.length * c.dModel }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5));
const pack = new VectorPack(
  {
    format: PACK_FORMAT,
    version: PACK_VERSION,
    limbicVersion: 'bench',
    createdAt: new Date().toISOString(),
    model: { id: model.id, arch: c.arch, dModel: c.dModel, nLayers: c.nLayers, weightsHash: model.weightsHash() },
    emotions,
    layers: [layer],
    recipe: { method: 'mean-diff', startToken: 50, hook: 'hook_resid_post', denoise: null, chatFormat: false },
    corpus: { hash: 'random', stories: 0, neutral: 0, skippedShort: 0, source: 'random vectors (benchmark)' },
    residNorms: { [String(layer)]: 10 },
    neutralBaselines: { [String(layer)]: { mean: emotions.map(() => 0), std: emotions.map(() => 0.05) } },
    storyCounts: {},
  },
  new Map([[layer, raw]]),
);
const mon = await runMonitorBench(model, pack, { maxTokens: 32, reps: 3, layer });
const traces = new SqliteTraceStore(join(mkdtempSync(join(tmpdir(), 'limbic-bench-')), 'traces.sqlite'));
const server = await startServer({ model, pack, traces, port: 0, webDir: null });
const load = await runLoadTest({ url: server.url, clients: Number(clientsArg ?? 4), maxTokens: 16, prompt: 'Once upon a time', timeoutMs: 600_000 });
await server.close();
process.stdout.write(`${JSON.stringify({ threads: Number(threadsArg), monitor: mon, load: { clients: load.clients, completed: load.completed, recorded: load.recorded, tokens: load.tokens, tokensPerSecond: load.tokensPerSecond, ttftMsP50: load.ttftMsP50, ttftMsMax: load.ttftMsMax } })}\n`);
await model.dispose();
