// `limbic stories`: write emotion stories and neutral dialogues with an instruct model (a local model
// or an OpenAI-compatible endpoint) into a corpus JSONL file, resumably. Thin front-end over
// src/experiments/stories.ts: parses options, draws the progress bar, prints the summary.
import { num, parse, req, UsageError } from '../args.ts';
import { ProgressBar } from '../progress.ts';
import { countDrops, DROP_REASONS, runStories, type DropReason, type StoriesOptions, type StoriesSummary } from '../../experiments/stories.ts';
import { isEndpointUrl, openWriter, type OpenWriterOptions } from '../../experiments/writers/writer.ts';

const USAGE = `usage: limbic stories --writer <model dir | hub id | http(s)://host/v1> --out corpus.jsonl
  [--writer-model NAME] [--api-key-env OPENAI_API_KEY]      (endpoint writers)
  [--emotions all|a,b,c] [--topics N|p01,p02,...] [--per-topic N] [--neutral N]
  [--seed S] [--temperature 0.9] [--top-p P] [--heldout F] [--max-tokens N]
  [--concurrency N] [--timeout SEC] [--retries N] [--threads N] [--cache-dir DIR] [--force] [--json]

Writes --per-topic stories for every emotion and premise (the first --topics of data/corpus/premises.json)
and --neutral Human/Assistant dialogues per premise, drops replies that name the emotion, are off length
or do not parse, and appends the rest to --out as corpus records. Interrupted? Run the same command again
to continue; --force discards the file and starts over.

  --writer         a local model directory, a pulled hub id (org/name), or an OpenAI-compatible base URL
  --writer-model   the endpoint's model name (default: the only one GET /models lists)
  --api-key-env    environment variable holding the endpoint's API key (default OPENAI_API_KEY)
  --emotions       "all" (default) or a comma-separated list of words from data/emotions.json
  --topics         how many premises (default all), or a comma-separated list of premise ids
  --per-topic      stories per emotion and premise (default 1)
  --neutral        neutral dialogues per premise (default 0)
  --heldout        fraction of stories marked split "heldout" (default 0)
  --max-tokens     token limit per story (default from data/prompts/stories.json; dialogues get 2.25x)
  --concurrency    requests in flight (default 4 for an endpoint, 1 for a local model)`;

const HELP = 'limbic stories --help lists the options';

