// `limbic info`: the parsed config, supported hook names and where the model's graphs are cached.
import { allHookNames } from '../../engine/hooks.ts';
import { MODEL_OPTIONS, openModel, parse } from '../args.ts';

const USAGE = 'usage: limbic info --model <dir|file|hub-id> [--json]';

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...MODEL_OPTIONS, json: { type: 'boolean' } }, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const model = await openModel(values, USAGE);
  try {
    const c = model.config;
    const info = { id: model.id, config: c, hooks: allHookNames(c.nLayers), graphCache: model.graphDir, unusedWeights: model.unusedWeights, chatTemplate: model.tokenizer?.hasChatTemplate ?? false };
    if (values.json) process.stdout.write(`${JSON.stringify(info, null, 1)}\n`);
    else {
      process.stdout.write(`${model.id}: ${c.arch}, ${c.nLayers} layers, dModel ${c.dModel}, ${c.nHeads} heads (${c.nKvHeads} kv) x ${c.dHead}, dMlp ${c.dMlp}, vocab ${c.dVocab}, context ${c.nCtx}\n`);
      process.stdout.write(`layer types: ${c.layerTypes.join(' ')}${c.slidingWindow ? ` (window ${c.slidingWindow})` : ''}\n`);
      process.stdout.write(`hooks: hook_embed, blocks.{0..${c.nLayers - 1}}.{hook_resid_pre,hook_resid_mid,hook_resid_post,hook_attn_out,hook_mlp_out}, ln_final.hook_normalized\n`);
      process.stdout.write(`graph cache: ${model.graphDir}\n`);
    }
    return 0;
  } finally {
    await model.dispose();
  }
}
