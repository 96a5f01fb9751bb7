// A parsed GGUF file (GgufFile, readGguf): metadata, tensor table and positioned reads of tensor data.
// The header (metadata and tensor infos) is parsed by @huggingface/gguf (gguf() with allowLocalFile),
// which reads local files only asynchronously, so opening is async. Its parser pads a short file
// with zeros instead of failing, so every range is checked here against the file size. Tensor data
// is read with positioned reads, one tensor at a time, and dequantized by ggufQuants.ts.
// Part of the GGUF reader; gguf.ts re-exports the public names.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { gguf as parseGgufHeader } from '@huggingface/gguf';
import { WeightFileError } from './errors.ts';
import { DEQUANT, DEQUANTIZABLE, dequantize, GGML_TYPES, ggmlBytes, type GgmlType } from './ggufQuants.ts';

// ---------------------------------------------------------------- the file

export type GgufMetadataValue = string | number | bigint | boolean | GgufMetadataValue[];

export interface GgufTensor {
  name: string;
  type: GgmlType;
  /** ggml order, fastest-varying first (ne[0] = row length). */
  ne: number[];
  /** Row-major shape (ne reversed), e.g. [out, in] for a matrix. */
  shape: number[];
  count: number;
  /** Absolute byte offset of the data in the file. */
  offset: number;
  byteLength: number;
}

