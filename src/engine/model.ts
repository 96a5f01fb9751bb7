// Model: the engine's public object. forward() runs one chunk of tokens (a batch of sequences,
// right-padded, with attention masks) with optional hook capture and steering, continuing a KV
// cache when given one; generate() streams tokens with the same capture/steer options at every step.
// Steering and capture are per call: the model object is never mutated to steer.
import * as ort from 'onnxruntime-node';
import { availableParallelism } from 'node:os';
import { createHash } from 'node:crypto';
import type { ModelConfig } from './config.ts';
import { archOf } from './architectures.ts';
import { ContextLengthError, LimbicError, SteeringError, TokenizerError, assert } from './errors.ts';
import { NEG_INF_MASK, type GraphOptions, type HookSet } from './graph.ts';
import { GraphCache, variantName, type BuiltGraph } from './graphCache.ts';
import type { QuantSpec } from './quantize.ts';
import { expandHooks, type ParsedHook } from './hooks.ts';
import { TextStream } from './textStream.ts';
import { KVCache } from './kvCache.ts';
import { makeRng, sampleToken, tokenLogprob, type SamplingOptions } from './sampling.ts';
import { openModelSource, type ModelSource, type OpenSourceOptions } from './source.ts';
import type { ChatMessage, TextTokenizer } from './tokenizer.ts';

export { KVCache };

/** A dense float32 tensor, row-major. */
export interface Activation {
  data: Float32Array;
  dims: number[];
}

/** Which absolute token positions a steering vector is added at. */
export type PositionSelector = 'all' | readonly number[] | { from?: number; to?: number } | ((position: number) => boolean);

export interface SteeringSpec {
  /** Block whose output (blocks.{layer}.hook_resid_post) receives the vector; negative counts from the end. */
  layer: number;
  vector: Float32Array | readonly number[];
  /** Multiplier on the vector (absolute units; see vectors/ for fractions of the residual norm). */
  scale?: number;
  positions?: PositionSelector;
}

export interface ForwardOptions {
  /** Hook names to capture (TransformerLens names; `blocks.*.hook_resid_post` for every layer). */
  capture?: readonly string[];
  steer?: readonly SteeringSpec[];
  /** Which positions get logits: every position, the last real one of each row, or none. */
  logits?: 'all' | 'last' | 'none';
  /** Continue (and extend) this cache. */
  cache?: KVCache;
}

export interface ForwardResult {
  /** [B, K, V]: K = T for 'all', 1 for 'last'. */
  logits: Activation | null;
  /** Captured activations by canonical hook name, each [B, T, d]. */
  captures: Map<string, Activation>;
  /** Real (unpadded) length of each row in this chunk. */
  lengths: number[];
  /** Absolute position of each row's first token in this chunk. */
  startPositions: number[];
}

export interface Logger {
  debug?(msg: string): void;
  info?(msg: string): void;
  warn?(msg: string): void;
}

export type LoadEvent = { type: 'graph-build'; variant: string } | { type: 'graph-ready'; variant: string; cacheHit: boolean; ms: number } | { type: 'session'; variant: string; ms: number };

export interface LoadModelOptions extends OpenSourceOptions {
  /** Intra-op threads (default: all cores). */
  threads?: number;
  /** Graph cache root (default $LIMBIC_CACHE or ~/.cache/limbic). */
  cacheDir?: string;
  /** ONNX Runtime execution providers, e.g. ['cuda', 'cpu'] where the CUDA build is installed. */
  executionProviders?: string[];
  logger?: Logger;
  onEvent?: (e: LoadEvent) => void;
  /** How many graph sessions (variants) stay loaded at once. */
  maxSessions?: number;
  /** Extra ONNX Runtime session options, merged over limbic's (e.g. enableProfiling, extra config entries). */
  sessionOptions?: ort.InferenceSession.SessionOptions;
  /** Build graphs without hook outputs (only to measure what hooks cost; capture is then refused). */
  exposeHooks?: boolean;
  /** Opt-in weight quantization (MatMulNBits, 8 or 4 bits) to save memory; fp32 is the default and the reference. */
  quantize?: QuantSpec | null;
}