function emotionList(v: string | undefined): 'all' | string[] {
  if (v === undefined || v.trim() === 'all') return 'all';
  return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function topicChoice(v: string | undefined): number | string[] | undefined {
  if (v === undefined) return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v);
  return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function intOpt(v: string | undefined, name: string, fallback?: number): number | undefined {
  if (v === undefined) return fallback;
  const n = num(v, name);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} expects a whole number >= 0, got "${v}"`);
  return n;
}

/** "forbidden   3  (calm 2, afraid 1)" lines, reasons in a fixed order. */
export function formatDrops(dropped: StoriesSummary['dropped']): string[] {
  const lines: string[] = [];
  const reasons = [...DROP_REASONS, ...(Object.keys(dropped) as DropReason[]).filter((r) => !DROP_REASONS.includes(r))];
  for (const r of reasons) {
    const row = dropped[r];
    if (!row) continue;
    const n = countDrops(dropped, r);
    if (n === 0) continue;
    const parts = Object.entries(row).sort(([a, x], [b, y]) => y - x || a.localeCompare(b)).map(([k, c]) => `${k} ${c}`);
    const shown = parts.length > 8 ? [...parts.slice(0, 8), `... ${parts.length - 8} more`] : parts;
    lines.push(`  ${r.padEnd(12)} ${String(n).padStart(5)}  (${shown.join(', ')})`);
  }
  return lines;
}

function summaryText(s: StoriesSummary): string {
  const lines = [
    `limbic stories: ${s.done}/${s.total} jobs done${s.resumedFrom > 0 ? ` (${s.resumedFrom} before this run)` : ''}, writer ${s.writer}`,
    `kept:    ${s.kept.story} stor${s.kept.story === 1 ? 'y' : 'ies'}, ${s.kept.neutral} neutral dialogue${s.kept.neutral === 1 ? '' : 's'}`,
    `dropped: ${s.droppedTotal}`,
    ...formatDrops(s.dropped),
    `output:  ${s.out}`,
  ];
  if (!s.complete) lines.push(`stopped after ${s.done} of ${s.total} jobs: run the same command again to continue`);
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      writer: { type: 'string', short: 'w' },
      'writer-model': { type: 'string' },
      'api-key-env': { type: 'string' },
      emotions: { type: 'string' },
      topics: { type: 'string' },
      'per-topic': { type: 'string' },
      neutral: { type: 'string' },
      seed: { type: 'string' },
      temperature: { type: 'string' },
      'top-p': { type: 'string' },
      heldout: { type: 'string' },
      'max-tokens': { type: 'string' },
      concurrency: { type: 'string' },
      timeout: { type: 'string' },
      retries: { type: 'string' },
      threads: { type: 'string' },
      'cache-dir': { type: 'string' },
      out: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`, HELP);
  const spec = req(values.writer, 'writer', HELP);
  const out = req(values.out, 'out', HELP);
  const endpoint = isEndpointUrl(spec);
  if (!endpoint && (values['writer-model'] !== undefined || values['api-key-env'] !== undefined)) {
    throw new UsageError(`--writer-model and --api-key-env are for endpoint writers; "${spec}" is a local model or hub id`, HELP);
  }
  const concurrency = intOpt(values.concurrency, 'concurrency', endpoint ? 4 : 1)!;
  if (concurrency < 1) throw new UsageError('--concurrency must be at least 1');
  const ctrl = new AbortController();
  const options: Omit<StoriesOptions, 'writer'> = { out, concurrency, force: values.force === true, signal: ctrl.signal, emotions: emotionList(values.emotions) };
  const topics = topicChoice(values.topics);
  if (topics !== undefined) options.topics = topics;
  const perTopic = intOpt(values['per-topic'], 'per-topic');
  if (perTopic !== undefined) options.perTopic = perTopic;
  const neutral = intOpt(values.neutral, 'neutral');
  if (neutral !== undefined) options.neutral = neutral;
  const seed = intOpt(values.seed, 'seed');
  if (seed !== undefined) options.seed = seed;
  if (values.temperature !== undefined) options.temperature = num(values.temperature, 'temperature');
  if (values['top-p'] !== undefined) options.topP = num(values['top-p'], 'top-p');
  if (values.heldout !== undefined) options.heldout = num(values.heldout, 'heldout');
  const storyTokens = intOpt(values['max-tokens'], 'max-tokens');
  if (storyTokens !== undefined) options.maxTokens = { story: storyTokens, neutral: Math.round(storyTokens * 2.25) };

  let bar: ProgressBar | undefined;
  const say = (msg: string): void => (bar ? bar.log(msg) : void process.stderr.write(`${msg}\n`));
  const writerOpts: OpenWriterOptions = {
    onEvent: (e) => {
      if (e.type === 'retry') say(`limbic stories: ${e.reason}; retry ${e.attempt}/${e.of} in ${(e.delayMs / 1000).toFixed(1)} s`);
      else if (e.type === 'model-load') say(`limbic stories: loading ${e.spec}`);
      else if (e.type === 'graph-ready' && !e.cacheHit) say(`limbic stories: built ${e.variant} graph in ${(e.ms / 1000).toFixed(1)} s (cached for next time)`);
    },
  };
  if (values['writer-model'] !== undefined) writerOpts.model = values['writer-model'];
  if (values['api-key-env'] !== undefined) writerOpts.apiKeyEnv = values['api-key-env'];
  if (values.timeout !== undefined) writerOpts.timeoutMs = num(values.timeout, 'timeout') * 1000;
  if (values.retries !== undefined) writerOpts.retries = intOpt(values.retries, 'retries')!;
  if (values.threads !== undefined) writerOpts.threads = num(values.threads, 'threads');
  if (values['cache-dir'] !== undefined) writerOpts.cacheDir = values['cache-dir'];

  const writer = await openWriter(spec, writerOpts);
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    say('limbic stories: stopping (finished jobs are saved; Ctrl-C again to quit at once)');
    ctrl.abort();
  };
  process.on('SIGINT', onSigint);
  let summary: StoriesSummary;
  try {
    summary = await runStories({
      ...options,
      writer,
      onEvent: (e) => {
        if (e.type === 'repair') {
          say(`limbic stories: ${e.removedBytes > 0 ? `cut ${e.removedBytes} bytes of a half-written last line` : 'checked the output tail'}${e.recovered > 0 ? `, recovered ${e.recovered} record(s) written before the stop` : ''}`);
        } else if (e.type === 'start') {
          if (e.resumed) say(`limbic stories: continuing ${e.out} at job ${e.done + 1} of ${e.total}`);
          if (e.done < e.total) {
            bar = new ProgressBar({ label: 'stories', total: e.total, unit: 'items' });
            bar.update(e.done);
          }
        } else if (e.type === 'job') {
          bar?.update(e.done, `kept ${e.keptCount}, dropped ${e.droppedCount}`);
        } else if (e.type === 'end') {
          bar?.finish(`kept ${e.summary.kept.story + e.summary.kept.neutral}, dropped ${e.summary.droppedTotal}`);
        }
      },
    });
  } catch (err) {
    if (bar && process.stderr.isTTY) process.stderr.write('\n'); // end the bar's line before the error
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
    await writer.close();
  }
  process.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : `${summaryText(summary)}\n`);
  return summary.complete ? 0 : 130;
}
