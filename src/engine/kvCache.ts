// The KV cache: every layer's keys and values in preallocated slot storage, [B, Hkv, capacity, D],
// which the graph reads in place as `past_key.{l}` / `past_value.{l}`; the graph returns only the
// new tokens' keys and values ([B, T, Hkv*D]) and they are written into the next free slots here.
// A decode step therefore allocates no cache-sized buffers (which would otherwise be copied out of
// ONNX Runtime and left to the garbage collector every token). Storage grows by chunks; slots
// beyond the used ones hold nothing and are masked out, as padding slots are.
import * as ort from 'onnxruntime-node';
import { assert } from './errors.ts';

/** Slots added when storage grows: at least 32, or 1/16 of the capacity (so growth copies stay rare). */
function grownCapacity(capacity: number, needed: number): number {
  return Math.max(needed, capacity + Math.max(32, capacity >> 4));
}

/** Per-sequence key/value cache; the absolute position of every slot is kept so masks can be rebuilt. */
export class KVCache {
  /** [B][S]: the absolute position held in each used slot, -1 for padding. */
  slotPositions: number[][] = [];
  /** Real tokens seen per row. */
  lengths: number[] = [];
  private keys: Float32Array[] = [];
  private values: Float32Array[] = [];
  private tensors: { keys: ort.Tensor[]; values: ort.Tensor[] } | null = null;
  private capacity = 0;
  private layout: { B: number; Hkv: number; D: number } | null = null;

  get batch(): number {
    return this.lengths.length;
  }
  /** Slots in use (the longest row's tokens, padding included). */
  get slots(): number {
    return this.slotPositions[0]?.length ?? 0;
  }

  /** Every layer's storage as graph inputs, [B, Hkv, capacity, D] each (capacity may be 0). */
  pastTensors(nLayers: number, B: number, Hkv: number, D: number): { keys: ort.Tensor[]; values: ort.Tensor[]; capacity: number } {
    if (!this.layout) this.layout = { B, Hkv, D };
    const L = this.layout;
    assert(L.B === B && L.Hkv === Hkv && L.D === D, () => `KV cache holds [${L.B}, ${L.Hkv}, *, ${L.D}], asked for [${B}, ${Hkv}, *, ${D}]`);
    if (this.keys.length === 0) {
      this.keys = Array.from({ length: nLayers }, () => new Float32Array(0));
      this.values = Array.from({ length: nLayers }, () => new Float32Array(0));
    }
    assert(this.keys.length === nLayers, () => `KV cache has ${this.keys.length} layers, the graph ${nLayers}`);
    this.tensors ??= {
      keys: this.keys.map((k) => new ort.Tensor('float32', k, [B, Hkv, this.capacity, D])),
      values: this.values.map((v) => new ort.Tensor('float32', v, [B, Hkv, this.capacity, D])),
    };
    return { ...this.tensors, capacity: this.capacity };
  }

  /** Row b's slot positions over the whole storage: used slots, then -1 for the free ones. */
  pastSlots(b: number): number[] {
    const used = this.slotPositions[b] ?? [];
    return used.length === this.capacity ? used : [...used, ...new Array<number>(this.capacity - used.length).fill(-1)];
  }

  /**
   * Writes one step's new keys and values (per layer [B, T, Hkv*D]) into slots S..S+T-1 and records
   * their positions (`newSlots[b][t]`, -1 for padding) and each row's new length.
   */
  append(newKeys: Float32Array[], newValues: Float32Array[], T: number, newSlots: number[][], lengths: number[]): void {
    const L = this.layout;
    assert(L !== null && newKeys.length === this.keys.length && newValues.length === this.values.length, 'append() before pastTensors()');
    const { B, Hkv, D } = L;
    const S = this.slots;
    if (S + T > this.capacity) this.grow(grownCapacity(this.capacity, S + T));
    const C = this.capacity;
    for (let l = 0; l < newKeys.length; l++) {
      for (const [src, dst] of [[newKeys[l]!, this.keys[l]!], [newValues[l]!, this.values[l]!]] as const) {
        assert(src.length === B * T * Hkv * D, () => `new keys/values of layer ${l}: ${src.length} values, expected [${B}, ${T}, ${Hkv * D}]`);
        for (let b = 0; b < B; b++) {
          for (let t = 0; t < T; t++) {
            for (let h = 0; h < Hkv; h++) {
              const from = ((b * T + t) * Hkv + h) * D; // [B, T, Hkv, D]
              dst.set(src.subarray(from, from + D), ((b * Hkv + h) * C + S + t) * D); // [B, Hkv, C, D]
            }
          }
        }
      }
    }
    newSlots.forEach((row, b) => (this.slotPositions[b] ??= []).push(...row));
    this.lengths = lengths;
  }

  /** Moves every layer into storage of `capacity` slots (used slots keep their index). */
  private grow(capacity: number): void {
    const { B, Hkv, D } = this.layout!;
    const old = this.capacity;
    const move = (a: Float32Array): Float32Array => {
      const n = new Float32Array(B * Hkv * capacity * D);
      for (let bh = 0; bh < B * Hkv; bh++) n.set(a.subarray(bh * old * D, (bh + 1) * old * D), bh * capacity * D);
      return n;
    };
    this.keys = this.keys.map(move);
    this.values = this.values.map(move);
    this.capacity = capacity;
    this.tensors = null;
  }
}
