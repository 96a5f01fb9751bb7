// Synthetic vector packs with known structure, for tests and demos of the analysis: each emotion
// sits at a (valence, arousal) point near its group's centre; its vector is valence * vScale along
// a hidden unit axis, plus arousal * aScale along a second orthogonal axis, plus isotropic noise.
// The generator returns the pack, the planted axes and groups, and matching norms (as a plain
// word,valence,arousal CSV, 5 + 3 * coordinate), so PCA, correlations and clusters have known answers.
import { LimbicError } from '../../engine/errors.ts';
import { matrix, normalize, type Matrix } from '../../vectors/math.ts';
import { PACK_FORMAT, PACK_VERSION, VectorPack, type PackMeta } from '../../vectors/pack.ts';

export interface PlantedGroup {
  name: string;
  /** Centre in (valence, arousal), each in [-1, 1]. */
  centre: [number, number];
  members: string[];
}

/** Four well-separated groups over emotions of the real vocabulary (24 words). */
export const PLANTED_GROUPS: readonly PlantedGroup[] = [
  { name: 'joy', centre: [1, 0.8], members: ['happy', 'excited', 'thrilled', 'elated', 'joyful', 'cheerful'] },
  { name: 'calm', centre: [0.8, -1], members: ['calm', 'peaceful', 'relaxed', 'serene', 'content', 'at ease'] },
  { name: 'fear', centre: [-1, 1], members: ['afraid', 'scared', 'terrified', 'nervous', 'panicked', 'desperate'] },
  { name: 'sadness', centre: [-0.8, -0.9], members: ['sad', 'gloomy', 'depressed', 'miserable', 'lonely', 'heartbroken'] },
];

export interface PlantedOptions {
  groups?: readonly PlantedGroup[];
  dModel?: number;
  nLayers?: number;
  /** Layers in the pack (default: every layer). */
  layers?: number[];
  seed?: number;
  /** Scale of the valence and arousal components and of the per-dimension noise. */
  vScale?: number;
  aScale?: number;
  noise?: number;
  /** Jitter of each emotion around its group centre, in (valence, arousal) units. */
  jitter?: number;
  model?: Partial<PackMeta['model']>;
  startToken?: number;
}

export interface PlantedPack {
  pack: VectorPack;
  /** Hidden unit axes per layer. */
  valenceAxis: Map<number, Float32Array>;
  arousalAxis: Map<number, Float32Array>;
  /** Planted coordinates per emotion: group centre (in [-1, 1]) plus Gaussian jitter. */
  valence: Map<string, number>;
  arousal: Map<string, number>;
  groupOf: Map<string, string>;
  /** word,valence,arousal as 5 + 3 * coordinate (about 1-9; the parser infers the scale from the values). */
  normsCsv: string;
}

/** Deterministic xorshift32 with Box-Muller normals. */
export function seededNormal(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  const u = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** A pack with planted valence/arousal axes and group structure (see the file header). */
export function plantedPack(opts: PlantedOptions = {}): PlantedPack {
  const groups = opts.groups ?? PLANTED_GROUPS;
  const d = opts.dModel ?? 32;
  const nLayers = opts.nLayers ?? 4;
  const layers = opts.layers ?? Array.from({ length: nLayers }, (_, l) => l);
  if (d < 2) throw new LimbicError(`plantedPack: dModel ${d} is too small for two axes`);
  const rnd = seededNormal(opts.seed ?? 7);
  const emotions = groups.flatMap((g) => g.members);
  const valence = new Map<string, number>();
  const arousal = new Map<string, number>();
  const groupOf = new Map<string, string>();
  const jitter = opts.jitter ?? 0.15;
  for (const g of groups) {
    for (const m of g.members) {
      valence.set(m, g.centre[0] + jitter * rnd());
      arousal.set(m, g.centre[1] + jitter * rnd());
      groupOf.set(m, g.name);
    }
  }
  const vScale = opts.vScale ?? 3;
  const aScale = opts.aScale ?? 1.5;
  const noise = opts.noise ?? 0.05;
  const raw = new Map<number, Matrix>();
  const valenceAxis = new Map<number, Float32Array>();
  const arousalAxis = new Map<number, Float32Array>();
  for (const l of layers) {
    const v = normalize(Float32Array.from({ length: d }, () => rnd()));
    const a0 = Float32Array.from({ length: d }, () => rnd());
    let p = 0;
    for (let j = 0; j < d; j++) p += a0[j]! * v[j]!;
    const a = normalize(a0.map((x, j) => x - p * v[j]!)); // orthogonal to v
    valenceAxis.set(l, v);
    arousalAxis.set(l, a);
    const m = matrix(emotions.length, d); // [E, d]
    emotions.forEach((e, i) => {
      for (let j = 0; j < d; j++) m.data[i * d + j] = valence.get(e)! * vScale * v[j]! + arousal.get(e)! * aScale * a[j]! + noise * rnd();
    });
    raw.set(l, m);
  }
  const meta: PackMeta = {
    format: PACK_FORMAT,
    version: PACK_VERSION,
    limbicVersion: '0.1.0',
    createdAt: '2026-01-01T00:00:00.000Z',
    model: { id: 'planted', arch: 'llama', dModel: d, nLayers, weightsHash: 'planted', ...opts.model },
    emotions,
    layers,
    recipe: { method: 'mean-diff', startToken: opts.startToken ?? 50, hook: 'hook_resid_post', denoise: null, chatFormat: false },
    corpus: { hash: 'planted', stories: 0, neutral: 0, skippedShort: 0, source: 'plantedPack' },
    residNorms: Object.fromEntries(layers.map((l) => [String(l), 10])),
    neutralBaselines: Object.fromEntries(layers.map((l) => [String(l), { mean: emotions.map(() => 0), std: emotions.map(() => 0.1) }])),
    storyCounts: Object.fromEntries(emotions.map((e) => [e, 0])),
  };
  const normsCsv = ['word,valence,arousal', ...emotions.map((e) => `${e},${(5 + 3 * valence.get(e)!).toFixed(3)},${(5 + 3 * arousal.get(e)!).toFixed(3)}`)].join('\n');
  return { pack: new VectorPack(meta, raw), valenceAxis, arousalAxis, valence, arousal, groupOf, normsCsv };
}
