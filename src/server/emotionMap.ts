// The dashboard's emotion map: PCA of one layer's emotion vectors (PC1, PC2) and k-means clusters
// (k = min(10, E)) on the unit vectors, through experiments/analysis/geometry.ts (math.ts pca and
// kmeans). Without human norms at hand, the axes are oriented with a few anchor words: PC1 so that
// pleasant emotions score above unpleasant ones, PC2 so that aroused ones score above calm ones
// (SPEC.md section 3: PC1 reads as valence, PC2 as arousal); with no anchors in the pack the signs
// stay math.pca's convention.
import { clusterSummary, pcaSummary } from '../experiments/analysis/geometry.ts';
import type { VectorPack } from '../vectors/pack.ts';

const PLEASANT = ['happy', 'calm', 'loving', 'proud', 'inspired', 'joyful', 'content', 'peaceful', 'cheerful', 'grateful', 'relaxed', 'blissful'];
const UNPLEASANT = ['sad', 'afraid', 'angry', 'desperate', 'guilty', 'hostile', 'miserable', 'scared', 'ashamed', 'lonely', 'terrified', 'depressed'];
const AROUSED = ['excited', 'panicked', 'angry', 'afraid', 'enraged', 'terrified', 'furious', 'ecstatic', 'alarmed', 'nervous', 'surprised', 'thrilled'];
const UNAROUSED = ['calm', 'sleepy', 'tired', 'relaxed', 'peaceful', 'bored', 'serene', 'content', 'sluggish', 'at ease', 'weary', 'listless'];

export interface EmotionMap {
  layer: number;
  explained: number[];
  orientation: string;
  emotions: { name: string; index: number; pc1: number; pc2: number; cluster: number }[];
  clusters: { id: number; label: string; members: string[] }[];
}

/** Flips `scores` so that the `hi` anchors average above the `lo` ones; returns whether it could tell. */
function orient(emotions: readonly string[], scores: number[], hi: readonly string[], lo: readonly string[]): 'kept' | 'flipped' | 'unknown' {
  const mean = (words: readonly string[]) => {
    const xs = words.map((w) => emotions.indexOf(w)).filter((i) => i >= 0).map((i) => scores[i]!);
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
  };
  const a = mean(hi);
  const b = mean(lo);
  if (a === null || b === null || a === b) return 'unknown';
  if (a > b) return 'kept';
  for (let i = 0; i < scores.length; i++) scores[i] = -scores[i]!;
  return 'flipped';
}

export function emotionMap(pack: VectorPack, layer = pack.defaultLayer): EmotionMap {
  pack.checkLayer(layer);
  const emotions = pack.emotions;
  const raw = pack.raw.get(layer)!; // [E, d]
  const p = pcaSummary(emotions, raw, null, 'raw');
  const pc1 = p.coords.map((c) => c.pc1);
  const pc2 = p.coords.map((c) => c.pc2);
  const o1 = orient(emotions, pc1, PLEASANT, UNPLEASANT);
  const o2 = orient(emotions, pc2, AROUSED, UNAROUSED);
  const clusters = clusterSummary(emotions, raw, pc1, null, { k: Math.min(10, emotions.length), seed: 1, restarts: 5 }).clusters;
  const label = new Map<string, number>();
  for (const c of clusters) for (const m of c.members) label.set(m, c.id);
  const say = (o: string, axis: string, what: string) => (o === 'unknown' ? `${axis}: sign arbitrary (no anchor emotions in the pack)` : `${axis}: oriented so that ${what}`);
  return {
    layer,
    explained: p.varianceExplained.slice(0, 2),
    orientation: `${say(o1, 'PC1', 'pleasant emotions score higher (valence)')}; ${say(o2, 'PC2', 'aroused emotions score higher (arousal)')}`,
    emotions: emotions.map((name, index) => ({ name, index, pc1: pc1[index]!, pc2: pc2[index]!, cluster: label.get(name) ?? 0 })),
    clusters: clusters.map((c) => ({ id: c.id, label: c.exemplar, members: c.members })),
  };
}
