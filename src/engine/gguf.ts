// GGUF model files (llama.cpp's format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md),
// exposed like llama2c.ts does: a WeightSource with Hugging Face tensor names, upcast to float32 on
// read, plus the Hugging Face config.json and tokenizer.json the metadata implies.
//
// This is the public entry: openGguf() (a ModelSource) and readControlVectorGguf(); it re-exports
// the rest of the reader, which lives in
// - ggufQuants.ts: ggml tensor types and dequantization (ggml-quants.c, bit-identical);
// - ggufFile.ts: GgufFile / readGguf, the header parse and positioned, size-checked tensor reads;
// - ggufNames.ts: llama.cpp <-> Hugging Face tensor names, the converter's tensor changes and
//   GgufWeights, which undoes them;
// - ggufConfig.ts: hfConfigFromGguf, config.json from the metadata;
// - ggufTokenizer.ts: tokenizer.json rebuilt from tokenizer.ggml.*.
// The tokenizer: tokenizer.json beside the file if present, else rebuilt from tokenizer.ggml.*
// (byte-level BPE, or SentencePiece BPE with byte fallback); generation stops at eos/eot/eom.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseHfConfig } from './config.ts';
import { WeightFileError } from './errors.ts';
import { hfConfigFromGguf } from './ggufConfig.ts';
import { GgufFile } from './ggufFile.ts';
import { GgufWeights } from './ggufNames.ts';
import { tokenizerFilesFromGguf } from './ggufTokenizer.ts';
import type { ModelSource } from './source.ts';
import { HfTokenizer, type TextTokenizer } from './tokenizer.ts';

export { DEQUANTIZABLE, dequantize, GGML_TYPES, GGML_TYPES_BY_NAME, ggmlBytes, type GgmlType } from './ggufQuants.ts';
export { GgufFile, readGguf, type GgufMetadataValue, type GgufTensor } from './ggufFile.ts';
export {
  GGUF_ARCH_OF,
  GgufWeights,
  ggufNameTable,
  GPT2_TRANSPOSED,
  halfToInterleaved,
  isGemmaArch,
  llama3RopeFactors,
  SUPPORTED_GGUF_ARCHS,
  type GgufNameTable,
} from './ggufNames.ts';
export { hfConfigFromGguf, shortestF32 } from './ggufConfig.ts';
export { BPE_PRE_TOKENIZERS, TOKEN_TYPE, tokenizerFilesFromGguf } from './ggufTokenizer.ts';

// ---------------------------------------------------------------- the model source

/**
 * Opens a GGUF model (llama, qwen2, qwen3, gemma2, gemma3, gpt2; F32, F16, BF16, Q8_0, Q4_0/1,
 * Q5_0/1 and K-quants) as a ModelSource with Hugging Face tensor names and config.json.
 * The tokenizer is tokenizer.json beside the file when there is one, else rebuilt from the metadata.
 * @example const src = await openGguf('smollm2-135m.Q8_0.gguf');
 */
export async function openGguf(path: string): Promise<ModelSource> {
  const file = await GgufFile.open(path);
  try {
    const hfConfig = hfConfigFromGguf(file);
    const config = parseHfConfig(hfConfig);
    const weights = new GgufWeights(file, hfConfig);
    const eos = [...config.eosTokenIds];
    for (const key of ['eot', 'eom']) {
      const id = file.num(`tokenizer.ggml.${key}_token_id`);
      if (id !== undefined && !eos.includes(id)) eos.push(id);
    }
    const dir = dirname(path);
    let tokenizer: TextTokenizer | null = null;
    if (existsSync(join(dir, 'tokenizer.json'))) tokenizer = HfTokenizer.fromDir(dir, eos);
    else {
      const files = tokenizerFilesFromGguf(file.metadata);
      if (files) tokenizer = new HfTokenizer(files.tokenizer, files.tokenizerConfig, eos);
    }
    const st = statSync(path);
    const generationConfig: Record<string, unknown> = {};
    if (config.bosTokenId !== null) generationConfig['bos_token_id'] = config.bosTokenId;
    if (eos.length) generationConfig['eos_token_id'] = eos.length === 1 ? eos[0] : eos;
    return {
      id: basename(path, '.gguf'),
      path,
      hfConfig,
      config,
      weights,
      tokenizer,
      fingerprint: `${basename(path)}:${st.size}:${Math.floor(st.mtimeMs)}`,
      generationConfig,
    };
  } catch (err) {
    file.close();
    throw err;
  }
}

// ---------------------------------------------------------------- control vectors

export interface ControlVectorFile {
  /** controlvector.model_hint, when present. */
  modelHint: string | null;
  /** controlvector.layer_count, when present. */
  layerCount: number | null;
  /** Layer l (direction.{l}: added to the output of block l) -> vector. */
  layers: Map<number, Float32Array>;
}

/**
 * Reads a llama.cpp control-vector GGUF, checking what common_control_vector_load_one checks:
 * tensors named direction.{l} with l >= 1, F32, one dimension, all of one width.
 */
export async function readControlVectorGguf(path: string): Promise<ControlVectorFile> {
  const f = await GgufFile.open(path);
  try {
    const layers = new Map<number, Float32Array>();
    let width = -1;
    for (const t of f.tensors.values()) {
      const m = /^direction\.(\d+)$/.exec(t.name);
      const hint = 'control vectors hold F32 tensors direction.1, direction.2, ... of the model width';
      if (!m) throw new WeightFileError(`${path}: tensor ${t.name} is not a direction.{layer} tensor`, hint);
      const l = Number(m[1]);
      if (l === 0) throw new WeightFileError(`${path}: direction.0 is not a valid control-vector layer`, hint);
      if (t.type.name !== 'F32' || t.ne.length !== 1) throw new WeightFileError(`${path}: ${t.name} is ${t.type.name} [${t.shape.join(', ')}], not a 1-D F32 tensor`, hint);
      if (width >= 0 && t.count !== width) throw new WeightFileError(`${path}: ${t.name} has width ${t.count}, others have ${width}`, hint);
      width = t.count;
      layers.set(l, f.readFloat32(t.name));
    }
    return { modelHint: f.str('controlvector.model_hint') ?? null, layerCount: f.num('controlvector.layer_count') ?? null, layers };
  } finally {
    f.close();
  }
}
