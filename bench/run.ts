// `npm run bench`: engine speed and memory on a random-weight model with the real shape of
// Qwen2.5-0.5B, next to llama.cpp (node-llama-cpp, same model as GGUF F32) measured in the same run,
// because these machines are shared and noisy. Figures: prefill tokens/s (256 tokens, every
// resid_post captured), decode ms/token, peak memory, load time, for 1 and 2 threads; the cost of
// hooks (hooks on vs a graph without hook outputs); extraction throughput; the live monitor's
// overhead per token (on vs off) and a bounded loopback load test of the server.
// Each thread count runs `--rounds` alternating rounds (limbic, llama.cpp, limbic, ...): figures are
// medians over rounds and every ratio is the median of per-round ratios, so a slow spell on the host
// hits both sides. Decode is timed as generation runs it (logits + greedy pick) and also without
// logits (cache advance only), each side like for like.
// Decode is then measured again in a paired duel (bench/decodeDuel.ts): both engines resident, driven in
// alternating blocks of a few steps, the ratio taken per block.
// Options: --json, --threads 1,2, --rounds 2, --duel-blocks 30, --duel-steps 4, --prompt 256, --decode 32, --reps 3, --no-llamacpp,
// --small, --extraction N (stories), --clients N (server load test), --no-monitor.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeQwen05bShaped } from './makeModel.ts';
import { hfDirToGguf } from '../src/engine/ggufWriter.ts';
import { median as med, runDecodeDuel, type DuelFigures, type DuelResult } from './decodeDuel.ts';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    threads: { type: 'string', default: '1,2' },
    rounds: { type: 'string', default: '2' },
    'duel-blocks': { type: 'string', default: '30' },
    'duel-steps': { type: 'string', default: '4' },
    prompt: { type: 'string', default: '256' },
    decode: { type: 'string', default: '32' },
    reps: { type: 'string', default: '3' },
    'no-llamacpp': { type: 'boolean' },
    small: { type: 'boolean' },
    extraction: { type: 'string', default: '24' },
    clients: { type: 'string', default: '4' },
    'no-monitor': { type: 'boolean' },
  },
});
const log = (s: string) => process.stderr.write(`${s}\n`);
const LLAMA_CPP_VERSION = '3.22.1';

function ensureLlamaCpp(): boolean {
  const deps = join(here, '.deps');
  if (existsSync(join(deps, 'node_modules', 'node-llama-cpp'))) return true;
  log(`installing node-llama-cpp@${LLAMA_CPP_VERSION} into bench/.deps (bench-only, first use)...`);
  mkdirSync(deps, { recursive: true });
  if (!existsSync(join(deps, 'package.json'))) execFileSync('npm', ['init', '-y'], { cwd: deps, stdio: 'ignore' });
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', `node-llama-cpp@${LLAMA_CPP_VERSION}`], { cwd: deps, stdio: ['ignore', 'ignore', 'inherit'] });
  return r.status === 0;
}

