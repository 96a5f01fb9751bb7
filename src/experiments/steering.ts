// Steering with a vector pack: turns `{ desperate: +0.05, calm: -0.05 }` into engine SteeringSpecs.
// Strengths are fractions of the layer's mean residual norm (SPEC.md section 2, step 7) unless
// `absolute` is set; each emotion's unit vector is scaled by strength * norm and added at the
// chosen layers (default: the pack's default layer) and positions.
import { SteeringError } from '../engine/errors.ts';
import type { PositionSelector, SteeringSpec } from '../engine/model.ts';
import type { VectorPack } from '../vectors/pack.ts';

export interface PackSteerOptions {
  /** Layers to steer (default: the pack's default layer). */
  layers?: readonly number[];
  positions?: PositionSelector | 'prompt' | 'generated';
  /** Strengths are absolute multipliers of the unit vector instead of fractions of the residual norm. */
  absolute?: boolean;
}

export type Strengths = Readonly<Record<string, number>>;

/** Parses "desperate=+0.05" / "calm=-0.05" into an emotion and a strength. */
export function parseStrength(spec: string): [string, number] {
  const m = /^\s*([^=]+?)\s*=\s*([+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?)\s*$/i.exec(spec);
  if (!m) throw new SteeringError(`cannot read steering "${spec}"`, 'write emotion=strength, e.g. desperate=+0.05 (a fraction of the residual norm)');
  return [m[1]!, Number(m[2])];
}

/** Engine steering for a set of emotion strengths (generation may use 'prompt' / 'generated'). */
export function packSteering(pack: VectorPack, strengths: Strengths, opts: PackSteerOptions = {}): (Omit<SteeringSpec, 'positions'> & { positions?: PositionSelector | 'prompt' | 'generated' })[] {
  const layers = opts.layers ?? [pack.defaultLayer];
  const out: (Omit<SteeringSpec, 'positions'> & { positions?: PositionSelector | 'prompt' | 'generated' })[] = [];
  for (const [emotion, s] of Object.entries(strengths)) {
    if (!Number.isFinite(s)) throw new SteeringError(`steering strength for ${emotion} is not a number`);
    for (const layer of layers) {
      pack.checkLayer(layer);
      const scale = opts.absolute ? s : s * pack.residNorm(layer);
      out.push({ layer, vector: pack.unit(emotion, layer), scale, ...(opts.positions !== undefined ? { positions: opts.positions } : {}) });
    }
  }
  return out;
}

/** The same steering resolved for a plain forward pass (no 'prompt'/'generated' shorthands). */
export function packSteeringForward(pack: VectorPack, strengths: Strengths, opts: Omit<PackSteerOptions, 'positions'> & { positions?: PositionSelector } = {}): SteeringSpec[] {
  return packSteering(pack, strengths, opts) as SteeringSpec[];
}
