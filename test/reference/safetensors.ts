// Independent safetensors reader for the float64 reference forward pass (test/reference).
// Format (https://huggingface.co/docs/safetensors): u64 little-endian header length N, N bytes of
// JSON {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}, then the raw tensor bytes;
// offsets are relative to the end of the header. Sharded checkpoints add model.safetensors.index.json
// ({weight_map: {name: file}}). Every value is widened to float64 on read (F32, F16, BF16, F64).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One tensor as stored: dtype string from the header, shape, values widened to float64. */
export interface RefTensor {
  dtype: string;
  shape: number[];
  data: Float64Array;
}

const BYTES_PER_ELEMENT: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2 };

/** IEEE 754 binary16 bits -> number (exact). */
export function halfBitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24; // zero and subnormals: mant * 2^-14 / 1024
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** bfloat16 bits -> number (exact): the upper 16 bits of a float32. */
export function bf16BitsToNumber(b: number): number {
  const f32 = new Float32Array(1);
  new Uint32Array(f32.buffer)[0] = (b & 0xffff) << 16;
  return f32[0]!;
}

function decode(dtype: string, bytes: Buffer, count: number, name: string): Float64Array {
  const out = new Float64Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) {
    if (dtype === 'F32') out[i] = view.getFloat32(i * 4, true);
    else if (dtype === 'F16') out[i] = halfBitsToNumber(view.getUint16(i * 2, true));
    else if (dtype === 'BF16') out[i] = bf16BitsToNumber(view.getUint16(i * 2, true));
    else if (dtype === 'F64') out[i] = view.getFloat64(i * 8, true);
    else throw new Error(`safetensors: tensor ${name} has unsupported dtype ${dtype}`);
  }
  return out;
}

/** Reads one .safetensors file; checks that the data offsets tile the data section exactly. */
export function readSafetensors(path: string): Map<string, RefTensor> {
  const buf = readFileSync(path);
  if (buf.length < 8) throw new Error(`safetensors: ${path} is too short (${buf.length} bytes)`);
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (8 + headerLen > buf.length) throw new Error(`safetensors: ${path} header length ${headerLen} exceeds the file`);
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, unknown>;
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const out = new Map<string, RefTensor>();
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const width = BYTES_PER_ELEMENT[dtype];
    if (width === undefined) throw new Error(`safetensors: tensor ${name} in ${path} has unsupported dtype ${dtype}`);
    const count = shape.reduce((a, b) => a * b, 1);
    const [begin, end] = offsets;
    if (end - begin !== count * width || begin < 0 || end > dataLen) {
      throw new Error(`safetensors: tensor ${name} [${shape}] ${dtype} has offsets [${begin}, ${end}] inconsistent with its size or the file (${dataLen} data bytes)`);
    }
    spans.push([begin, end, name]);
    out.set(name, { dtype, shape: [...shape], data: decode(dtype, buf.subarray(dataStart + begin, dataStart + end), count, name) });
  }
  spans.sort((a, b) => a[0] - b[0]);
  let cursor = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== cursor) throw new Error(`safetensors: ${path}: tensor ${name} starts at ${begin}, expected ${cursor} (gap or overlap)`);
    cursor = end;
  }
  if (cursor !== dataLen) throw new Error(`safetensors: ${path}: tensors cover ${cursor} of ${dataLen} data bytes`);
  return out;
}

/**
 * Reads all weights of a Hugging Face model directory: `file` if given, else
 * model.safetensors.index.json (sharded) if present, else model.safetensors.
 */
export function readModelWeights(dir: string, file?: string): Map<string, RefTensor> {
  if (file !== undefined) return readSafetensors(join(dir, file));
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (!existsSync(indexPath)) return readSafetensors(join(dir, 'model.safetensors'));
  const index = JSON.parse(readFileSync(indexPath, 'utf8')) as { weight_map: Record<string, string> };
  const out = new Map<string, RefTensor>();
  const files = [...new Set(Object.values(index.weight_map))].sort();
  for (const shard of files) {
    for (const [name, t] of readSafetensors(join(dir, shard))) {
      if (index.weight_map[name] !== shard) throw new Error(`safetensors: ${shard} holds ${name}, which the index maps to ${index.weight_map[name]}`);
      out.set(name, t);
    }
  }
  for (const name of Object.keys(index.weight_map)) {
    if (!out.has(name)) throw new Error(`safetensors: index names ${name} in ${index.weight_map[name]} but that shard lacks it`);
  }
  return out;
}
