// Vector packs: portable emotion vectors for one model. A pack is a directory with
//   vectors.safetensors  per layer l: `layer.{l}.raw` [E, d] (mean-diff, denoised) and `layer.{l}.unit` [E, d]
//   pack.json            provenance: model id and weights hash, dModel, layers, emotion list, recipe and
//                        its parameters, corpus hash, mean residual norm per layer, neutral baselines
//                        (mean and std of each emotion's cosine read-out on neutral text), limbic version.
// Packs are written atomically (temporary directory, then rename) and validated on load.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LimbicError } from '../engine/errors.ts';
import { SafetensorsFile, encodeSafetensors, type TensorToWrite } from '../engine/safetensors.ts';
import { matrix, normalize, row, type Matrix } from './math.ts';

export const PACK_FORMAT = 'limbic-vector-pack';
export const PACK_VERSION = 1;

export class PackError extends LimbicError {}

export class PackModelMismatchError extends LimbicError {
  constructor(what: string, pack: string, model: string) {
    super(`vector pack was made for another model: ${what} ${pack} in the pack, ${model} in the model`, 'extract vectors for this model (npx limbic extract --model <m>), or pass the model the pack names');
  }
}

export interface PackModelInfo {
  id: string;
  arch: string;
  dModel: number;
  nLayers: number;
  /** Sampled content hash of the weights (see weightsHash in experiments/extract.ts). */
  weightsHash: string;
}

export interface PackRecipe {
  method: 'mean-diff';
  /** First token position averaged in each story. */
  startToken: number;
  /** Hook the vectors live in. */
  hook: 'hook_resid_post';
  denoise: { method: 'neutral-pca'; varianceFraction: number; componentsRemoved: Record<string, number> } | null;
  chatFormat: boolean;
  [k: string]: unknown;
}

export interface NeutralBaseline {
  /** Per emotion (pack order), mean cosine read-out over neutral-text tokens. */
  mean: number[];
  std: number[];
}

export interface PackMeta {
  format: typeof PACK_FORMAT;
  version: number;
  limbicVersion: string;
  createdAt: string;
  model: PackModelInfo;
  emotions: string[];
  layers: number[];
  recipe: PackRecipe;
  corpus: { hash: string; stories: number; neutral: number; skippedShort: number; source: string };
  /** Mean L2 norm of the residual stream per layer (string keys), over the corpus tokens: the unit of steering strength. */
  residNorms: Record<string, number>;
  /** Per layer (string keys). */
  neutralBaselines: Record<string, NeutralBaseline>;
  /** Stories per emotion that went into the means. */
  storyCounts: Record<string, number>;
}

export class VectorPack {
  constructor(
    readonly meta: PackMeta,
    /** Per layer, [E, d] raw vectors. */
    readonly raw: Map<number, Matrix>,
  ) {}

  get emotions(): string[] {
    return this.meta.emotions;
  }

  get layers(): number[] {
    return this.meta.layers;
  }

  emotionIndex(emotion: string): number {
    const i = this.meta.emotions.indexOf(emotion);
    if (i < 0) {
      const near = this.meta.emotions.filter((e) => e.startsWith(emotion.slice(0, 3))).slice(0, 5);
      throw new PackError(`emotion "${emotion}" is not in this pack`, near.length ? `did you mean ${near.join(', ')}?` : `the pack has ${this.meta.emotions.length} emotions: ${this.meta.emotions.slice(0, 8).join(', ')}, ...`);
    }
    return i;
  }

  /** The pack's default layer: the middle of its layers (extraction centres them on ~2/3 depth). */
  get defaultLayer(): number {
    return this.meta.layers[Math.floor(this.meta.layers.length / 2)]!;
  }

  checkLayer(layer: number): void {
    if (!this.raw.has(layer)) throw new PackError(`layer ${layer} is not in this pack`, `the pack has layers ${this.meta.layers.join(', ')}`);
  }

  /** The raw (un-normalised) vector of one emotion. */
  vector(emotion: string, layer = this.defaultLayer): Float32Array {
    this.checkLayer(layer);
    return Float32Array.from(row(this.raw.get(layer)!, this.emotionIndex(emotion)));
  }

  unit(emotion: string, layer = this.defaultLayer): Float32Array {
    return normalize(this.vector(emotion, layer));
  }

