// `limbic serve`: the live emotion monitor, an OpenAI-compatible HTTP server with per-token
// read-outs, alerts, regulation, traces, metrics and the dashboard (src/server/API.md). Runs until
// SIGINT/SIGTERM, then finishes or cancels running requests and closes the trace store.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { defaultDataDir } from '../../experiments/corpus.ts';
import { defaultRulesPath, loadRulesFile, rulesForPack, type AlertRule } from '../../experiments/monitor.ts';
import { isLoopback } from '../../server/http.ts';
import { startServer } from '../../server/server.ts';
import { JsonlTraceStore, SqliteTraceStore, type TraceStore } from '../../server/traces.ts';
import { VectorPack } from '../../vectors/pack.ts';
import { MODEL_OPTIONS, num, openModel, parse, req, UsageError } from '../args.ts';

const USAGE = `usage: limbic serve --model <m> --vectors <pack> [--port 8080] [--host 127.0.0.1]
  [--auth-token T (or LIMBIC_AUTH_TOKEN)] [--rules rules.json | --rules none]
  [--trace-db file.sqlite | --trace-dir DIR] [--max-tokens 1024] [--max-body 1048576] [--max-queue 64]
  [--max-steer 1] [--client-buffer 4194304] [--web-dir web/dist] [--served-model-name NAME]
  [--threads N] [--cache-dir DIR]`;

function cacheRoot(): string {
  return process.env['LIMBIC_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'limbic');
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      ...MODEL_OPTIONS,
      vectors: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'auth-token': { type: 'string' },
      rules: { type: 'string' },
      'trace-db': { type: 'string' },
      'trace-dir': { type: 'string' },
      'max-tokens': { type: 'string' },
      'max-body': { type: 'string' },
      'max-queue': { type: 'string' },
      'max-steer': { type: 'string' },
      'client-buffer': { type: 'string' },
      'web-dir': { type: 'string' },
      'served-model-name': { type: 'string' },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const packDir = req(values.vectors, 'vectors', USAGE);
  if (values['trace-db'] !== undefined && values['trace-dir'] !== undefined) throw new UsageError('give --trace-db or --trace-dir, not both', USAGE);
  const port = num(values.port, 'port', 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0..65535, got ${port}`);
  const host = values.host ?? '127.0.0.1';
  const authToken = values['auth-token'] || process.env['LIMBIC_AUTH_TOKEN'] || null;
  const positive = (v: string | undefined, name: string, fallback: number) => {
    const n = num(v, name, fallback);
    if (!(n > 0)) throw new UsageError(`--${name} must be positive`);
    return n;
  };
  const limits = { maxTokens: positive(values['max-tokens'], 'max-tokens', 1024), maxSteer: positive(values['max-steer'], 'max-steer', 1) };
  const pack = VectorPack.load(packDir);

  // Rules: a user file must fit the pack; the defaults keep only the emotions the pack has.
  let rules: AlertRule[];
  if (values.rules === 'none') rules = [];
  else if (values.rules !== undefined) {
    rules = loadRulesFile(values.rules);
    const { skipped } = rulesForPack(rules, pack);
    if (skipped.length) throw new UsageError(`${values.rules}: rule ${skipped[0]!.id} watches "${skipped[0]!.emotion}", which is not in the pack`, `the pack has: ${pack.emotions.join(', ')}`);
  } else {
    const { kept, skipped } = rulesForPack(loadRulesFile(defaultRulesPath()), pack);
    rules = kept;
    if (skipped.length) process.stderr.write(`limbic serve: default rules skipped (emotions not in the pack): ${[...new Set(skipped.map((r) => r.emotion))].join(', ')}\n`);
  }

  const model = await openModel(values, USAGE);
  let traces: TraceStore | null = null;
  try {
    pack.checkModel({ arch: model.config.arch, dModel: model.config.dModel, nLayers: model.config.nLayers, weightsHash: model.weightsHash() });
    await model.warmup();
    traces = values['trace-dir'] !== undefined ? new JsonlTraceStore(resolve(values['trace-dir'])) : new SqliteTraceStore(resolve(values['trace-db'] ?? join(cacheRoot(), 'traces.sqlite')));
    const webDir = resolve(values['web-dir'] ?? join(dirname(defaultDataDir()), 'web', 'dist'));
    if (!isLoopback(host)) process.stderr.write(`limbic serve: WARNING: listening on ${host}, not loopback: other machines can reach this server${authToken ? '' : ' and it has no --auth-token'}\n`);
    const srv = await startServer({
      model,
      pack,
      traces,
      host,
      port,
      authToken,
      rules,
      limits,
      maxBody: positive(values['max-body'], 'max-body', 1 << 20),
      maxQueue: positive(values['max-queue'], 'max-queue', 64),
      clientBuffer: positive(values['client-buffer'], 'client-buffer', 4 << 20),
      webDir: existsSync(webDir) ? webDir : null,
      ...(values['served-model-name'] ? { modelName: values['served-model-name'] } : {}),
      log: (msg) => process.stderr.write(`limbic serve: ${msg}\n`),
    });
    process.stderr.write(
      `limbic serve: listening on ${srv.url} (model ${model.id}, ${pack.emotions.length} emotions, layers ${pack.layers.join(', ')}, ` +
        `${rules.length} rules, traces in ${traces.location}${authToken ? ', bearer token required' : ''}${existsSync(webDir) ? '' : '; dashboard not built'})\n`,
    );
    await new Promise<void>((resolveStop) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        process.stderr.write('limbic serve: shutting down\n');
        resolveStop();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await srv.close();
    return 0;
  } finally {
    traces?.close();
    await model.dispose();
  }
}
