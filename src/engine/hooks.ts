// Hook names, verbatim from TransformerLens (https://transformerlensorg.github.io/TransformerLens/):
// hook_embed, blocks.{l}.hook_resid_pre|hook_resid_mid|hook_resid_post|hook_attn_out|hook_mlp_out,
// ln_final.hook_normalized. Negative layers count from the end; `*` expands to every layer.
// Unknown names fail at once with the nearest valid ones.
import { HookNameError } from './errors.ts';

export type BlockHookPoint = 'hook_resid_pre' | 'hook_resid_mid' | 'hook_resid_post' | 'hook_attn_out' | 'hook_mlp_out';
export type HookName = 'hook_embed' | 'ln_final.hook_normalized' | `blocks.${number}.${BlockHookPoint}`;

export const BLOCK_HOOK_POINTS: readonly BlockHookPoint[] = ['hook_resid_pre', 'hook_resid_mid', 'hook_resid_post', 'hook_attn_out', 'hook_mlp_out'];

export interface ParsedHook {
  name: HookName;
  /** The graph value that holds it (resid_pre of block l is resid_post of block l-1). */
  source: string;
  /** Deepest block that must run to produce it (-1: embeddings only; nLayers: final norm). */
  depth: number;
}

function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** Every valid hook name of a model with nLayers blocks. */
export function allHookNames(nLayers: number): HookName[] {
  const out: HookName[] = ['hook_embed'];
  for (let l = 0; l < nLayers; l++) for (const p of BLOCK_HOOK_POINTS) out.push(`blocks.${l}.${p}`);
  out.push('ln_final.hook_normalized');
  return out;
}

function unknown(name: string, nLayers: number, why: string): HookNameError {
  const near = allHookNames(nLayers)
    .map((n) => [n, levenshtein(name, n)] as const)
    .sort((a, b) => a[1] - b[1])
    .slice(0, 3)
    .map(([n]) => n);
  return new HookNameError(`unknown hook "${name}": ${why}`, `did you mean ${near.join(', ')}?`);
}

/** Normalises and validates one hook name (no wildcards). */
export function parseHook(name: string, nLayers: number): ParsedHook {
  if (name === 'hook_embed') return { name, source: 'hook_embed', depth: -1 };
  if (name === 'ln_final.hook_normalized') return { name, source: name, depth: nLayers };
  const m = /^blocks\.(-?\d+)\.(hook_[a-z_]+)$/.exec(name);
  if (!m) throw unknown(name, nLayers, 'not a TransformerLens hook name');
  let layer = Number(m[1]);
  const point = m[2] as BlockHookPoint;
  if (!BLOCK_HOOK_POINTS.includes(point)) throw unknown(name, nLayers, `no hook point "${point}" in a block`);
  if (layer < 0) layer += nLayers;
  if (layer < 0 || layer >= nLayers) {
    throw new HookNameError(`hook "${name}" refers to block ${m[1]}, but the model has blocks 0..${nLayers - 1}`, `use a layer between 0 and ${nLayers - 1} (or -1 for the last)`);
  }
  const canonical = `blocks.${layer}.${point}` as HookName;
  if (point === 'hook_resid_pre') {
    return { name: canonical, source: layer === 0 ? 'hook_embed' : `blocks.${layer - 1}.hook_resid_post`, depth: layer - 1 };
  }
  return { name: canonical, source: canonical, depth: layer };
}

/** Expands `*` layer wildcards (`blocks.*.hook_resid_post`) and validates every name. */
export function expandHooks(names: readonly string[], nLayers: number): ParsedHook[] {
  const out: ParsedHook[] = [];
  const seen = new Set<string>();
  for (const raw of names) {
    const expanded = raw.includes('*') ? Array.from({ length: nLayers }, (_, l) => raw.replace('*', String(l))) : [raw];
    for (const n of expanded) {
      const h = parseHook(n, nLayers);
      if (!seen.has(h.name)) {
        seen.add(h.name);
        out.push(h);
      }
    }
  }
  return out;
}
