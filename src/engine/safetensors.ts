// safetensors reading and writing (https://github.com/huggingface/safetensors#format):
// 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, then raw data.
// Reads tensors one at a time with positioned reads, so a multi-GB file is never loaded whole.
// F32, F16 and BF16 are upcast to float32 on read. Also reads sharded checkpoints through their index.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { WeightFileError } from './errors.ts';
import { writeFileAtomic } from './atomic.ts';
import { bf16ToF32, f16ToF32 } from './dtype.ts';

export interface TensorInfo {
  dtype: string;
  shape: number[];
}

/** A read-only collection of named tensors, upcast to float32 on read. */
export interface WeightSource {
  readonly description: string;
  names(): string[];
  info(name: string): TensorInfo | undefined;
  read(name: string): Float32Array;
  close(): void;
}

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, U8: 1, I8: 1, BOOL: 1 };

interface Entry extends TensorInfo {
  begin: number;
  end: number;
}

/** One safetensors file. */
export class SafetensorsFile implements WeightSource {
  readonly description: string;
  readonly metadata: Record<string, string>;
  private readonly fd: number;
  private readonly entries = new Map<string, Entry>();
  private readonly dataStart: number;

  constructor(readonly path: string) {
    this.description = path;
    if (!existsSync(path)) throw new WeightFileError(`weights file not found: ${path}`, 'check the model directory');
    this.fd = openSync(path, 'r');
    try {
      const size = fstatSync(this.fd).size;
      if (size < 8) throw new WeightFileError(`${path} is too short to be a safetensors file (${size} bytes)`, 'the download was probably interrupted: pull the model again');
      const lenBuf = Buffer.alloc(8);
      readSync(this.fd, lenBuf, 0, 8, 0);
      const headerLen = Number(lenBuf.readBigUInt64LE(0));
      if (headerLen <= 0 || 8 + headerLen > size) {
        throw new WeightFileError(`${path}: header length ${headerLen} does not fit in the ${size}-byte file`, 'the file is truncated or not safetensors: pull the model again');
      }
      const headerBuf = Buffer.alloc(headerLen);
      readSync(this.fd, headerBuf, 0, headerLen, 8);
      let header: Record<string, unknown>;
      try {
        header = JSON.parse(headerBuf.toString('utf8')) as Record<string, unknown>;
      } catch {
        throw new WeightFileError(`${path}: the safetensors header is not valid JSON`, 'the file is corrupt: pull the model again');
      }
      this.dataStart = 8 + headerLen;
      this.metadata = (header['__metadata__'] as Record<string, string> | undefined) ?? {};
      for (const [name, v] of Object.entries(header)) {
        if (name === '__metadata__') continue;
        const e = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
        const [begin, end] = e.data_offsets;
        const bytes = DTYPE_BYTES[e.dtype];
        const count = e.shape.reduce((a, b) => a * b, 1);
        if (bytes !== undefined && end - begin !== count * bytes) {
          throw new WeightFileError(`${path}: tensor ${name} [${e.shape.join(', ')}] ${e.dtype} spans ${end - begin} bytes, expected ${count * bytes}`);
        }
        if (this.dataStart + end > size) {
          throw new WeightFileError(`${path} is truncated: tensor ${name} ends at byte ${this.dataStart + end} of ${size}`, 'the download was probably interrupted: pull the model again');
        }
        this.entries.set(name, { dtype: e.dtype, shape: e.shape, begin, end });
      }
    } catch (err) {
      closeSync(this.fd);
      throw err;
    }
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  info(name: string): TensorInfo | undefined {
    const e = this.entries.get(name);
    return e && { dtype: e.dtype, shape: e.shape };
  }

  /** Raw bytes of a tensor as stored. */
  readRaw(name: string): Uint8Array {
    const e = this.entries.get(name);
    if (!e) throw new WeightFileError(`tensor ${name} not in ${this.path}`);
    const buf = new Uint8Array(e.end - e.begin);
    let done = 0;
    while (done < buf.length) {
      const n = readSync(this.fd, buf, done, buf.length - done, this.dataStart + e.begin + done);
      if (n === 0) throw new WeightFileError(`${this.path}: unexpected end of file reading ${name}`);
      done += n;
    }
    return buf;
  }

  read(name: string): Float32Array {
    const e = this.entries.get(name)!;
    const raw = this.readRaw(name);
    switch (e?.dtype) {
      case 'F32':
        return new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
      case 'F16':
        return f16ToF32(new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2));
      case 'BF16':
        return bf16ToF32(new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2));
      case 'F64':
        return Float32Array.from(new Float64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8));
      default:
        throw new WeightFileError(`tensor ${name} has dtype ${e?.dtype}, which limbic cannot use as a weight`, 'supported: F32, F16, BF16, F64');
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Several safetensors files seen as one source (sharded checkpoints). */
export class ShardedSafetensors implements WeightSource {
  readonly description: string;
  private readonly byName = new Map<string, SafetensorsFile>();
  constructor(private readonly files: SafetensorsFile[], description: string) {
    this.description = description;
    for (const f of files) for (const n of f.names()) this.byName.set(n, f);
  }
  names(): string[] {
    return [...this.byName.keys()];
  }
  info(name: string): TensorInfo | undefined {
    return this.byName.get(name)?.info(name);
  }
  read(name: string): Float32Array {
    const f = this.byName.get(name);
    if (!f) throw new WeightFileError(`tensor ${name} not in ${this.description}`);
    return f.read(name);
  }
  close(): void {
    for (const f of this.files) f.close();
  }
}

/** Opens model.safetensors, or the shards listed in model.safetensors.index.json, in `dir`. */
export function openSafetensorsDir(dir: string): WeightSource {
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    const idx = JSON.parse(readFileSync(index, 'utf8')) as { weight_map: Record<string, string> };
    const shardNames = [...new Set(Object.values(idx.weight_map))].sort();
    const missing = shardNames.filter((s) => !existsSync(join(dir, s)));
    if (missing.length) throw new WeightFileError(`shards missing from ${dir}: ${missing.join(', ')}`, 'the download is incomplete: pull the model again');
    return new ShardedSafetensors(shardNames.map((s) => new SafetensorsFile(join(dir, s))), `${dir} (${shardNames.length} shards)`);
  }
  const single = join(dir, 'model.safetensors');
  if (existsSync(single)) return new SafetensorsFile(single);
  throw new WeightFileError(`no model.safetensors or model.safetensors.index.json in ${dir}`, 'point --model at a Hugging Face model directory, a .gguf file or a llama2.c .bin');
}

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32';

export interface TensorToWrite {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float64Array | Float32Array | Uint16Array | BigInt64Array | Int32Array;
}

/** Serialises tensors (sorted by name, as safetensors does) with optional string metadata. */
export function encodeSafetensors(tensors: Record<string, TensorToWrite>, metadata: Record<string, string> = {}): Buffer {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const n of names) {
    const t = tensors[n]!;
    const len = t.data.byteLength;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count * DTYPE_BYTES[t.dtype]! !== len) throw new WeightFileError(`tensor ${n}: shape [${t.shape.join(', ')}] does not match ${len} bytes of ${t.dtype}`);
    header[n] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + len] };
    offset += len;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let at = 8 + headerBytes.length;
  for (const n of names) {
    const d = tensors[n]!.data;
    Buffer.from(d.buffer, d.byteOffset, d.byteLength).copy(out, at);
    at += d.byteLength;
  }
  return out;
}

/** Writes a safetensors file atomically (temp file, then rename). */
export function writeSafetensors(path: string, tensors: Record<string, TensorToWrite>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function isSafetensorsFile(path: string): boolean {
  return basename(path).endsWith('.safetensors') && existsSync(path) && existsSync(dirname(path));
}
