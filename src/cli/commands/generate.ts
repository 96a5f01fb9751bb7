// `limbic generate`: sample a continuation, streamed to the terminal as tokens arrive, or as JSON.
import { MODEL_OPTIONS, num, openModel, parse, UsageError } from '../args.ts';

const USAGE = `usage: limbic generate --model <dir|file|hub-id> --prompt "..." [--chat] [--system "..."]
  [--max-tokens 64] [--temperature 0] [--top-k K] [--top-p P] [--seed S] [--stop STR ...] [--json]`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      ...MODEL_OPTIONS,
      prompt: { type: 'string', short: 'p' },
      chat: { type: 'boolean' },
      system: { type: 'string' },
      'max-tokens': { type: 'string' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      seed: { type: 'string' },
      stop: { type: 'string', multiple: true },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.prompt === undefined) throw new UsageError('--prompt is required', USAGE);
  const model = await openModel(values, USAGE);
  try {
    const messages = [...(values.system ? [{ role: 'system', content: values.system }] : []), { role: 'user', content: values.prompt }];
    const promptIds = values.chat ? model.encodeChat(messages) : model.encode(values.prompt);
    const opts = {
      maxTokens: num(values['max-tokens'], 'max-tokens', 64),
      temperature: num(values.temperature, 'temperature', 0),
      seed: num(values.seed, 'seed', 0),
      stop: values.stop ?? [],
      ...(values['top-k'] !== undefined ? { topK: num(values['top-k'], 'top-k') } : {}),
      ...(values['top-p'] !== undefined ? { topP: num(values['top-p'], 'top-p') } : {}),
    };
    const tokens: number[] = [];
    let text = '';
    if (!values.json && !values.chat) process.stdout.write(values.prompt);
    for await (const t of model.generate(promptIds, opts)) {
      tokens.push(t.token);
      text += t.text;
      if (!values.json) process.stdout.write(t.text);
    }
    if (values.json) process.stdout.write(`${JSON.stringify({ prompt_tokens: promptIds, tokens, text })}\n`);
    else process.stdout.write('\n');
    return 0;
  } finally {
    await model.dispose();
  }
}
