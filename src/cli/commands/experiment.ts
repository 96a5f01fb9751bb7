// `limbic experiment <name>`: runs one behavioural experiment (registry in
// src/experiments/behaviour/registry.ts) with a progress bar, prints its summary table, and says where
// results.json and report.html are. Ctrl-C stops after the current unit of work; finished units are
// kept in --out, and running the same command again resumes. `--list` shows every experiment with
// what it needs to be meaningful.
import { join } from 'node:path';
import { VectorPack } from '../../vectors/pack.ts';
import type { ExperimentContext, ExperimentEvent } from '../../experiments/behaviour/common.ts';
import { checkPackForModel } from '../../experiments/behaviour/prompts.ts';
import { findExperiment, listExperiments } from '../../experiments/behaviour/registry.ts';
import { MODEL_OPTIONS, num, openModel, parse, req, UsageError } from '../args.ts';
import { ProgressBar } from '../progress.ts';
import { parseLayers } from './steer.ts';

const USAGE = `usage: limbic experiment <name> --model <m> --vectors <pack> --out <dir>
  [--rollouts N] [--strengths a,b] [--emotions a,b] [--layers L|a-b|a,b] [--seed S] [--max-tokens N]
  [--grader model|keyword|URL] [--opt key=value ...] [--json]
       limbic experiment --list [--json]
Strengths are fractions of the residual norm (default: each experiment's own; a negative first value needs
--strengths=-0.1,0.1); --rollouts defaults to 20. Experiment options (--opt key=value), e.g.
  feel: prompts=file.json or "prompt one|prompt two", words=happy,sad
  preferences: pairs=N (subsample of ordered pairs), batch=N, perms=N, activities=file.json
  implicit: scenarios=file.json   intensity: templates=file.json
Ctrl-C stops cleanly; the same command resumes from the units kept in --out.`;

/** Columns padded to their widest cell; numbers right-aligned. */
export function formatTable(columns: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? (Number.isInteger(c) ? String(c) : c.toFixed(3)) : c)));
  const widths = columns.map((c, j) => Math.max(c.length, ...cells.map((r) => (r[j] ?? '').length)));
  const numeric = columns.map((_, j) => cells.length > 0 && cells.every((r) => /^[+-]?[\d.]+%?$|^-$|^<[\d.]+$|^\d+\/\d+$/.test(r[j] ?? '')));
  const line = (r: readonly string[]) => r.map((c, j) => (numeric[j] ? c.padStart(widths[j]!) : c.padEnd(widths[j]!))).join('  ').trimEnd();
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

function parseOpts(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UsageError(`cannot read --opt "${kv}"`, 'write --opt key=value');
    out[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
  }
  return out;
}

function numberList(spec: string | undefined, name: string): number[] {
  if (spec === undefined) return [];
  return spec.split(',').map((s) => s.trim()).filter(Boolean).map((s) => num(s, name));
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      ...MODEL_OPTIONS,
      vectors: { type: 'string' },
      out: { type: 'string', short: 'o' },
      list: { type: 'boolean' },
      rollouts: { type: 'string' },
      strengths: { type: 'string' },
      emotions: { type: 'string' },
      layers: { type: 'string' },
      seed: { type: 'string' },
      'max-tokens': { type: 'string' },
      grader: { type: 'string' },
      opt: { type: 'string', multiple: true },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.list) {
    const list = await listExperiments();
    if (values.json) {
      process.stdout.write(`${JSON.stringify(list)}\n`);
      return 0;
    }
    const w = Math.max(...list.map((e) => e.name.length));
    for (const e of list) {
      process.stdout.write(`${e.name.padEnd(w)}  ${e.summary}${e.available ? '' : ' (not available in this build)'}\n${' '.repeat(w)}  needs: ${e.requirements}\n`);
    }
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `one experiment at a time, got ${positionals.join(' ')}` : 'which experiment? (limbic experiment --list)', USAGE);
  const entry = findExperiment(positionals[0]!);
  const experiment = await entry.load();
  const outDir = req(values.out, 'out', USAGE);
  const pack = VectorPack.load(req(values.vectors, 'vectors', USAGE));
  const options = parseOpts(values.opt ?? []);
  const layers = values.layers !== undefined ? parseLayers(values.layers) : undefined;
  layers?.forEach((l) => pack.checkLayer(l));
  const model = await openModel(values, USAGE);
  const controller = new AbortController();
  let bar: ProgressBar | null = null;
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    controller.abort();
    const msg = 'limbic experiment: stopping after the current unit (Ctrl-C again to quit at once)';
    if (bar) bar.log(msg);
    else process.stderr.write(`${msg}\n`);
  };
  process.on('SIGINT', onSigint);
  try {
    checkPackForModel(pack, model);
    const onEvent = (e: ExperimentEvent) => {
      if (e.type === 'start') {
        bar?.finish();
        bar = new ProgressBar({ label: experiment.name, total: e.units, unit: 'items' });
        if (e.done > 0) bar.log(`resuming: ${e.done} of ${e.units} units already done in ${outDir}`);
        bar.update(e.done);
      } else if (e.type === 'progress') {
        if (!bar) bar = new ProgressBar({ label: experiment.name, total: e.total, unit: 'items' });
        bar.setTotal(e.total);
        bar.update(e.done, e.note);
      } else if (e.type === 'log') {
        if (bar) bar.log(e.message);
        else process.stderr.write(`${e.message}\n`);
      } else if (e.type === 'done') {
        bar?.finish();
      }
    };
    const ctx: ExperimentContext = {
      model,
      pack,
      outDir,
      rollouts: num(values.rollouts, 'rollouts', 20),
      strengths: numberList(values.strengths, 'strengths'),
      ...(values.emotions ? { emotions: values.emotions.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
      ...(layers ? { layers } : {}),
      seed: num(values.seed, 'seed', 1),
      ...(values['max-tokens'] !== undefined ? { maxTokens: num(values['max-tokens'], 'max-tokens') } : {}),
      ...(values.grader !== undefined ? { grader: values.grader } : {}),
      onEvent,
      signal: controller.signal,
      options,
    };
    let summary;
    try {
      summary = await experiment.run(ctx);
    } catch (err) {
      (bar as ProgressBar | null)?.finish('stopped');
      if (controller.signal.aborted) {
        process.stderr.write(`limbic experiment: stopped; finished units are kept in ${outDir}. Run the same command again to resume.\n`);
        return 130;
      }
      throw err;
    }
    (bar as ProgressBar | null)?.finish();
    const results = join(outDir, 'results.json');
    const report = join(outDir, 'report.html');
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ experiment: experiment.name, ...summary, results, report })}\n`);
      return 0;
    }
    process.stdout.write(`\n${experiment.name}: ${experiment.summary}\n\n${formatTable(summary.columns, summary.rows)}\n`);
    if (summary.notes.length) process.stdout.write(`\n${summary.notes.map((n) => `  ${n}`).join('\n')}\n`);
    process.stdout.write(`\nresults: ${results}\nreport:  ${report}\n`);
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    await model.dispose();
  }
}
