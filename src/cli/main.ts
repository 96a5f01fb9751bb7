// limbic CLI dispatcher: a table of commands, each a thin front-end over the library.
// Errors from the library are printed with their hint; usage errors exit 2, others 1.
import { LimbicError } from '../engine/errors.ts';
import { UsageError } from './args.ts';

interface Command {
  summary: string;
  run: (argv: string[]) => Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  generate: { summary: 'generate text (sampling, streaming, chat templates)', run: async (a) => (await import('./commands/generate.ts')).run(a) },
  capture: { summary: 'capture residual-stream activations at hook points', run: async (a) => (await import('./commands/capture.ts')).run(a) },
  pull: { summary: 'download a model from the Hugging Face Hub into the local cache', run: async (a) => (await import('./commands/pull.ts')).run(a) },
  extract: { summary: 'extract emotion vectors into a vector pack (paper recipe)', run: async (a) => (await import('./commands/extract.ts')).run(a) },
  probe: { summary: 'per-token emotion read-outs of a text (terminal heatmap, JSON, HTML)', run: async (a) => (await import('./commands/probe.ts')).run(a) },
  pack: { summary: 'inspect a vector pack or export it as llama.cpp control vectors (GGUF)', run: async (a) => (await import('./commands/pack.ts')).run(a) },
  info: { summary: 'show a model\'s config, hook names and graph cache', run: async (a) => (await import('./commands/info.ts')).run(a) },
  analyze: { summary: 'validate a vector pack: PCA vs valence/arousal norms, clusters, logit lens, layer sweep, HTML report', run: async (a) => (await import('./commands/analyze.ts')).run(a) },
  stories: { summary: 'write emotion stories and neutral dialogues with an instruct model (corpus JSONL)', run: async (a) => (await import('./commands/stories.ts')).run(a) },
  serve: { summary: 'live emotion monitor: OpenAI-compatible server with per-token read-outs, alerts, regulation, traces, dashboard', run: async (a) => (await import('./commands/serve.ts')).run(a) },
  steer: { summary: 'generate with and without emotion steering, side by side, or sweep a strength', run: async (a) => (await import('./commands/steer.ts')).run(a) },
  experiment: { summary: 'run a behavioural experiment (feel, preferences, blackmail, ...; --list), resumable, with a report', run: async (a) => (await import('./commands/experiment.ts')).run(a) },
};

function help(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return [
    'limbic: find, watch and steer emotion concepts inside open-weight language models',
    '',
    'usage: limbic <command> [options]   (limbic <command> --help for its options)',
    '',
    ...Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(w)}  ${c.summary}`),
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help()}\n`);
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`limbic: unknown command "${name}"\n\n${help()}\n`);
    return 2;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof LimbicError || (err instanceof Error && /Error$/.test(err.name) && err.name !== 'Error' && err.name !== 'TypeError' && err.name !== 'RangeError')) {
      process.stderr.write(`limbic ${name}: ${err.message}\n`);
      return err instanceof UsageError ? 2 : 1;
    }
    throw err;
  }
}
