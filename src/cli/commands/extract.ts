// `limbic extract`: emotion vectors for a model from a story corpus (the bundled one by default),
// with a progress bar, checkpoints (resume by re-running the same command) and an atomic pack.
import { resolve } from 'node:path';
import { loadCorpus, loadDefaultCorpus } from '../../experiments/corpus.ts';
import { extractVectors, type ExtractOptions } from '../../experiments/extract.ts';
import { MODEL_OPTIONS, num, openModel, parse, req, UsageError } from '../args.ts';
import { ProgressBar } from '../progress.ts';

const USAGE = `usage: limbic extract --model <dir|file|hub-id> --out <pack-dir> [--corpus c.jsonl ...] [--emotions a,b,...]
  [--layers auto|all|12,16,20] [--start-token 50] [--denoise 0.5|off] [--batch-size 8] [--max-tokens 512]
  [--checkpoint <file>] [--json]
  Without --corpus the bundled corpus (data/corpus, train split) is used. Interrupt with Ctrl-C and
  run the same command again to resume from the checkpoint (default <out>.checkpoint.safetensors).`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      ...MODEL_OPTIONS,
      out: { type: 'string', short: 'o' },
      corpus: { type: 'string', multiple: true },
      emotions: { type: 'string' },
      layers: { type: 'string' },
      'start-token': { type: 'string' },
      denoise: { type: 'string' },
      'batch-size': { type: 'string' },
      'max-tokens': { type: 'string' },
      checkpoint: { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const out = resolve(req(values.out, 'out', USAGE));
  const corpus = values.corpus?.length ? loadCorpus(values.corpus, { split: 'train' }) : loadDefaultCorpus();
  const layersArg = values.layers ?? 'auto';
  let layers: ExtractOptions['layers'];
  if (layersArg === 'auto' || layersArg === 'all') layers = layersArg;
  else {
    layers = layersArg.split(',').map((s) => num(s.trim(), 'layers'));
    if (layers.some((l) => !Number.isInteger(l))) throw new UsageError(`--layers expects auto, all or integers like 12,16,20; got "${layersArg}"`);
  }
  const denoiseArg = values.denoise ?? '0.5';
  const denoise = denoiseArg === 'off' ? null : num(denoiseArg, 'denoise');
  if (denoise !== null && !(denoise > 0 && denoise < 1)) throw new UsageError('--denoise is a variance fraction between 0 and 1, or off');
  const model = await openModel(values, USAGE);
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  let bar: ProgressBar | null = null;
  let pass = 0;
  try {
    const pack = await extractVectors(model, corpus, {
      layers,
      denoiseFraction: denoise,
      startToken: num(values['start-token'], 'start-token', 50),
      batchSize: num(values['batch-size'], 'batch-size', 8),
      maxTokens: num(values['max-tokens'], 'max-tokens', 512),
      checkpoint: values.checkpoint ?? `${out}.checkpoint.safetensors`,
      corpusSource: values.corpus?.length ? values.corpus.join(', ') : 'limbic bundled corpus (data/corpus, train split)',
      ...(values.emotions ? { emotions: values.emotions.split(',').map((s) => s.trim()) } : {}),
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === 'start') {
          process.stderr.write(`extracting from ${e.stories} stories and ${e.neutral} neutral dialogues at layers ${e.layers.join(', ')}${e.resumedAt ? ` (resuming after ${e.resumedAt} texts)` : ''}\n`);
        } else if (e.type === 'progress') {
          if (e.pass !== pass) {
            bar?.finish();
            pass = e.pass;
            bar = new ProgressBar({ label: e.pass === 1 ? 'pass 1: texts' : 'pass 2: neutral baselines', total: e.total, unit: 'items' });
          }
          bar!.update(e.done, `${Math.round(e.tokensPerSecond)} tok/s`);
        } else if (e.type === 'done') {
          bar?.finish();
        }
      },
    });
    pack.save(out);
    const m = pack.meta;
    if (values.json) process.stdout.write(`${JSON.stringify({ out, emotions: m.emotions.length, layers: m.layers, residNorms: m.residNorms, corpus: m.corpus, denoise: m.recipe.denoise })}\n`);
    else {
      process.stdout.write(`wrote ${out}: ${m.emotions.length} emotions x layers ${m.layers.join(', ')} (dModel ${m.model.dModel})\n`);
      process.stdout.write(`  texts: ${m.corpus.stories} stories, ${m.corpus.neutral} neutral; skipped as shorter than ${m.recipe.startToken} tokens: ${m.corpus.skippedShort}\n`);
      if (m.recipe.denoise) process.stdout.write(`  neutral PCs removed per layer: ${Object.entries(m.recipe.denoise.componentsRemoved).map(([l, k]) => `${l}:${k}`).join(' ')}\n`);
      process.stdout.write(`  mean residual norm per layer: ${Object.entries(m.residNorms).map(([l, n]) => `${l}:${n.toFixed(2)}`).join(' ')}\n`);
    }
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    await model.dispose();
  }
}
