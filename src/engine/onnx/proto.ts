// ONNX ModelProto encoder: the handful of messages limbic needs to hand a graph to ONNX Runtime.
// Field numbers follow onnx/onnx.proto3 (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto3);
// the wire format is written with protobufjs's Writer. Large weights go to an external data file
// (TensorProto.data_location = EXTERNAL), so the model proto itself stays small.
import protobuf from 'protobufjs/minimal.js';

const { Writer } = protobuf;
type PbWriter = protobuf.Writer;

/** ONNX TensorProto.DataType values for the element types limbic uses. */
export const ONNX_DTYPE = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  bfloat16: 16,
} as const;
export type OnnxDataType = keyof typeof ONNX_DTYPE;

export type AttrValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'tensor'; value: TensorDef };

/** Attribute constructors: `attr.int(1)`, `attr.ints([0, 2, 1, 3])`. */
export const attr = {
  int: (value: number): AttrValue => ({ kind: 'int', value }),
  float: (value: number): AttrValue => ({ kind: 'float', value }),
  string: (value: string): AttrValue => ({ kind: 'string', value }),
  ints: (value: readonly number[]): AttrValue => ({ kind: 'ints', value }),
  floats: (value: readonly number[]): AttrValue => ({ kind: 'floats', value }),
  tensor: (value: TensorDef): AttrValue => ({ kind: 'tensor', value }),
};

export interface TensorDef {
  name: string;
  dims: readonly number[];
  dataType: OnnxDataType;
  /** Inline little-endian bytes (small constants). */
  raw?: Uint8Array;
  /** Location in the external data file (large weights). */
  external?: { location: string; offset: number; length: number };
}

export interface NodeDef {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  domain?: string;
  attrs?: Readonly<Record<string, AttrValue>>;
}

export interface ValueInfoDef {
  name: string;
  dataType: OnnxDataType;
  /** Each dim a fixed size or a symbolic name. */
  shape: readonly (number | string)[];
}

export interface GraphDef {
  name: string;
  nodes: readonly NodeDef[];
  initializers: readonly TensorDef[];
  inputs: readonly ValueInfoDef[];
  outputs: readonly ValueInfoDef[];
}

export interface ModelDef {
  graph: GraphDef;
  opsets: readonly { domain: string; version: number }[];
  irVersion: number;
  producer: string;
  metadata?: Readonly<Record<string, string>>;
}

function writeMessage(w: PbWriter, field: number, body: (w: PbWriter) => void): void {
  w.uint32((field << 3) | 2).fork();
  body(w);
  w.ldelim();
}

function writeString(w: PbWriter, field: number, s: string): void {
  w.uint32((field << 3) | 2).string(s);
}

function writeInt(w: PbWriter, field: number, v: number): void {
  w.uint32(field << 3).int64(v);
}

function writeTensor(w: PbWriter, t: TensorDef): void {
  for (const d of t.dims) writeInt(w, 1, d);
  w.uint32(2 << 3).int32(ONNX_DTYPE[t.dataType]);
  writeString(w, 8, t.name);
  if (t.raw) w.uint32((9 << 3) | 2).bytes(t.raw);
  if (t.external) {
    const entries: [string, string][] = [
      ['location', t.external.location],
      ['offset', String(t.external.offset)],
      ['length', String(t.external.length)],
    ];
    for (const [k, v] of entries) {
      writeMessage(w, 13, (e) => {
        writeString(e, 1, k);
        writeString(e, 2, v);
      });
    }
    w.uint32(14 << 3).int32(1);
  }
}

function writeAttribute(w: PbWriter, name: string, a: AttrValue): void {
  writeString(w, 1, name);
  switch (a.kind) {
    case 'float':
      w.uint32((2 << 3) | 5).float(a.value);
      w.uint32(20 << 3).int32(1);
      break;
    case 'int':
      writeInt(w, 3, a.value);
      w.uint32(20 << 3).int32(2);
      break;
    case 'string':
      w.uint32((4 << 3) | 2).bytes(Buffer.from(a.value, 'utf8'));
      w.uint32(20 << 3).int32(3);
      break;
    case 'tensor':
      writeMessage(w, 5, (tw) => writeTensor(tw, a.value));
      w.uint32(20 << 3).int32(4);
      break;
    case 'floats':
      for (const f of a.value) w.uint32((7 << 3) | 5).float(f);
      w.uint32(20 << 3).int32(6);
      break;
    case 'ints':
      for (const i of a.value) writeInt(w, 8, i);
      w.uint32(20 << 3).int32(7);
      break;
  }
}

function writeValueInfo(w: PbWriter, v: ValueInfoDef): void {
  writeString(w, 1, v.name);
  writeMessage(w, 2, (tw) => {
    writeMessage(tw, 1, (tt) => {
      tt.uint32(1 << 3).int32(ONNX_DTYPE[v.dataType]);
      writeMessage(tt, 2, (sw) => {
        for (const d of v.shape) {
          writeMessage(sw, 1, (dw) => {
            if (typeof d === 'number') writeInt(dw, 1, d);
            else writeString(dw, 2, d);
          });
        }
      });
    });
  });
}

function writeNode(w: PbWriter, n: NodeDef): void {
  for (const i of n.inputs) writeString(w, 1, i);
  for (const o of n.outputs) writeString(w, 2, o);
  if (n.name) writeString(w, 3, n.name);
  writeString(w, 4, n.opType);
  for (const [k, a] of Object.entries(n.attrs ?? {})) writeMessage(w, 5, (aw) => writeAttribute(aw, k, a));
  if (n.domain) writeString(w, 7, n.domain);
}

function writeGraph(w: PbWriter, g: GraphDef): void {
  for (const n of g.nodes) writeMessage(w, 1, (nw) => writeNode(nw, n));
  writeString(w, 2, g.name);
  for (const t of g.initializers) writeMessage(w, 5, (tw) => writeTensor(tw, t));
  for (const v of g.inputs) writeMessage(w, 11, (vw) => writeValueInfo(vw, v));
  for (const v of g.outputs) writeMessage(w, 12, (vw) => writeValueInfo(vw, v));
}

/** Serialises a model to ONNX protobuf bytes. */
export function encodeModel(m: ModelDef): Uint8Array {
  const w = Writer.create();
  writeInt(w, 1, m.irVersion);
  writeString(w, 2, m.producer);
  writeMessage(w, 7, (gw) => writeGraph(gw, m.graph));
  for (const o of m.opsets) {
    writeMessage(w, 8, (ow) => {
      if (o.domain) writeString(ow, 1, o.domain);
      writeInt(ow, 2, o.version);
    });
  }
  for (const [k, v] of Object.entries(m.metadata ?? {})) {
    writeMessage(w, 14, (e) => {
      writeString(e, 1, k);
      writeString(e, 2, v);
    });
  }
  return w.finish();
}