/** A metadata value as a number (bigint for u64/i64 values), else undefined. */
export function num(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

/** A parsed GGUF file: metadata, tensor table and positioned reads of tensor data. */
export class GgufFile {
  readonly tensors = new Map<string, GgufTensor>();
  private fd: number | null = null;

  private constructor(
    readonly path: string,
    readonly version: number,
    readonly metadata: ReadonlyMap<string, GgufMetadataValue>,
    readonly alignment: number,
    readonly dataOffset: number,
    readonly fileSize: number,
  ) {}

  /** Parses the header of `path` and checks every tensor against the file size. */
  static async open(path: string): Promise<GgufFile> {
    if (!existsSync(path)) throw new WeightFileError(`GGUF file not found: ${path}`, 'check the path');
    const size = statSync(path).size;
    const truncatedHint = 'the file is truncated (an interrupted download?): download or convert it again';
    if (size < 24) throw new WeightFileError(`${path} is too short to be a GGUF file (${size} bytes)`, truncatedHint);
    const head = Buffer.alloc(8);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, head, 0, 8, 0);
    } finally {
      closeSync(fd);
    }
    if (head.toString('latin1', 0, 4) !== 'GGUF') {
      throw new WeightFileError(`${path} is not a GGUF file (it starts with ${JSON.stringify(head.toString('latin1', 0, 4))})`, 'give a .gguf file written by llama.cpp or limbic');
    }
    let parsed: Awaited<ReturnType<typeof parseGgufHeader>>;
    try {
      parsed = await parseGgufHeader(path, { allowLocalFile: true });
    } catch (err) {
      throw new WeightFileError(`cannot parse the GGUF header of ${path}: ${(err as Error).message}`, truncatedHint);
    }
    if (!parsed.littleEndian) throw new WeightFileError(`${path} is a big-endian GGUF file`, 'convert it again without --bigendian');
    const [, infoEnd] = parsed.tensorInfoByteRange;
    const dataOffset = Number(parsed.tensorDataOffset);
    if (infoEnd > size || dataOffset > size) {
      throw new WeightFileError(`${path} is truncated: its header runs to byte ${Math.max(infoEnd, dataOffset)} of ${size}`, truncatedHint);
    }
    const md = new Map<string, GgufMetadataValue>();
    for (const [k, v] of Object.entries(parsed.metadata as Record<string, unknown>)) {
      if (k !== 'version' && k !== 'tensor_count' && k !== 'kv_count') md.set(k, v as GgufMetadataValue);
    }
    const alignment = num(md.get('general.alignment')) ?? 32;
    const f = new GgufFile(path, Number(parsed.metadata.version), md, alignment, dataOffset, size);
    for (const t of parsed.tensorInfos) {
      const ne = t.shape.map(Number);
      const type = GGML_TYPES.get(Number(t.dtype));
      const count = ne.reduce((a, b) => a * b, 1);
      const offset = dataOffset + Number(t.offset);
      if (!t.name) throw new WeightFileError(`${path}: a tensor has an empty name`, truncatedHint);
      if (f.tensors.has(t.name)) throw new WeightFileError(`${path}: tensor ${t.name} appears twice`, 'the file is damaged: convert it again');
      if (!type) {
        // Unknown to this table: keep it (read() names it), check only that its data starts in the file.
        if (offset > size) throw new WeightFileError(`${path} is truncated: tensor ${t.name} starts at byte ${offset} of ${size}`, truncatedHint);
        f.tensors.set(t.name, { name: t.name, type: { id: Number(t.dtype), name: `type ${Number(t.dtype)}`, blockSize: 1, typeSize: 0 }, ne, shape: [...ne].reverse(), count, offset, byteLength: 0 });
        continue;
      }
      if ((ne[0] ?? 1) % type.blockSize !== 0) {
        throw new WeightFileError(`${path}: tensor ${t.name} has rows of ${ne[0]} elements, not a multiple of the ${type.name} block size ${type.blockSize}`, 'the file is damaged: convert it again');
      }
      const byteLength = ggmlBytes(type, count);
      if (offset + byteLength > size) {
        throw new WeightFileError(`${path} is truncated: tensor ${t.name} [${[...ne].reverse().join(', ')}] ${type.name} ends at byte ${offset + byteLength} of ${size}`, truncatedHint);
      }
      f.tensors.set(t.name, { name: t.name, type, ne, shape: [...ne].reverse(), count, offset, byteLength });
    }
    return f;
  }

  /** Raw bytes of a tensor as stored. */
  readRaw(name: string): Uint8Array {
    const t = this.tensors.get(name);
    if (!t) throw new WeightFileError(`tensor ${name} not in ${this.path}`);
    this.fd ??= openSync(this.path, 'r');
    const buf = new Uint8Array(t.byteLength);
    let done = 0;
    while (done < buf.length) {
      const n = readSync(this.fd, buf, done, buf.length - done, t.offset + done);
      if (n === 0) throw new WeightFileError(`${this.path}: unexpected end of file reading ${name}`, 'the file is truncated: download or convert it again');
      done += n;
    }
    return buf;
  }

  /** A tensor dequantized to float32, row-major in `shape`. */
  readFloat32(name: string): Float32Array {
    const t = this.tensors.get(name);
    if (!t) throw new WeightFileError(`tensor ${name} not in ${this.path}`);
    if (!DEQUANT[t.type.name]) {
      throw new WeightFileError(
        `tensor ${name} in ${this.path} has type ${t.type.name}, which limbic cannot dequantize`,
        `supported GGUF tensor types: ${DEQUANTIZABLE.join(', ')}; re-quantize the model (llama-quantize ... Q8_0 or Q4_K_M) or load the original Hugging Face model`,
      );
    }
    return dequantize(t.type.name, this.readRaw(name), t.count);
  }

  str(key: string): string | undefined {
    const v = this.metadata.get(key);
    return typeof v === 'string' ? v : undefined;
  }

  num(key: string): number | undefined {
    return num(this.metadata.get(key));
  }

  bool(key: string): boolean | undefined {
    const v = this.metadata.get(key);
    return typeof v === 'boolean' ? v : undefined;
  }

  arr(key: string): GgufMetadataValue[] | undefined {
    const v = this.metadata.get(key);
    return Array.isArray(v) ? v : undefined;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * Parses a GGUF file's header (metadata and tensor table).
 * @example const f = await readGguf('model.gguf'); f.str('general.architecture')
 */
export function readGguf(path: string): Promise<GgufFile> {
  return GgufFile.open(path);
}
