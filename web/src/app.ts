// Shared dashboard state: the API client, what the server told us at start (models, emotion
// geometry) and a bus on which the chat and the replay publish each token as it appears, so the
// emotion map can follow whichever is running.
import { LimbicClient, type EmotionsInfo, type ModelInfo } from './lib/api.ts';
import type { TokenView } from './lib/run.ts';

/** The paper's twelve showcase concepts (SPEC.md section 1). */
const SHOWCASE = ['happy', 'calm', 'desperate', 'angry', 'sad', 'afraid', 'loving', 'proud', 'inspired', 'guilty', 'nervous', 'surprised'];

export interface TokenEventDetail {
  tok: TokenView;
  source: 'chat' | 'replay';
}

export class App {
  readonly client: LimbicClient;
  models: ModelInfo[] = [];
  emotions: EmotionsInfo | null = null;
  readonly bus = new EventTarget();

  constructor(token: string | null) {
    this.client = new LimbicClient('', token);
  }

  publishToken(tok: TokenView, source: TokenEventDetail['source']): void {
    this.bus.dispatchEvent(new CustomEvent<TokenEventDetail>('token', { detail: { tok, source } }));
  }

  publishReset(source: TokenEventDetail['source']): void {
    this.bus.dispatchEvent(new CustomEvent('reset', { detail: { source } }));
  }

  onToken(fn: (d: TokenEventDetail) => void): void {
    this.bus.addEventListener('token', (e) => fn((e as CustomEvent<TokenEventDetail>).detail));
  }

  onReset(fn: () => void): void {
    this.bus.addEventListener('reset', () => fn());
  }

  /** Cluster id -> label, from GET /v1/emotions. */
  clusterLabels(): Map<string, string> {
    return new Map((this.emotions?.clusters ?? []).filter((c) => c.label).map((c) => [String(c.id), c.label!]));
  }

  /** All emotion names the server knows (pack order). */
  allEmotions(): string[] {
    return this.emotions?.emotions.map((e) => e.name) ?? [];
  }

  /** The server's watched emotions (its rules'), topped up with showcase concepts the pack has, up to 6. */
  defaultWatched(): string[] {
    const all = this.allEmotions();
    const out = (this.emotions?.watched ?? []).filter((e) => all.includes(e));
    for (const e of [...SHOWCASE.filter((x) => all.includes(x)), ...all]) {
      if (out.length >= 6) break;
      if (!out.includes(e)) out.push(e);
    }
    return out;
  }

  /** The model to ask; undefined lets the server pick. */
  model(): ModelInfo | undefined {
    return this.models[0];
  }
}
