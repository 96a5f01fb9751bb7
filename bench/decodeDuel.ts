// Decode duel: limbic and llama.cpp decode side by side, in two resident processes driven in
// alternating blocks of a few steps (A, B, B, A, A, B, ...), each with its own KV cache after the
// same 256-token prefill. Both processes stay loaded and only one computes at a time, so a slow
// spell of this shared host lands on both sides within a second: the per-block ratio is paired,
// and its median over blocks is far steadier than comparing two separate runs.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { join } from 'node:path';

export interface DuelOptions {
  here: string;
  modelDir: string;
  gguf: string;
  cacheDir: string;
  threads: number;
  prompt: number;
  /** Blocks per mode (with logits / without). */
  blocks: number;
  /** Decode steps per block. */
  steps: number;
  log: (s: string) => void;
}

export interface DuelResult {
  threads: number;
  blocks: number;
  steps: number;
  /**
   * Median ms/token over all steps; the 10th percentile (the host's quiet moments: noise only ever
   * adds time); the median of per-block ratios limbic / llama.cpp and its quartiles.
   */
  decodeMsPerTok: DuelFigures;
  decodeNoLogitsMsPerTok: DuelFigures;
}

export interface DuelFigures {
  limbic: number;
  llamacpp: number;
  limbicP10: number;
  llamacppP10: number;
  ratio: number;
  ratioQ1: number;
  ratioQ3: number;
}

class Side {
  private readonly lines: AsyncIterator<string>;
  constructor(readonly name: string, private readonly proc: ChildProcessWithoutNullStreams) {
    const rl: Interface = createInterface({ input: proc.stdout });
    this.lines = rl[Symbol.asyncIterator]();
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    proc.on('exit', (code) => {
      if (code) process.stderr.write(`${name} exited with ${code}:\n${err}\n`);
    });
  }
  async read(): Promise<Record<string, unknown>> {
    const r = await this.lines.next();
    if (r.done) throw new Error(`${this.name} worker ended early`);
    return JSON.parse(r.value) as Record<string, unknown>;
  }
  async run(steps: number, logits: boolean): Promise<number[]> {
    this.proc.stdin.write(`${JSON.stringify({ steps, logits })}\n`);
    return (await this.read())['times'] as number[];
  }
  close(): void {
    this.proc.stdin.end();
  }
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runDecodeDuel(o: DuelOptions): Promise<DuelResult> {
  const limbic = new Side('limbic', spawn(process.execPath, ['--import', 'tsx', join(o.here, 'duelLimbic.ts'), o.modelDir, String(o.threads), o.cacheDir, String(o.prompt)]));
  const llamacpp = new Side('llama.cpp', spawn(process.execPath, [join(o.here, 'duelLlamacpp.mjs'), o.gguf, String(o.threads), String(o.prompt)]));
  try {
    // Load one after the other so neither load competes with the other.
    await limbic.read();
    await llamacpp.read();
    const out = {} as Pick<DuelResult, 'decodeMsPerTok' | 'decodeNoLogitsMsPerTok'>;
    for (const logits of [true, false]) {
      const all = { limbic: [] as number[], llamacpp: [] as number[] };
      const ratios: number[] = [];
      await limbic.run(2, logits); // warm this mode on both sides
      await llamacpp.run(2, logits);
      for (let b = 0; b < o.blocks; b++) {
        // ABBA order cancels a steady drift within a pair of blocks.
        const order = b % 2 === 0 ? [limbic, llamacpp] : [llamacpp, limbic];
        const t: Record<string, number[]> = {};
        for (const side of order) {
          await pause(20); // let the other side's spinning threads go idle
          t[side.name] = await side.run(o.steps, logits);
        }
        all.limbic.push(...t['limbic']!);
        all.llamacpp.push(...t['llama.cpp']!);
        ratios.push(median(t['limbic']!) / median(t['llama.cpp']!));
        o.log(`  decode duel (${logits ? 'logits' : 'no logits'}) block ${b + 1}/${o.blocks}: limbic ${median(t['limbic']!).toFixed(1)} ms, llama.cpp ${median(t['llama.cpp']!).toFixed(1)} ms`);
      }
      const fig: DuelFigures = { limbic: median(all.limbic), llamacpp: median(all.llamacpp), limbicP10: quantile(all.limbic, 0.1), llamacppP10: quantile(all.llamacpp, 0.1), ratio: median(ratios), ratioQ1: quantile(ratios, 0.25), ratioQ3: quantile(ratios, 0.75) };
      out[logits ? 'decodeMsPerTok' : 'decodeNoLogitsMsPerTok'] = fig;
    }
    return { threads: o.threads, blocks: o.blocks, steps: o.steps, ...out };
  } finally {
    limbic.close();
    llamacpp.close();
  }
}
