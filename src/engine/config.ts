// ModelConfig: one frozen description of a decoder-only transformer in TransformerLens vocabulary,
// parsed from a Hugging Face config.json through the architecture table (architectures.ts).
// RoPE scaling follows transformers' modeling_rope_utils.py (default, linear, llama3).
import { ConfigError, UnsupportedArchitectureError } from './errors.ts';
import { ARCHITECTURES, type ArchSpec, type HfConfig } from './architectures.ts';

export type LayerType = 'full' | 'sliding';

export type RopeScaling =
  | { kind: 'none' }
  | { kind: 'linear'; factor: number }
  | { kind: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalContext: number };

export interface RopeSpec {
  theta: number;
  scaling: RopeScaling;
}

export interface ModelConfig {
  /** Key into ARCHITECTURES. */
  arch: string;
  dModel: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  dHead: number;
  dMlp: number;
  dVocab: number;
  nCtx: number;
  normEps: number;
  /** RoPE for full-attention layers (null for learned positions). */
  rope: RopeSpec | null;
  /** RoPE for sliding layers where it differs (Gemma 3's local base). */
  ropeLocal: RopeSpec | null;
  layerTypes: LayerType[];
  slidingWindow: number | null;
  /** Multiplier on q·k. */
  attnScale: number;
  attnSoftcap: number | null;
  finalSoftcap: number | null;
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
  tieEmbeddings: boolean;
  bosTokenId: number | null;
  eosTokenIds: number[];
  padTokenId: number | null;
}

function num(hf: HfConfig, key: string, fallback?: number): number {
  const v = hf[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new ConfigError(`config.json lacks "${key}"`, 'is this a Hugging Face config.json of a causal LM?');
  }
  throw new ConfigError(`config.json field "${key}" should be a number, got ${JSON.stringify(v)}`);
}

function ids(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

/** Parses HF rope_scaling (both `rope_type` and the older `type` key). */
export function parseRopeScaling(raw: unknown, maxPositions: number): RopeScaling {
  if (raw === null || raw === undefined) return { kind: 'none' };
  if (typeof raw !== 'object') throw new ConfigError(`rope_scaling should be an object, got ${JSON.stringify(raw)}`);
  const r = raw as Record<string, unknown>;
  const type = String(r['rope_type'] ?? r['type'] ?? 'default');
  const factor = typeof r['factor'] === 'number' ? r['factor'] : 1;
  switch (type) {
    case 'default':
      return { kind: 'none' };
    case 'linear':
      return { kind: 'linear', factor };
    case 'llama3':
      return {
        kind: 'llama3',
        factor,
        lowFreqFactor: Number(r['low_freq_factor'] ?? 1),
        highFreqFactor: Number(r['high_freq_factor'] ?? 4),
        originalContext: Number(r['original_max_position_embeddings'] ?? maxPositions),
      };
    default:
      throw new ConfigError(`rope_scaling type "${type}" is not supported`, 'supported: default, linear, llama3');
  }
}

/** Inverse frequencies for one RoPE spec, as transformers computes them (float64 here, rounded to f32 by the caller). */
export function ropeInvFreq(rope: RopeSpec, dHead: number): Float64Array {
  const half = dHead / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(rope.theta, (2 * i) / dHead);
  const s = rope.scaling;
  if (s.kind === 'linear') for (let i = 0; i < half; i++) inv[i]! /= s.factor;
  if (s.kind === 'llama3') {
    const lowWavelen = s.originalContext / s.lowFreqFactor;
    const highWavelen = s.originalContext / s.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const f = inv[i]!;
      const wavelen = (2 * Math.PI) / f;
      if (wavelen > lowWavelen) inv[i] = f / s.factor;
      else if (wavelen >= highWavelen) {
        const smooth = (s.originalContext / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = (1 - smooth) * (f / s.factor) + smooth * f;
      }
    }
  }
  return inv;
}

export function archSpecFor(modelType: string): ArchSpec {
  const spec = ARCHITECTURES[modelType];
  if (!spec) throw new UnsupportedArchitectureError(modelType, Object.keys(ARCHITECTURES));
  return spec;
}

/** Parses a Hugging Face config.json object into a ModelConfig. */
export function parseHfConfig(hf: HfConfig): ModelConfig {
  const modelType = String(hf['model_type'] ?? '');
  if (!modelType) throw new ConfigError('config.json has no "model_type"', 'limbic reads Hugging Face config.json files');
  const spec = archSpecFor(modelType);
  const k = spec.keys;
  const dModel = num(hf, k.dModel);
  const nHeads = num(hf, k.nHeads);
  const nLayers = num(hf, k.nLayers);
  const nKvHeads = num(hf, 'num_key_value_heads', nHeads);
  const dHead = num(hf, 'head_dim', dModel / nHeads);
  const dMlpRaw = hf[k.dMlp];
  const dMlp = typeof dMlpRaw === 'number' ? dMlpRaw : 4 * dModel;
  const nCtx = num(hf, k.nCtx, 2048);
  const tie = hf['tie_word_embeddings'];
  const cfg: ModelConfig = {
    arch: modelType,
    dModel,
    nLayers,
    nHeads,
    nKvHeads,
    dHead,
    dMlp,
    dVocab: num(hf, 'vocab_size'),
    nCtx,
    normEps: num(hf, k.normEps, 1e-6),
    rope: spec.positions === 'rope' ? { theta: num(hf, 'rope_theta', 10000), scaling: parseRopeScaling(hf['rope_scaling'], nCtx) } : null,
    ropeLocal: null,
    layerTypes: Array.from({ length: nLayers }, () => 'full' as LayerType),
    slidingWindow: null,
    attnScale: 1 / Math.sqrt(dHead),
    attnSoftcap: null,
    finalSoftcap: null,
    qkvBias: hf['attention_bias'] === true,
    oBias: hf['attention_bias'] === true,
    mlpBias: hf['mlp_bias'] === true,
    tieEmbeddings: typeof tie === 'boolean' ? tie : spec.tieDefault,
    bosTokenId: typeof hf['bos_token_id'] === 'number' ? hf['bos_token_id'] : null,
    eosTokenIds: ids(hf['eos_token_id']),
    padTokenId: typeof hf['pad_token_id'] === 'number' ? hf['pad_token_id'] : null,
  };
  spec.refine?.(cfg, hf);
  validateConfig(cfg);
  return Object.freeze(cfg);
}

export function validateConfig(c: ModelConfig): void {
  const pos = (name: string, v: number) => {
    if (!Number.isInteger(v) || v <= 0) throw new ConfigError(`config ${name} must be a positive integer, got ${v}`);
  };
  pos('dModel', c.dModel);
  pos('nLayers', c.nLayers);
  pos('nHeads', c.nHeads);
  pos('nKvHeads', c.nKvHeads);
  pos('dHead', c.dHead);
  pos('dMlp', c.dMlp);
  pos('dVocab', c.dVocab);
  if (c.nHeads % c.nKvHeads !== 0) throw new ConfigError(`nHeads ${c.nHeads} is not a multiple of nKvHeads ${c.nKvHeads}`);
  if (c.rope && c.dHead % 2 !== 0) throw new ConfigError(`RoPE needs an even head_dim, got ${c.dHead}`);
  if (c.layerTypes.length !== c.nLayers) throw new ConfigError(`layer_types has ${c.layerTypes.length} entries for ${c.nLayers} layers`);
  if (c.layerTypes.includes('sliding') && !c.slidingWindow) throw new ConfigError('sliding layers without a sliding_window');
}
