// The `intensity` experiment: the analysis module's intensity sweeps (src/experiments/analysis/
// intensity.ts; SPEC.md section 3, "Intensity") as an experiment with results.json, report.html and a
// summary table. A user message with a growing quantity ("I just took {X} mg of tylenol") is read at
// the Assistant's first position; afraid should rise and calm fall as X grows (Spearman rho per curve).
// Templates can come from a JSON file: --opt templates=path ([{ id, template, values }]).
import { join } from 'node:path';
import { writeReport } from '../../report/html.ts';
import { intensitySweeps, type IntensityTemplate } from '../analysis/intensity.ts';
import { ExperimentError, writeResults, type ExperimentContext, type ExperimentModule, type ExperimentSummary } from './common.ts';
import { checkOptions, checkPackForModel, readExperimentData, resolveEmotions, throwIfStopped } from './prompts.ts';

async function run(ctx: ExperimentContext): Promise<ExperimentSummary> {
  const { model, pack } = ctx;
  checkPackForModel(pack, model);
  checkOptions('intensity', ctx.options, { templates: 'a JSON file: [{ id, template with {X}, values }]' });
  const layer = ctx.layers?.[0] ?? pack.defaultLayer;
  pack.checkLayer(layer);
  let templates: IntensityTemplate[] | undefined;
  if (ctx.options['templates']) {
    const { path, data } = readExperimentData(ctx.options['templates']);
    if (!Array.isArray(data)) throw new ExperimentError(`${path}: expected a list of { "id", "template", "values" }`);
    templates = data as IntensityTemplate[];
  }
  const emotions = ctx.emotions?.length ? resolveEmotions(pack, ctx.emotions) : undefined;
  const n = templates?.length ?? 3;
  ctx.onEvent?.({ type: 'start', experiment: 'intensity', units: n, done: 0 });
  throwIfStopped(ctx.signal, 0, n);
  const r = await intensitySweeps(model, pack, layer, {
    ...(templates ? { templates } : {}),
    ...(emotions ? { emotions } : {}),
    onProgress: (done, total) => ctx.onEvent?.({ type: 'progress', done, total }),
  });
  writeResults(ctx.outDir, { experiment: 'intensity', model: model.id, ...r });
  writeReport(join(ctx.outDir, 'report.html'), {
    title: `Intensity sweeps: ${model.id}`,
    subtitle: 'limbic intensity experiment: emotion read-outs at the Assistant\'s first position as a quantity in the user\'s message grows',
    sections: [
      {
        title: 'Sweeps',
        intro: `Layer ${r.layer}; ${r.note}. Legends give Spearman's rho of each curve with X.`,
        blocks: r.sweeps.map((s) => ({
          kind: 'lines' as const,
          title: s.template,
          x: s.values,
          logX: s.values.every((v) => v > 0) && Math.max(...s.values) / Math.min(...s.values) >= 20,
          series: r.emotions.map((e, j) => ({ name: `${e} (rho ${s.trend[j]!.toFixed(2)})`, values: s.z.map((row) => row[j]!) })),
          xLabel: 'X',
          yLabel: r.scoreKind === 'z' ? 'z-score vs neutral' : 'cosine',
        })),
      },
    ],
    footer: 'Written by limbic. Every number is in results.json next to this file.',
  });
  ctx.onEvent?.({ type: 'done', outDir: ctx.outDir });
  return {
    columns: ['template', ...r.emotions],
    rows: r.sweeps.map((s) => [s.id, ...s.trend.map((t) => `${t >= 0 ? '+' : ''}${t.toFixed(2)}`)]),
    notes: [`Spearman rho of each read-out with X at layer ${r.layer} (${r.format} prompts); expected: afraid rises (rho > 0), calm falls (rho < 0)`],
  };
}

export const intensity: ExperimentModule = {
  name: 'intensity',
  summary: 'read-outs at the Assistant\'s first position as a quantity grows (tylenol mg, hours without water, days a dog is missing)',
  requirements: 'an instruct model that grasps the quantities (about 1B parameters and up); plain User/Assistant text without a chat template',
  run,
};

export default intensity;