export interface GenerateOptions extends SamplingOptions {
  maxTokens?: number;
  seed?: number;
  /** Stop when the decoded continuation contains one of these (it is cut before the stop string). */
  stop?: readonly string[];
  /** Stop at the tokenizer's end-of-sequence tokens (default true). */
  stopAtEos?: boolean;
  capture?: readonly string[];
  /** Steering; positions may also be 'prompt' or 'generated'. */
  steer?: readonly (Omit<SteeringSpec, 'positions'> & { positions?: PositionSelector | 'prompt' | 'generated' })[];
  /** Called with the prompt's forward result (its captures) before the first token. */
  onPrefill?: (r: ForwardResult) => void;
  signal?: AbortSignal;
}

export interface GeneratedToken {
  token: number;
  /** Absolute position of this token. */
  position: number;
  /** Text this token adds to the continuation (may be '' while a UTF-8 sequence is incomplete). */
  text: string;
  logprob: number;
  /** Captures at this token's position, [1, 1, d] each (when requested). */
  captures: Map<string, Activation>;
  finishReason: 'length' | 'eos' | 'stop' | null;
}

function selectorFn(sel: PositionSelector | undefined): (p: number) => boolean {
  if (sel === undefined || sel === 'all') return () => true;
  if (typeof sel === 'function') return sel;
  if (Array.isArray(sel)) {
    const s = new Set(sel as readonly number[]);
    return (p) => s.has(p);
  }
  const r = sel as { from?: number; to?: number };
  return (p) => p >= (r.from ?? 0) && p < (r.to ?? Infinity);
}

export class Model {
  readonly config: ModelConfig;
  readonly tokenizer: TextTokenizer | null;
  readonly id: string;
  readonly source: ModelSource;
  /** Checkpoint tensors that no rule used (reported, not fatal). */
  readonly unusedWeights: string[];
  private readonly graphs: GraphCache;
  private readonly sessions = new Map<string, { session: ort.InferenceSession; graph: BuiltGraph }>();
  private readonly zeroSteer: ort.Tensor;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(source: ModelSource, private readonly opts: LoadModelOptions = {}) {
    this.source = source;
    this.config = source.config;
    this.tokenizer = source.tokenizer;
    this.id = source.id;
    this.graphs = new GraphCache(source, opts.cacheDir);
    this.unusedWeights = this.graphs.weightPlan().unused;
    if (this.unusedWeights.length) opts.logger?.warn?.(`${this.unusedWeights.length} unused tensors in ${source.id}: ${this.unusedWeights.slice(0, 5).join(', ')}`);
    this.zeroSteer = new ort.Tensor('float32', new Float32Array(this.config.dModel), [1, 1, this.config.dModel]);
  }

  /** Directory of this model's built graphs. */
  get graphDir(): string {
    return this.graphs.dir;
  }

  private async session(opts: GraphOptions): Promise<{ session: ort.InferenceSession; graph: BuiltGraph }> {
    const name = variantName(opts);
    const have = this.sessions.get(name);
    if (have) return have;
    const t0 = performance.now();
    this.opts.onEvent?.({ type: 'graph-build', variant: name });
    const graph = this.graphs.ensure(opts);
    this.opts.onEvent?.({ type: 'graph-ready', variant: name, cacheHit: graph.cacheHit, ms: performance.now() - t0 });
    const max = this.opts.maxSessions ?? 2;
    while (this.sessions.size >= max) {
      const [oldest, s] = this.sessions.entries().next().value as [string, { session: ort.InferenceSession }];
      this.sessions.delete(oldest);
      await s.session.release();
    }
    const t1 = performance.now();
    const session = await ort.InferenceSession.create(graph.path, {
      executionProviders: (this.opts.executionProviders ?? ['cpu']) as ort.InferenceSession.ExecutionProviderConfig[],
      intraOpNumThreads: this.opts.threads ?? availableParallelism(),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      ...this.opts.sessionOptions,
    });
    this.opts.onEvent?.({ type: 'session', variant: name, ms: performance.now() - t1 });
    const entry = { session, graph };
    this.sessions.set(name, entry);
    return entry;
  }

