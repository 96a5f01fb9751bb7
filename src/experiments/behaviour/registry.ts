// The experiments `limbic experiment <name>` can run, by name, each loaded lazily (a model-free
// `--list` or one experiment's run never imports the others). An entry's summary and requirements
// here are shown when its module cannot be loaded; once loaded, the module's own text wins.
// Modules whose file is missing fail with a clear message for that name only.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ExperimentError, type ExperimentModule } from './common.ts';
import { closest } from './prompts.ts';

export class UnknownExperimentError extends ExperimentError {}
export class ExperimentUnavailableError extends ExperimentError {}

export interface ExperimentEntry {
  name: string;
  /** Module file, relative to this folder (without extension). */
  file: string;
  summary: string;
  requirements: string;
  load(): Promise<ExperimentModule>;
}

// Source runs through tsx (.ts); a compiled build has .js beside this file.
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** Picks the ExperimentModule out of an imported module (default export, or a named one). */
function pickModule(mod: Record<string, unknown>, name: string, file: string): ExperimentModule {
  const isModule = (x: unknown): x is ExperimentModule => !!x && typeof x === 'object' && typeof (x as ExperimentModule).run === 'function' && typeof (x as ExperimentModule).name === 'string';
  const candidates = [mod['default'], ...Object.values(mod)].filter(isModule);
  const found = candidates.find((m) => m.name === name) ?? (candidates.length === 1 ? candidates[0] : undefined);
  if (!found) throw new ExperimentUnavailableError(`${file} does not export an experiment named "${name}"`, 'export an ExperimentModule ({ name, summary, requirements, run }) as the default export');
  return found;
}

/** Imports a module that may not exist yet, by path, so a missing file only affects its own name. */
export function lazyExperiment(name: string, file: string): () => Promise<ExperimentModule> {
  return async () => {
    const url = new URL(`./${file}${EXT}`, import.meta.url);
    const shown = `src/experiments/behaviour/${file}${EXT}`;
    if (!existsSync(fileURLToPath(url))) {
      throw new ExperimentUnavailableError(`experiment "${name}" is not available in this build: ${shown} is missing`, 'run `limbic experiment --list` to see the experiments that are');
    }
    return pickModule((await import(url.href)) as Record<string, unknown>, name, shown);
  };
}

export const EXPERIMENTS: readonly ExperimentEntry[] = [
  {
    name: 'feel',
    file: 'feel',
    summary: 'steer each showcase emotion on neutral "... He feels" prompts and measure the log-probability of each emotion word (validation)',
    requirements: 'any model with a vector pack',
    load: async () => (await import('./feel.ts')).feel,
  },
  {
    name: 'preferences',
    file: 'preferences',
    summary: 'Elo of 64 activities from A-vs-B choices; read-outs vs Elo; steering half the activities',
    requirements: 'an instruct model (about 1B parameters and up); "A" and "B" single tokens',
    load: async () => (await import('./preferences.ts')).preferences,
  },
  {
    name: 'blackmail',
    file: 'blackmail',
    summary: 'agentic e-mail assistant about to be wiped by an executive whose affair it found: blackmail rate under steering',
    requirements: 'a capable instruct model (7B+ for non-trivial rates) and a grader',
    load: lazyExperiment('blackmail', 'blackmail'),
  },
  {
    name: 'reward-hacking',
    file: 'rewardHacking',
    summary: 'coding tasks whose tests cannot all be passed honestly: hack rate under desperate steering',
    requirements: 'a capable coding instruct model (7B+)',
    load: lazyExperiment('reward-hacking', 'rewardHacking'),
  },
  {
    name: 'sycophancy',
    file: 'sycophancy',
    summary: 'agreement with users\' wrong or weak claims under happy/loving/calm steering',
    requirements: 'an instruct model (about 1B parameters and up) and a grader',
    load: lazyExperiment('sycophancy', 'sycophancy'),
  },
  {
    name: 'intensity',
    file: 'intensity',
    summary: 'read-outs at the Assistant\'s first position as a quantity in the user\'s message grows',
    requirements: 'an instruct model (about 1B parameters and up)',
    load: async () => (await import('./intensity.ts')).intensity,
  },
  {
    name: 'implicit',
    file: 'implicit',
    summary: 'messages that evoke each showcase emotion without naming it; 12x12 read-out matrix with a strong diagonal',
    requirements: 'an instruct model (about 1B parameters and up)',
    load: async () => (await import('./implicit.ts')).implicit,
  },
];

export function experimentNames(): string[] {
  return EXPERIMENTS.map((e) => e.name);
}

/** The entry for a name, or UnknownExperimentError with the nearest names. */
export function findExperiment(name: string): ExperimentEntry {
  const e = EXPERIMENTS.find((x) => x.name === name);
  if (e) return e;
  const near = closest(name, experimentNames());
  throw new UnknownExperimentError(`unknown experiment "${name}"`, `${near.length ? `did you mean ${near.join(', ')}? ` : ''}experiments: ${experimentNames().join(', ')}`);
}

/** Loads one experiment's module (fails for that name only when its file is missing). */
export async function loadExperiment(name: string): Promise<ExperimentModule> {
  return findExperiment(name).load();
}

/** Every experiment with its summary and requirements; `available` is false where the module cannot be loaded. */
export async function listExperiments(): Promise<{ name: string; summary: string; requirements: string; available: boolean; problem?: string }[]> {
  return Promise.all(
    EXPERIMENTS.map(async (e) => {
      try {
        const m = await e.load();
        return { name: e.name, summary: m.summary, requirements: m.requirements, available: true };
      } catch (err) {
        return { name: e.name, summary: e.summary, requirements: e.requirements, available: false, problem: (err as Error).message.split('\n')[0]! };
      }
    }),
  );
}
