// On-disk cache of built ONNX graphs, keyed by model fingerprint and graph variant.
// Layout: <root>/graphs/<modelKey>/weights.bin (shared by all variants) and <variant>.onnx.
// Every variant adds weights in the same order, so truncated variants reference a prefix of the
// same weights.bin: the first build writes it, later variants only compute offsets (DrySink).
// Files are written to temporary names and renamed, so an interrupted build leaves no partial entry.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { archOf } from './architectures.ts';
import { writeFileAtomic } from './atomic.ts';
import { buildTransformerGraph, type GraphIo, type GraphOptions } from './graph.ts';
import { FileWeightSink, GraphBuilder, type WeightSink } from './onnx/builder.ts';
import { encodeModel } from './onnx/proto.ts';
import type { ModelSource } from './source.ts';
import { planWeights, type WeightPlan } from './weights.ts';

/** Bump when the graph layout changes, to invalidate old cache entries. */
export const GRAPH_FORMAT_VERSION = 7;

export function defaultCacheRoot(): string {
  return process.env['LIMBIC_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'limbic');
}

/** Computes the offsets the real sink would give, without writing. */
class DrySink implements WeightSink {
  private offset = 0;
  constructor(private readonly file: string, private readonly align = 4096) {}
  append(bytes: Uint8Array): { location: string; offset: number; length: number } {
    this.offset += (this.align - (this.offset % this.align)) % this.align;
    const at = this.offset;
    this.offset += bytes.byteLength;
    return { location: this.file, offset: at, length: bytes.byteLength };
  }
  close(): void {}
}

export function variantName(o: GraphOptions): string {
  return `${o.lastLayer === undefined ? 'full' : `upto${o.lastLayer}`}${o.withCache ? '-kv' : ''}-h${o.hookSet}${quantSuffix(o)}`;
}

function quantSuffix(o: GraphOptions): string {
  return o.quant ? `-q${o.quant.bits}b${o.quant.blockSize}` : '';
}

/** Each weight precision has its own weights file (variants of one precision share it). */
function weightsFile(o: GraphOptions): string {
  return `weights${quantSuffix(o)}.bin`;
}

export interface BuiltGraph {
  path: string;
  io: GraphIo;
  cacheHit: boolean;
}

export class GraphCache {
  readonly dir: string;
  private plan: WeightPlan | null = null;

  constructor(private readonly source: ModelSource, root: string = defaultCacheRoot()) {
    const key = createHash('sha256').update(`v${GRAPH_FORMAT_VERSION}|${source.fingerprint}|${source.path}`).digest('hex').slice(0, 24);
    this.dir = join(root, 'graphs', `${source.id.replace(/[^A-Za-z0-9._-]/g, '_')}-${key}`);
  }

  /** Validates weights against the config (shapes, missing tensors); cached. */
  weightPlan(): WeightPlan {
    this.plan ??= planWeights(this.source.config, archOf(this.source.config), this.source.weights);
    return this.plan;
  }

  /** Returns the path of the variant's .onnx, building it (and weights.bin) when absent. */
  ensure(opts: GraphOptions): BuiltGraph {
    const name = variantName(opts);
    const onnxPath = join(this.dir, `${name}.onnx`);
    const ioPath = join(this.dir, `${name}.io.json`);
    const plan = this.weightPlan();
    const file = weightsFile(opts);
    if (existsSync(onnxPath) && existsSync(ioPath) && existsSync(join(this.dir, file))) {
      return { path: onnxPath, io: JSON.parse(readFileSync(ioPath, 'utf8')) as GraphIo, cacheHit: true };
    }
    mkdirSync(this.dir, { recursive: true });
    const weightsPath = join(this.dir, file);
    const writeWeights = !existsSync(weightsPath);
    const tmpWeights = `${weightsPath}.tmp-${process.pid}`;
    // The first build writes the full weight set, so every later variant finds its prefix there.
    const buildOpts: GraphOptions = writeWeights ? { ...opts, lastLayer: undefined } : opts;
    const sink: WeightSink = writeWeights ? new FileWeightSink(tmpWeights, file) : new DrySink(file);
    try {
      const g = new GraphBuilder(sink);
      const io = buildTransformerGraph(g, this.source.config, archOf(this.source.config), plan.weights, buildOpts);
      sink.close();
      const bytes = encodeModel({
        graph: g.build(`limbic-${this.source.id}`),
        opsets: [{ domain: '', version: 23 }, { domain: 'com.microsoft', version: 1 }],
        irVersion: 10,
        producer: 'limbic',
        metadata: { model: this.source.id, variant: name },
      });
      if (writeWeights) renameSync(tmpWeights, weightsPath);
      const builtName = variantName(buildOpts);
      writeFileAtomic(join(this.dir, `${builtName}.onnx`), bytes);
      writeFileAtomic(join(this.dir, `${builtName}.io.json`), JSON.stringify(io));
      if (builtName !== name) return this.ensure(opts);
      writeFileSync(join(this.dir, 'source.json'), JSON.stringify({ id: this.source.id, path: this.source.path, fingerprint: this.source.fingerprint }));
      return { path: onnxPath, io, cacheHit: false };
    } catch (err) {
      sink.close();
      rmSync(tmpWeights, { force: true });
      throw err;
    }
  }
}
