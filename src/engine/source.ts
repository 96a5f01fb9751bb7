// Model sources: turns a path (Hugging Face directory, llama2.c .bin, GGUF file) into a parsed
// config, a WeightSource with Hugging Face tensor names, a tokenizer and a fingerprint that keys
// the graph cache. Hub ids are resolved to their cached snapshot by hub.ts.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseHfConfig, type ModelConfig } from './config.ts';
import { ConfigError, WeightFileError } from './errors.ts';
import { Llama2cCheckpoint } from './llama2c.ts';
import { openSafetensorsDir, type WeightSource } from './safetensors.ts';
import { HfTokenizer, Llama2cTokenizer, type TextTokenizer } from './tokenizer.ts';
import { openGguf } from './gguf.ts';

export interface ModelSource {
  /** A readable id: directory or file name. */
  id: string;
  path: string;
  hfConfig: Record<string, unknown>;
  config: ModelConfig;
  weights: WeightSource;
  tokenizer: TextTokenizer | null;
  /** Changes whenever the weights or config change (sizes, mtimes, config text). */
  fingerprint: string;
  generationConfig: Record<string, unknown>;
}

function fileStamp(path: string): string {
  const s = statSync(path);
  return `${basename(path)}:${s.size}:${Math.floor(s.mtimeMs)}`;
}

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`cannot parse ${path}: ${(err as Error).message}`, 'the file is damaged: pull the model again');
  }
}

function eosIds(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

function openHfDir(dir: string): ModelSource {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new ConfigError(`no config.json in ${dir}`, 'point --model at a Hugging Face model directory, a .gguf file or a llama2.c .bin');
  const hfConfig = readJson(configPath);
  const config = parseHfConfig(hfConfig);
  const genPath = join(dir, 'generation_config.json');
  const generationConfig = existsSync(genPath) ? readJson(genPath) : {};
  const weights = openSafetensorsDir(dir);
  const stamps = readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors') || f === 'config.json')
    .sort()
    .map((f) => fileStamp(join(dir, f)));
  const eos = [...config.eosTokenIds, ...eosIds(generationConfig['eos_token_id'])];
  const tokenizer = existsSync(join(dir, 'tokenizer.json')) ? HfTokenizer.fromDir(dir, eos) : null;
  return { id: basename(dir), path: dir, hfConfig, config, weights, tokenizer, fingerprint: stamps.join('|'), generationConfig };
}

function findLlama2cTokenizer(binPath: string): string | null {
  const dir = dirname(binPath);
  const candidates = ['tokenizer.bin', ...readdirSync(dir).filter((f) => /^tok\d*\.bin$/.test(f))];
  for (const c of candidates) if (existsSync(join(dir, c))) return join(dir, c);
  return null;
}

function openLlama2c(path: string, tokenizerPath?: string): ModelSource {
  const ckpt = new Llama2cCheckpoint(path);
  const hfConfig = ckpt.hfConfig();
  const config = parseHfConfig(hfConfig);
  const tokPath = tokenizerPath ?? findLlama2cTokenizer(path);
  const tokenizer = tokPath ? Llama2cTokenizer.fromFile(tokPath, ckpt.header.vocabSize) : null;
  return { id: basename(path, '.bin'), path, hfConfig, config, weights: ckpt, tokenizer, fingerprint: fileStamp(path), generationConfig: {} };
}

export interface OpenSourceOptions {
  /** llama2.c tokenizer.bin when it is not next to the checkpoint. */
  tokenizerPath?: string;
}

/** Opens a local model: a Hugging Face directory, a llama2.c checkpoint (.bin) or a GGUF file. */
export async function openModelSource(path: string, opts: OpenSourceOptions = {}): Promise<ModelSource> {
  if (!existsSync(path)) throw new WeightFileError(`model path not found: ${path}`, 'give a local directory or file, or a hub id you have pulled (npx limbic pull <id>)');
  const st = statSync(path);
  let src: ModelSource;
  if (st.isDirectory()) src = openHfDir(path);
  else if (path.endsWith('.gguf')) src = await openGguf(path);
  else if (path.endsWith('.bin')) src = openLlama2c(path, opts.tokenizerPath);
  else throw new WeightFileError(`cannot tell what kind of model ${path} is`, 'expected a directory with config.json, a .gguf file or a llama2.c .bin');
  src.fingerprint = createHash('sha256').update(JSON.stringify(src.hfConfig)).update(src.fingerprint).digest('hex').slice(0, 20);
  return src;
}