  /** Builds (or loads from the cache) the graph variants ahead of use. */
  async warmup(opts: { captureOnlyDepth?: number } = {}): Promise<void> {
    const quant = this.opts.quantize ?? null;
    await this.session({ withCache: true, hookSet: this.hookSetFor([], false), quant });
    if (opts.captureOnlyDepth !== undefined) await this.session({ withCache: false, hookSet: 'resid', lastLayer: opts.captureOnlyDepth, quant });
  }

  /**
   * Graph hook set (GraphOptions.hookSet). Full graphs expose every hook, so generation, capture and
   * steering share one session (measured: exposing hooks costs within noise, see BENCHMARKS.md);
   * capture-only graphs, built per depth anyway, expose just what the hooks need.
   */
  private hookSetFor(hooks: readonly ParsedHook[], captureOnly: boolean): HookSet {
    if (this.opts.exposeHooks === false) return 'none';
    if (!captureOnly) return 'all';
    return hooks.every((h) => h.source === 'hook_embed' || h.source.endsWith('.hook_resid_post')) ? 'resid' : 'all';
  }

  /** Validates hook names (throws HookNameError with suggestions). */
  resolveHooks(names: readonly string[]): ParsedHook[] {
    return expandHooks(names, this.config.nLayers);
  }

  /** Runs calls one at a time: an ORT session is not re-entrant across our cache bookkeeping. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  forward(input: readonly number[] | readonly (readonly number[])[], opts: ForwardOptions = {}): Promise<ForwardResult> {
    return this.serial(() => this.forwardNow(input, opts));
  }

  private async forwardNow(input: readonly number[] | readonly (readonly number[])[], opts: ForwardOptions): Promise<ForwardResult> {
    const c = this.config;
    const rows: readonly (readonly number[])[] = input.length > 0 && Array.isArray(input[0]) ? (input as readonly (readonly number[])[]) : [input as readonly number[]];
    const B = rows.length;
    const lengths = rows.map((r) => r.length);
    const T = Math.max(...lengths);
    if (B === 0 || T === 0) throw new LimbicError('forward() needs at least one token', 'encode some text first');
    for (const r of rows) {
      for (const id of r) {
        if (!Number.isInteger(id) || id < 0 || id >= c.dVocab) throw new LimbicError(`token id ${id} is outside the vocabulary 0..${c.dVocab - 1}`, 'was the text encoded with this model\'s tokenizer?');
      }
    }
    const cache = opts.cache;
    if (cache && cache.batch > 0 && cache.batch !== B) throw new LimbicError(`the cache holds ${cache.batch} sequences but ${B} were given`);
    const start = rows.map((_, b) => (cache && cache.batch > 0 ? cache.lengths[b]! : 0));
    rows.forEach((r, b) => {
      if (start[b]! + r.length > c.nCtx) throw new ContextLengthError(start[b]! + r.length, c.nCtx);
    });
    const hooks = this.resolveHooks(opts.capture ?? []);
    const logitsMode = opts.logits ?? 'all';

    // Graph variant: capture-only runs stop after the deepest captured block.
    const captureOnly = logitsMode === 'none' && !cache;
    const maxDepth = Math.max(0, ...hooks.map((h) => h.depth));
    if (this.opts.exposeHooks === false && hooks.length) throw new LimbicError('this model was loaded with exposeHooks: false, so nothing can be captured');
    const quant = this.opts.quantize ?? null;
    const truncated = captureOnly && maxDepth < c.nLayers && hooks.length > 0;
    const hookSet = this.hookSetFor(hooks, truncated);
    const gopts: GraphOptions = truncated && hookSet !== 'none' ? { withCache: false, hookSet, lastLayer: maxDepth, quant } : { withCache: true, hookSet: this.hookSetFor(hooks, false), quant };
    const { session, graph } = await this.session(gopts);
    const io = graph.io;

    // Positions, slots and masks.
    const past = cache && io.inputs.includes('past_key.0') ? cache.pastTensors(io.nBlocks, B, c.nKvHeads, c.dHead) : null;
    const P = past ? past.capacity : 0;
    const S = P + T;
    const ids = new BigInt64Array(B * T);
    const pos = new BigInt64Array(B * T);
    const newSlots: number[][] = [];
    for (let b = 0; b < B; b++) {
      const row: number[] = [];
      for (let t = 0; t < T; t++) {
        const real = t < lengths[b]!;
        ids[b * T + t] = BigInt(real ? rows[b]![t]! : 0);
        pos[b * T + t] = BigInt(start[b]! + t);
        row.push(real ? start[b]! + t : -1);
      }
      newSlots.push(row);
    }
    const slotPos = rows.map((_, b) => [...(past ? cache!.pastSlots(b) : []), ...newSlots[b]!]);
    const makeMask = (window: number | null): ort.Tensor => {
      const m = new Float32Array(B * T * S).fill(NEG_INF_MASK);
      for (let b = 0; b < B; b++) {
        const sp = slotPos[b]!;
        for (let t = 0; t < T; t++) {
          const q = start[b]! + t;
          const base = (b * T + t) * S;
          for (let s = 0; s < S; s++) {
            const k = sp[s]!;
            if (k >= 0 && k <= q && (window === null || k > q - window)) m[base + s] = 0;
          }
        }
      }
      return new ort.Tensor('float32', m, [B, 1, T, S]);
    };
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [B, T]),
      position_ids: new ort.Tensor('int64', pos, [B, T]),
      attn_mask: makeMask(null),
    };
    if (io.hasSlidingMask) feeds['attn_mask_sliding'] = makeMask(c.slidingWindow);
    if (io.inputs.includes('past_key.0')) {
      for (let l = 0; l < io.nBlocks; l++) {
        const empty = () => new ort.Tensor('float32', new Float32Array(0), [B, c.nKvHeads, 0, c.dHead]);
        feeds[`past_key.${l}`] = past ? past.keys[l]! : empty();
        feeds[`past_value.${l}`] = past ? past.values[l]! : empty();
      }
    }
    // Steering: one [B, T, d] addend per steered layer, zeros broadcast elsewhere.
    const steerData = new Map<number, Float32Array>();
    for (const s of opts.steer ?? []) {
      const layer = s.layer < 0 ? s.layer + c.nLayers : s.layer;
      if (!Number.isInteger(layer) || layer < 0 || layer >= c.nLayers) {
        throw new SteeringError(`steering layer ${s.layer} is outside 0..${c.nLayers - 1}`, `this model has ${c.nLayers} blocks`);
      }
      if (s.vector.length !== c.dModel) throw new SteeringError(`steering vector has width ${s.vector.length}, the model's residual stream has ${c.dModel}`, 'was the vector extracted from this model?');
      if (layer >= io.nBlocks) continue; // cannot affect what this run returns
      let buf = steerData.get(layer);
      if (!buf) steerData.set(layer, (buf = new Float32Array(B * T * c.dModel)));
      const scale = s.scale ?? 1;
      const sel = selectorFn(s.positions);
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < lengths[b]!; t++) {
          if (!sel(start[b]! + t)) continue;
          const base = (b * T + t) * c.dModel;
          for (let i = 0; i < c.dModel; i++) buf[base + i]! += scale * (s.vector[i] as number);
        }
      }
    }
    for (let l = 0; l < io.nBlocks; l++) {
      const d = steerData.get(l);
      feeds[`steer.${l}`] = d ? new ort.Tensor('float32', d, [B, T, c.dModel]) : this.zeroSteer;
    }
    let logitRows: number[][] = [];
    if (io.hasLogits) {
      // logits 'none' picks no rows (K = 0): the LM head then costs nothing in the same graph.
      logitRows =
        logitsMode === 'all' ? rows.map(() => Array.from({ length: T }, (_, t) => t))
        : logitsMode === 'last' ? rows.map((_, b) => [Math.max(0, lengths[b]! - 1)])
        : rows.map(() => []);
      const K = logitRows[0]!.length;
      feeds['logit_index'] = new ort.Tensor('int64', BigInt64Array.from(logitRows.flat().map(BigInt)), [B, K]);
    }

    const fetches = new Set<string>();
    if (io.hasLogits && logitsMode !== 'none') fetches.add('logits');
    if (past) for (let l = 0; l < io.nBlocks; l++) fetches.add(`new_key.${l}`).add(`new_value.${l}`);
    for (const h of hooks) fetches.add(h.source);
    if (fetches.size === 0) fetches.add(io.outputs[0]!);
    const out = await session.run(feeds, [...fetches]);

    const captures = new Map<string, Activation>();
    for (const h of hooks) {
      const t = out[h.source];
      assert(t, () => `graph ${variantName(gopts)} did not return ${h.source}`);
      captures.set(h.name, { data: t.data as Float32Array, dims: [...t.dims] });
    }
    if (past) {
      const layerOut = (kind: string) => Array.from({ length: io.nBlocks }, (_, l) => out[`${kind}.${l}`]!.data as Float32Array);
      cache!.append(layerOut('new_key'), layerOut('new_value'), T, newSlots, rows.map((_, b) => start[b]! + lengths[b]!));
    }
    const lt = fetches.has('logits') ? out['logits']! : null;
    return { logits: lt ? { data: lt.data as Float32Array, dims: [...lt.dims] } : null, captures, lengths, startPositions: start };
  }

  /** Encodes text with the model's tokenizer (BOS added as the tokenizer's post-processor says). */
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.requireTokenizer().encode(text, opts);
  }

  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    return this.requireTokenizer().decode(ids, opts);
  }

  /** Renders a chat with the model's template and encodes it (no extra BOS: templates carry their own). */
  encodeChat(messages: ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): number[] {
    const tok = this.requireTokenizer();
    const text = tok.applyChatTemplate(messages, opts);
    return tok.encode(text, { addSpecialTokens: false });
  }

  private requireTokenizer(): TextTokenizer {
    if (!this.tokenizer) throw new TokenizerError(`model ${this.id} has no tokenizer`, 'add tokenizer.json to the model directory, or pass token ids');
    return this.tokenizer;
  }

  /** Streams generated tokens; capture/steer apply at every step. */
  async *generate(promptIds: readonly number[], opts: GenerateOptions = {}): AsyncGenerator<GeneratedToken> {
    const promptLen = promptIds.length;
    const steer: SteeringSpec[] = (opts.steer ?? []).map((s) => {
      const p = s.positions;
      const positions: PositionSelector | undefined = p === 'prompt' ? { to: promptLen } : p === 'generated' ? { from: promptLen } : p;
      return positions === undefined ? { ...s, positions: 'all' } : { ...s, positions };
    });
    const capture = opts.capture ?? [];
    const wantCaptures = capture.length > 0;
    const cache = new KVCache();
    const rng = makeRng(opts.seed ?? 0);
    const maxTokens = opts.maxTokens ?? 64;
    const eos = new Set(opts.stopAtEos === false ? [] : (this.tokenizer?.eosTokenIds ?? this.config.eosTokenIds));
    let res = await this.forward([promptIds], { cache, logits: 'last', capture, steer });
    opts.onPrefill?.(res);
    const generated: number[] = [];
    let emitted = '';
    const stream = this.tokenizer ? new TextStream(this.tokenizer) : null;
    for (let i = 0; i < maxTokens; i++) {
      if (opts.signal?.aborted) return;
      const V = this.config.dVocab;
      const row = res.logits!.data.subarray(0, V);
      const token = sampleToken(row, opts, rng);
      const logprob = tokenLogprob(row, token);
      const position = promptLen + generated.length;
      generated.push(token);
      const isEos = eos.has(token);
      const atLimit = i === maxTokens - 1 || position + 1 >= this.config.nCtx;
      let text = '';
      let finish: GeneratedToken['finishReason'] = isEos ? 'eos' : atLimit ? 'length' : null;
      if (stream && !isEos) {
        text = stream.push(token, finish !== null);
        const stable = emitted + text;
        const stopAt = (opts.stop ?? []).map((s) => stable.indexOf(s, Math.max(0, emitted.length - s.length))).filter((k) => k >= 0);
        if (stopAt.length) {
          text = stable.slice(emitted.length, Math.min(...stopAt));
          finish = 'stop';
        }
        emitted = stable.slice(0, emitted.length + text.length);
      }
      let captures = new Map<string, Activation>();
      if (!finish || wantCaptures) {
        res = await this.forward([[token]], { cache, logits: 'last', capture, steer });
        captures = res.captures;
      }
      yield { token, position, text, logprob, captures, finishReason: finish };
      if (finish) return;
    }
  }

  /** Unembedding [V, d] and final-norm weights, read once for the logit lens. */
  private lensWeights: { W: Float32Array; lnW: Float32Array; lnB: Float32Array | null } | null = null;
  private hashCache: string | null = null;

  /**
   * A content hash that tells checkpoints apart cheaply: sha256 over the parsed config and every
   * norm weight (small, and changed by any fine-tuning), so packs can refuse a different model.
   */
  weightsHash(): string {
    if (!this.hashCache) {
      const h = createHash('sha256').update(JSON.stringify(this.config));
      const plan = this.graphs.weightPlan().weights;
      for (const name of [...plan.keys()].filter((n) => /(^|\.)ln[^.]*\.[wb]$|_norm\.w$/.test(n)).sort()) {
        const d = plan.get(name)!.read();
        h.update(name).update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
      }
      this.hashCache = h.digest('hex').slice(0, 16);
    }
    return this.hashCache;
  }

  /**
   * Logit lens: pushes residual-stream directions through the unembedding ([V] logits per vector),
   * optionally through the final norm first (as the model does for its own residual stream).
   */
  unembed(vectors: readonly ArrayLike<number>[], opts: { finalNorm?: boolean } = {}): Float32Array[] {
    const c = this.config;
    const plan = this.graphs.weightPlan().weights;
    this.lensWeights ??= {
      W: (plan.get('unembed') ?? plan.get('embed'))!.read(), // [V, d]
      lnW: plan.get('ln_final.w')!.read(),
      lnB: plan.get('ln_final.b')?.read() ?? null,
    };
    const { W, lnW, lnB } = this.lensWeights;
    const spec = archOf(c);
    return vectors.map((v) => {
      if (v.length !== c.dModel) throw new SteeringError(`vector has width ${v.length}, the model's residual stream has ${c.dModel}`);
      let x: Float32Array = Float32Array.from(v);
      if (opts.finalNorm) x = applyNorm(spec.norm, x, lnW, lnB, c.normEps);
      const out = new Float32Array(c.dVocab);
      for (let t = 0; t < c.dVocab; t++) {
        let s = 0;
        const base = t * c.dModel;
        for (let i = 0; i < c.dModel; i++) s += W[base + i]! * x[i]!;
        out[t] = c.finalSoftcap ? Math.tanh(s / c.finalSoftcap) * c.finalSoftcap : s;
      }
      return out;
    });
  }

  /** Releases ONNX Runtime sessions and open weight files. */
  async dispose(): Promise<void> {
    for (const s of this.sessions.values()) await s.session.release();
    this.sessions.clear();
    this.source.weights.close();
  }
}

/** One norm application in float64 (same kinds as the graph's norms). */
function applyNorm(kind: 'rms' | 'rmsOnePlus' | 'layernorm', x: Float32Array, w: Float32Array, b: Float32Array | null, eps: number): Float32Array {
  const n = x.length;
  let mean = 0;
  if (kind === 'layernorm') for (let i = 0; i < n; i++) mean += x[i]! / n;
  let ms = 0;
  for (let i = 0; i < n; i++) ms += (x[i]! - mean) ** 2 / n;
  const inv = 1 / Math.sqrt(ms + eps);
  return x.map((v, i) => (v - mean) * inv * (kind === 'rmsOnePlus' ? 1 + w[i]! : w[i]!) + (b ? b[i]! : 0));
}

/** Loads a model from a local path (HF directory, llama2.c .bin, GGUF). See hub.ts for hub ids. */
export async function loadModel(path: string, opts: LoadModelOptions = {}): Promise<Model> {
  return new Model(await openModelSource(path, opts), opts);
}