  /** [E, d] unit vectors of a layer. */
  unitMatrix(layer = this.defaultLayer): Matrix {
    this.checkLayer(layer);
    const raw = this.raw.get(layer)!;
    const out = matrix(raw.rows, raw.cols);
    for (let i = 0; i < raw.rows; i++) out.data.set(normalize(row(raw, i)), i * raw.cols);
    return out;
  }

  residNorm(layer = this.defaultLayer): number {
    const n = this.meta.residNorms[String(layer)];
    if (n === undefined) throw new PackError(`no residual norm recorded for layer ${layer}`);
    return n;
  }

  /** Fails with PackModelMismatchError unless the pack was made for this model. */
  checkModel(model: { arch: string; dModel: number; nLayers: number; weightsHash?: string }, opts: { allowForeign?: boolean } = {}): void {
    const m = this.meta.model;
    if (m.dModel !== model.dModel) throw new PackModelMismatchError('dModel', String(m.dModel), String(model.dModel));
    if (m.nLayers !== model.nLayers) throw new PackModelMismatchError('layer count', String(m.nLayers), String(model.nLayers));
    if (opts.allowForeign) return;
    if (m.arch !== model.arch) throw new PackModelMismatchError('architecture', m.arch, model.arch);
    if (model.weightsHash && m.weightsHash !== model.weightsHash) throw new PackModelMismatchError('weights hash', m.weightsHash, model.weightsHash);
  }

  /** Writes the pack directory atomically. */
  save(dir: string): void {
    const target = resolve(dir);
    const tmp = `${target}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const tensors: Record<string, TensorToWrite> = {};
    for (const [l, m] of this.raw) {
      tensors[`layer.${l}.raw`] = { dtype: 'F32', shape: [m.rows, m.cols], data: m.data };
      tensors[`layer.${l}.unit`] = { dtype: 'F32', shape: [m.rows, m.cols], data: this.unitMatrix(l).data };
    }
    writeFileSync(join(tmp, 'vectors.safetensors'), encodeSafetensors(tensors, { format: PACK_FORMAT, emotions: JSON.stringify(this.meta.emotions) }));
    writeFileSync(join(tmp, 'pack.json'), `${JSON.stringify(this.meta, null, 1)}\n`);
    mkdirSync(dirname(target), { recursive: true });
    const old = `${target}.old-${process.pid}`;
    if (existsSync(target)) renameSync(target, old);
    renameSync(tmp, target);
    rmSync(old, { recursive: true, force: true });
  }

  static load(dir: string): VectorPack {
    const metaPath = join(dir, 'pack.json');
    const tensorsPath = join(dir, 'vectors.safetensors');
    if (!existsSync(metaPath) || !existsSync(tensorsPath)) {
      throw new PackError(`${dir} is not a vector pack (needs pack.json and vectors.safetensors)`, 'make one with npx limbic extract --model <m> --out <dir>');
    }
    let meta: PackMeta;
    try {
      meta = JSON.parse(readFileSync(metaPath, 'utf8')) as PackMeta;
    } catch (err) {
      throw new PackError(`${metaPath}: not valid JSON (${(err as Error).message})`, 'the pack is damaged: extract it again');
    }
    if (meta.format !== PACK_FORMAT) throw new PackError(`${metaPath}: format is "${String(meta.format)}", expected "${PACK_FORMAT}"`);
    if (meta.version > PACK_VERSION) throw new PackError(`${metaPath}: pack version ${meta.version} is newer than this limbic understands (${PACK_VERSION})`, 'upgrade limbic');
    for (const k of ['model', 'emotions', 'layers', 'recipe', 'residNorms', 'neutralBaselines'] as const) {
      if (meta[k] === undefined) throw new PackError(`${metaPath}: missing "${k}"`, 'the pack is damaged: extract it again');
    }
    const f = new SafetensorsFile(tensorsPath);
    try {
      const raw = new Map<number, Matrix>();
      for (const l of meta.layers) {
        const name = `layer.${l}.raw`;
        const info = f.info(name);
        if (!info) throw new PackError(`${tensorsPath}: tensor ${name} missing`, 'the pack is damaged: extract it again');
        const [E, d] = info.shape as [number, number];
        if (E !== meta.emotions.length || d !== meta.model.dModel) {
          throw new PackError(`${tensorsPath}: ${name} is [${info.shape.join(', ')}], pack.json says [${meta.emotions.length}, ${meta.model.dModel}]`);
        }
        raw.set(l, matrix(E, d, Float32Array.from(f.read(name))));
      }
      return new VectorPack(meta, raw);
    } finally {
      f.close();
    }
  }
}
