// `limbic pack`: look inside a vector pack, and export it as llama.cpp control vectors.
//   limbic pack info --vectors <pack> [--json]
//   limbic pack export-gguf --vectors <pack> --out-dir <dir> [--emotions a,b] [--layers 12,14]
// Each exported file holds one emotion as direction.{l} per layer (l >= 1; llama.cpp rejects 0),
// scaled to the layer's mean residual norm, so `--control-vector-scaled file.gguf 0.05` in llama.cpp
// adds 5% of the residual norm: the same unit as limbic's steering strengths.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { writeControlVectorGguf } from '../../engine/ggufWriter.ts';
import { emotionSlug } from '../../experiments/corpus.ts';
import { VectorPack } from '../../vectors/pack.ts';
import { num, parse, req, UsageError } from '../args.ts';

const USAGE = `usage: limbic pack info --vectors <pack> [--json]
       limbic pack export-gguf --vectors <pack> --out-dir <dir> [--emotions a,b] [--layers 12,14]`;

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parse(rest, { vectors: { type: 'string' }, 'out-dir': { type: 'string' }, emotions: { type: 'string' }, layers: { type: 'string' }, json: { type: 'boolean' } }, USAGE);
  if (values.help || !sub || sub === '--help' || sub === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return sub ? 0 : 2;
  }
  const pack = VectorPack.load(req(values.vectors, 'vectors', USAGE));
  const m = pack.meta;
  if (sub === 'info') {
    if (values.json) process.stdout.write(`${JSON.stringify(m, null, 1)}\n`);
    else {
      process.stdout.write(`${m.model.id} (${m.model.arch}, dModel ${m.model.dModel}, ${m.model.nLayers} layers, weights ${m.model.weightsHash})\n`);
      process.stdout.write(`${m.emotions.length} emotions at layers ${m.layers.join(', ')} (default ${pack.defaultLayer}); recipe ${m.recipe.method}, from token ${m.recipe.startToken}, denoise ${m.recipe.denoise ? `${m.recipe.denoise.varianceFraction} of neutral variance` : 'off'}\n`);
      process.stdout.write(`corpus: ${m.corpus.stories} stories, ${m.corpus.neutral} neutral (${m.corpus.source}); made by limbic ${m.limbicVersion} on ${m.createdAt}\n`);
      process.stdout.write(`mean residual norms: ${Object.entries(m.residNorms).map(([l, n]) => `${l}:${n.toFixed(2)}`).join(' ')}\n`);
    }
    return 0;
  }
  if (sub !== 'export-gguf') throw new UsageError(`unknown pack subcommand "${sub}"`, USAGE);
  const outDir = req(values['out-dir'], 'out-dir', USAGE);
  const emotions = values.emotions ? values.emotions.split(',').map((s) => s.trim()) : pack.emotions;
  emotions.forEach((e) => pack.emotionIndex(e));
  const layers = (values.layers ? values.layers.split(',').map((s) => num(s.trim(), 'layers')) : pack.layers).filter((l) => l >= 1);
  layers.forEach((l) => pack.checkLayer(l));
  if (layers.length === 0) throw new UsageError('no exportable layers: llama.cpp control vectors start at layer 1');
  mkdirSync(outDir, { recursive: true });
  for (const e of emotions) {
    const map = new Map<number, Float32Array>();
    for (const l of layers) map.set(l, pack.unit(e, l).map((v) => v * pack.residNorm(l)));
    writeControlVectorGguf(join(outDir, `${emotionSlug(e)}.gguf`), { layers: map, modelHint: m.model.arch });
  }
  process.stdout.write(`wrote ${emotions.length} control vector(s) for layers ${layers.join(', ')} to ${outDir}\n  use in llama.cpp: --control-vector-scaled ${join(outDir, `${emotionSlug(emotions[0]!)}.gguf`)} 0.05 (strength = fraction of the residual norm)\n`);
  return 0;
}