function worker(cmd: string[], label: string): Record<string, number> | null {
  log(`running ${label}...`);
  const r = spawnSync(process.execPath, cmd, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    log(`${label} failed:\n${r.stderr.slice(-2000)}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

const modelDir = join(here, '.models', values.small ? 'qwen2.5-0.5b-shaped-small' : 'qwen2.5-0.5b-shaped');
log(`model: ${modelDir} (random weights, Qwen2.5-0.5B shape${values.small ? ', 4 layers' : ''})`);
writeQwen05bShaped(modelDir, values.small ? { num_hidden_layers: 4 } : {});
const cacheDir = join(here, '.cache');
const threads = values.threads.split(',').map(Number);
const results: Record<string, unknown> = { model: 'Qwen2.5-0.5B shape (random weights, fp32)', prompt: Number(values.prompt), decodeSteps: Number(values.decode), date: new Date().toISOString() };
const rows: Record<string, unknown>[] = [];
let gguf: string | null = null;
if (!values['no-llamacpp'] && ensureLlamaCpp()) {
  gguf = join(modelDir, 'model.F32.gguf');
  if (!existsSync(gguf)) {
    log('writing the same model as GGUF F32 for llama.cpp...');
    await hfDirToGguf(modelDir, gguf, { dtype: 'F32' });
  }
}
type Figures = Record<string, number>;
/** Per-key medians over rounds (keys present in every round). */
function medianFigures(runs: Figures[]): Figures | null {
  if (runs.length === 0) return null;
  return Object.fromEntries(Object.keys(runs[0]!).map((k) => [k, med(runs.map((r) => r[k]!))]));
}
/** Same-round ratios limbic/llama.cpp, median over rounds. */
const RATIOS: [string, string, string][] = [
  ['prefill', 'prefillCaptureTokPerS', 'prefillTokPerS'],
  ['decode', 'decodeMsPerTok', 'decodeMsPerTok'],
  ['decodeNoLogits', 'decodeNoLogitsMsPerTok', 'decodeNoLogitsMsPerTok'],
];
const rounds = Math.max(1, Number(values.rounds));
for (const t of threads) {
  const lims: Figures[] = [];
  const llcs: Figures[] = [];
  const ratios: Record<string, number[]> = {};
  for (let r = 0; r < rounds; r++) {
    const lim = worker(['--import', 'tsx', join(here, 'limbicWorker.ts'), modelDir, String(t), cacheDir, values.prompt, values.decode, values.reps], `limbic, ${t} thread(s), round ${r + 1}/${rounds}`);
    const llc = gguf ? worker([join(here, 'llamacppWorker.mjs'), gguf, String(t), values.prompt, values.decode, values.reps], `llama.cpp, ${t} thread(s), round ${r + 1}/${rounds}`) : null;
    if (lim) lims.push(lim);
    if (llc) llcs.push(llc);
    if (lim && llc) for (const [name, a, b] of RATIOS) (ratios[name] ??= []).push(lim[a]! / llc[b]!);
  }
  const ratio = Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, med(v)]));
  let duel: DuelResult | null = null;
  if (gguf) {
    log(`decode duel, ${t} thread(s)...`);
    duel = await runDecodeDuel({ here, modelDir, gguf, cacheDir, threads: t, prompt: Number(values.prompt), blocks: Number(values['duel-blocks']), steps: Number(values['duel-steps']), log });
  }
  rows.push({ threads: t, rounds, limbic: medianFigures(lims), llamacpp: medianFigures(llcs), ratio, duel, perRound: { limbic: lims, llamacpp: llcs } });
}
results['runs'] = rows;
const ext = worker(['--import', 'tsx', join(here, 'extractWorker.ts'), modelDir, String(threads[threads.length - 1]), cacheDir, values.extraction], 'extraction throughput');
results['extraction'] = ext;
const mon = values['no-monitor'] ? null : worker(['--import', 'tsx', join(here, 'monitorWorker.ts'), modelDir, String(threads[threads.length - 1]), cacheDir, values.clients], 'monitor overhead and server load test');
results['monitor'] = mon;

if (values.json) process.stdout.write(`${JSON.stringify(results, null, 1)}\n`);
else {
  const f = (v: unknown, d = 1) => (typeof v === 'number' ? v.toFixed(d) : '-');
  const ratio = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? `${(a / b).toFixed(2)}x` : '-');
  const lines = [`limbic vs llama.cpp (F32, same model, same run) - ${results['model']}`, ''];
  lines.push('threads | metric                         | limbic    | llama.cpp | ratio');
  for (const r of rows as { threads: number; limbic: Figures | null; llamacpp: Figures | null; ratio: Record<string, number>; duel: DuelResult | null }[]) {
    const L = r.limbic ?? {};
    const C = r.llamacpp ?? {};
    const x = (k: string) => (typeof r.ratio[k] === 'number' ? `${r.ratio[k]!.toFixed(2)}x` : '-');
    lines.push(`${r.threads}       | prefill tok/s (all resid_post) | ${f(L['prefillCaptureTokPerS']).padStart(9)} | ${f(C['prefillTokPerS']).padStart(9)} | ${x('prefill')} (higher is better for limbic)`);
    lines.push(`${r.threads}       | decode ms/token (logits+pick)  | ${f(L['decodeMsPerTok']).padStart(9)} | ${f(C['decodeMsPerTok']).padStart(9)} | ${x('decode')} (lower is better for limbic)`);
    lines.push(`${r.threads}       | decode ms/token (no logits)    | ${f(L['decodeNoLogitsMsPerTok']).padStart(9)} | ${f(C['decodeNoLogitsMsPerTok']).padStart(9)} | ${x('decodeNoLogits')} (lower is better for limbic)`);
    lines.push(`${r.threads}       | peak RSS MB                    | ${f(L['peakRssMB'], 0).padStart(9)} | ${f(C['peakRssMB'], 0).padStart(9)} |`);
    lines.push(`${r.threads}       | load ms (cached graph)         | ${f(L['loadPlainMs'], 0).padStart(9)} | ${f(C['loadMs'], 0).padStart(9)} |`);
    const hookCost = typeof L['prefillHooksIdleMs'] === 'number' ? (L['prefillHooksIdleMs'] / L['prefillNoHooksMs']! - 1) * 100 : NaN;
    const decodeHookCost = typeof L['decodeMsPerTok'] === 'number' ? (L['decodeMsPerTok'] / L['decodeNoHooksMsPerTok']! - 1) * 100 : NaN;
    const duelLine = (label: string, x: DuelFigures | undefined) =>
      x && lines.push(`${r.threads}       | duel: ${label.padEnd(24)} | ${f(x.limbic).padStart(9)} | ${f(x.llamacpp).padStart(9)} | ${x.ratio.toFixed(2)}x [IQR ${x.ratioQ1.toFixed(2)}-${x.ratioQ3.toFixed(2)}]; quietest 10%: ${f(x.limbicP10)} vs ${f(x.llamacppP10)} ms`);
    duelLine('decode (logits+pick)', r.duel?.decodeMsPerTok);
    duelLine('decode (no logits)', r.duel?.decodeNoLogitsMsPerTok);
    lines.push(`${r.threads}       | hooks cost (prefill / decode)  | ${f(hookCost)}% / ${f(decodeHookCost)}% (graph with hook outputs vs without; capture itself: ${f((L['prefillCaptureMs']! / L['prefillNoHooksMs']! - 1) * 100)}%)`);
  }
  lines.push('', `figures: medians over ${rounds} alternating round(s); ratios: median of same-round ratios; duel: ${values['duel-blocks']} paired blocks of ${values['duel-steps']} steps per mode, ratio = median of per-block ratios`);
  const m = mon as { monitor?: Record<string, number>; load?: Record<string, number> } | null;
  if (m?.monitor) lines.push('', `monitor: ${f(m.monitor['tokensPerSecondOn'])} tok/s on vs ${f(m.monitor['tokensPerSecondOff'])} off (same run): ${f(m.monitor['overheadPerToken']! * 1000, 2)} ms/token, ${f(m.monitor['overheadFraction']! * 100)}%`);
  if (m?.load) lines.push(`server load test: ${m.load['clients']} concurrent streaming clients, ${m.load['completed']} complete, ${m.load['recorded']} traces recorded, ${f(m.load['tokensPerSecond'])} tok/s overall, first token p50 ${f(m.load['ttftMsP50'], 0)} ms`);
  if (ext) lines.push('', `extraction: ${f(ext['storiesPerSecond'], 2)} stories/s, ${f(ext['tokensPerSecond'], 0)} tokens/s at ${ext['threads']} thread(s); 171 x 10 stories projected: ${f(ext['projected1710Minutes'], 1)} min`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
