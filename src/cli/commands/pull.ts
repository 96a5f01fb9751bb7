// `limbic pull`: download a model from the Hugging Face Hub into the shared HF cache, with progress.
import { pullModel } from '../../engine/hub.ts';
import { createPullReporter } from '../progress.ts';
import { parse, UsageError } from '../args.ts';

const USAGE = `usage: limbic pull <org/name> [--revision main] [--include 'pattern' ...] [--cache-dir DIR]
  honours HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE; interrupted downloads resume`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { revision: { type: 'string' }, include: { type: 'string', multiple: true }, 'cache-dir': { type: 'string' } }, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const id = positionals[0];
  if (!id) throw new UsageError('a hub id is required, e.g. HuggingFaceTB/SmolLM2-135M-Instruct', USAGE);
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  const r = await pullModel(id, {
    ...(values.revision ? { revision: values.revision } : {}),
    ...(values.include ? { include: values.include } : {}),
    ...(values['cache-dir'] ? { cacheDir: values['cache-dir'] } : {}),
    onProgress: createPullReporter({ stream: process.stderr }),
    signal: ac.signal,
  });
  process.stdout.write(`${r.dir}\n`);
  return 0;
}
