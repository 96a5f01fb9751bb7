// GraphBuilder: a small imperative front-end over the ONNX IR in proto.ts.
// `op()` appends a node and returns its output names; large weights are streamed to an external
// data file through a WeightSink so that a multi-GB model never sits in memory twice.
import { closeSync, openSync, writeSync } from 'node:fs';
import type { AttrValue, GraphDef, NodeDef, OnnxDataType, TensorDef, ValueInfoDef } from './proto.ts';

/** Receives weight bytes and says where they landed in the external data file. */
export interface WeightSink {
  /** Appends `bytes`; returns the external-data reference for a tensor stored there. */
  append(bytes: Uint8Array): { location: string; offset: number; length: number };
  close(): void;
}

/** Writes weights into one file, each tensor aligned to `align` bytes (page-aligned data can be mmapped). */
export class FileWeightSink implements WeightSink {
  private fd: number | null;
  private offset = 0;
  constructor(path: string, private readonly location: string, private readonly align = 4096) {
    this.fd = openSync(path, 'w');
  }
  append(bytes: Uint8Array): { location: string; offset: number; length: number } {
    const pad = (this.align - (this.offset % this.align)) % this.align;
    if (pad) {
      writeSync(this.fd!, new Uint8Array(pad));
      this.offset += pad;
    }
    const at = this.offset;
    let written = 0;
    while (written < bytes.byteLength) written += writeSync(this.fd!, bytes, written, bytes.byteLength - written);
    this.offset += bytes.byteLength;
    return { location: this.location, offset: at, length: bytes.byteLength };
  }
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function bytesOf(data: Float32Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | Uint16Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export class GraphBuilder {
  readonly nodes: NodeDef[] = [];
  readonly initializers: TensorDef[] = [];
  readonly inputs: ValueInfoDef[] = [];
  readonly outputs: ValueInfoDef[] = [];
  private counter = 0;
  private constCache = new Map<string, string>();

  constructor(private readonly sink: WeightSink | null, private readonly inlineLimit = 1024) {}

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  input(name: string, dataType: OnnxDataType, shape: (number | string)[]): string {
    this.inputs.push({ name, dataType, shape });
    return name;
  }

  output(name: string, dataType: OnnxDataType, shape: (number | string)[]): void {
    this.outputs.push({ name, dataType, shape });
  }

  /** Appends a node; returns its output names (`nOut` fresh ones unless `outputs` are given). */
  op(
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    opts: { outputs?: string[]; nOut?: number; domain?: string; prefix?: string } = {},
  ): string[] {
    const outputs = opts.outputs ?? Array.from({ length: opts.nOut ?? 1 }, () => this.fresh(opts.prefix ?? opType.toLowerCase()));
    const node: NodeDef = { opType, inputs, outputs, name: this.fresh(`n_${opType}`), attrs };
    if (opts.domain) node.domain = opts.domain;
    this.nodes.push(node);
    return outputs;
  }

  /** Single-output `op`. */
  op1(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, opts: { output?: string; domain?: string } = {}): string {
    const o: { outputs?: string[]; domain?: string } = {};
    if (opts.output) o.outputs = [opts.output];
    if (opts.domain) o.domain = opts.domain;
    return this.op(opType, inputs, attrs, o)[0]!;
  }

  /**
   * Gives a value produced by an already-added node a new name (e.g. a hook name), so that it can be
   * a graph output without an Identity copy. Only valid before anything consumes the value.
   */
  rename(value: string, name: string): string {
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i]!;
      const k = n.outputs.indexOf(value);
      if (k < 0) continue;
      if (this.nodes.slice(i + 1).some((m) => m.inputs.includes(value))) throw new Error(`rename: ${value} is already consumed`);
      const outputs = [...n.outputs];
      outputs[k] = name;
      this.nodes[i] = { ...n, outputs };
      return name;
    }
    throw new Error(`rename: no node produces ${value}`);
  }

  /** An initializer: inline when small, else streamed to the weight sink. */
  tensor(name: string, dataType: OnnxDataType, dims: readonly number[], data: Float32Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | Uint16Array): string {
    const bytes = bytesOf(data);
    const t: TensorDef = { name, dims: [...dims], dataType };
    if (this.sink && bytes.byteLength > this.inlineLimit) t.external = this.sink.append(bytes);
    else t.raw = new Uint8Array(bytes); // copy: the caller may reuse its buffer
    this.initializers.push(t);
    return name;
  }

  /** Deduplicated small constants. */
  constI64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    let name = this.constCache.get(key);
    if (!name) {
      name = this.tensor(this.fresh('const_i64'), 'int64', dims, BigInt64Array.from(values.map((v) => BigInt(v))));
      this.constCache.set(key, name);
    }
    return name;
  }

  constF32(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `f32:${dims.join('x')}:${values.join(',')}`;
    let name = this.constCache.get(key);
    if (!name) {
      name = this.tensor(this.fresh('const_f32'), 'float32', dims, Float32Array.from(values));
      this.constCache.set(key, name);
    }
    return name;
  }

  scalarF32(v: number): string {
    return this.constF32([v], []);
  }

  build(name: string): GraphDef {
    return { name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs };
  }
}
