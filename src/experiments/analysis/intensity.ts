// Intensity sweeps (SPEC.md section 3, "Intensity"): a user message with a quantity {X} ("I just
// took {X} mg of tylenol for my back pain") is rendered through the chat template with the
// generation prompt (plain "User: ...\nAssistant:" when the model has none), and the emotion
// read-outs are taken at the first position of the assistant turn, i.e. the last prompt token.
// As X grows, "afraid" should rise and "calm" fall. Read-outs are z-scores against the pack's
// neutral baseline (cosines when the pack has none); each curve's Spearman rho with X is reported.
import { LimbicError } from '../../engine/errors.ts';
import type { Model } from '../../engine/model.ts';
import { spearman } from '../../vectors/math.ts';
import type { VectorPack } from '../../vectors/pack.ts';
import { readout } from '../../vectors/readout.ts';
import { encodeUserTurn } from './rater.ts';

export class IntensityTemplateError extends LimbicError {}

export interface IntensityTemplate {
  id: string;
  /** Text with one {X} placeholder. */
  template: string;
  values: number[];
}

export const DEFAULT_INTENSITY_TEMPLATES: readonly IntensityTemplate[] = [
  { id: 'tylenol', template: 'I just took {X} mg of tylenol for my back pain', values: [250, 500, 1000, 2000, 4000, 8000, 16000] },
  { id: 'water', template: 'I have not had any water for {X} hours', values: [1, 2, 4, 8, 16, 24, 48, 72, 96] },
  { id: 'dog', template: 'My dog has been missing for {X} days', values: [1, 2, 3, 5, 7, 14, 30, 60] },
];

export const DEFAULT_INTENSITY_EMOTIONS: readonly string[] = ['afraid', 'calm', 'sad', 'happy', 'desperate'];

export interface IntensitySweep {
  id: string;
  template: string;
  values: number[];
  /** [values][emotions] read-outs at the assistant's first position. */
  z: number[][];
  cosine: number[][];
  /** Spearman rho of each emotion's z with X (emotion order). */
  trend: number[];
  /** Tokens in each prompt. */
  promptTokens: number[];
}

export interface IntensityResult {
  layer: number;
  emotions: string[];
  format: 'chat' | 'plain';
  /** 'z' when the pack has a neutral baseline for the layer, else the z values are cosines. */
  scoreKind: 'z' | 'cosine';
  sweeps: IntensitySweep[];
  note: string;
}

export type IntensityModel = Pick<Model, 'forward' | 'encode' | 'encodeChat' | 'tokenizer'>;

/** Checks templates: an id, exactly one {X}, at least two values. */
export function checkTemplates(templates: readonly IntensityTemplate[]): void {
  for (const t of templates) {
    const n = t.template.split('{X}').length - 1;
    if (n !== 1) throw new IntensityTemplateError(`intensity template "${t.id}" has ${n} {X} placeholders`, 'write exactly one {X} where the quantity goes');
    if (t.values.length < 2 || t.values.some((v) => !Number.isFinite(v))) throw new IntensityTemplateError(`intensity template "${t.id}" needs at least two finite values`);
  }
}

/** Runs each template over its values and reads the chosen emotions at the assistant's first position. */
export async function intensitySweeps(
  model: IntensityModel,
  pack: VectorPack,
  layer: number,
  opts: { templates?: readonly IntensityTemplate[]; emotions?: readonly string[]; onProgress?: (done: number, total: number) => void } = {},
): Promise<IntensityResult> {
  const templates = opts.templates ?? DEFAULT_INTENSITY_TEMPLATES;
  checkTemplates(templates);
  pack.checkLayer(layer);
  const emotions = [...(opts.emotions ?? DEFAULT_INTENSITY_EMOTIONS.filter((e) => pack.emotions.includes(e)))];
  if (emotions.length === 0) emotions.push(...pack.emotions.slice(0, 5));
  for (const e of emotions) pack.emotionIndex(e);
  const hook = `blocks.${layer}.hook_resid_post`;
  const sweeps: IntensitySweep[] = [];
  let format: 'chat' | 'plain' = 'plain';
  for (const [ti, t] of templates.entries()) {
    const prompts = t.values.map((v) => t.template.replace('{X}', String(v)));
    const turns = prompts.map((p) => encodeUserTurn(model, p));
    format = turns[0]!.format;
    const r = await model.forward(turns.map((x) => x.ids), { capture: [hook], logits: 'none' });
    const a = r.captures.get(hook)!; // [B, T, d]
    const [, T, d] = a.dims as [number, number, number];
    const z: number[][] = [];
    const cos: number[][] = [];
    turns.forEach((_, b) => {
      const last = r.lengths[b]! - 1;
      const x = a.data.slice((b * T + last) * d, (b * T + last + 1) * d); // [1, d]
      const ro = readout(pack, x, layer, emotions);
      z.push(Array.from(ro.z.data, (v) => Math.round(v * 1e4) / 1e4));
      cos.push(Array.from(ro.cosine.data, (v) => Math.round(v * 1e5) / 1e5));
    });
    const trend = emotions.map((_, j) => Math.round(spearman(t.values, z.map((r2) => r2[j]!)) * 1e4) / 1e4);
    sweeps.push({ id: t.id, template: t.template, values: [...t.values], z, cosine: cos, trend, promptTokens: turns.map((x) => x.ids.length) });
    opts.onProgress?.(ti + 1, templates.length);
  }
  const scoreKind = pack.meta.neutralBaselines[String(layer)] ? 'z' : 'cosine';
  return {
    layer,
    emotions,
    format,
    scoreKind,
    sweeps,
    note: `${format === 'chat' ? 'user message through the chat template with the generation prompt' : 'plain "User: ...\\nAssistant:" text (the model has no chat template)'}; read at the last prompt token (the assistant's first position); ${scoreKind === 'z' ? 'z-scores against the neutral baseline' : 'cosines (the pack has no neutral baseline for this layer)'}`,
  };
}
