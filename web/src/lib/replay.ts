// Replaying a recorded trace token by token: a cursor over the trace's tokens that reveals the
// alerts and regulation events whose position has been reached. Pure; the traces page drives it
// with a timer and renders snapshot() with the same views as the live chat.
import type { RegulationInfo, Trace } from './api.ts';
import { chartEmotions, emptyRun, type RunState, type TokenView } from './run.ts';

export function regulationList(r: Trace['regulation']): RegulationInfo[] {
  return r ?? [];
}

export class TraceReplay {
  /** Number of tokens shown, 0 .. length. */
  private shown = 0;
  private readonly tokens: TokenView[];
  readonly emotions: string[];

  constructor(readonly trace: Trace) {
    const all = trace.emotions ?? [];
    this.tokens = trace.tokens.map((t) => {
      const v: TokenView = { text: t.text ?? '', position: t.position, readouts: t.readouts ?? {} };
      if (typeof t.token_id === 'number') v.tokenId = t.token_id;
      if (typeof t.token === 'string') v.token = t.token;
      if (t.z && t.z.length === all.length && all.length > 0) v.full = Object.fromEntries(all.map((e, i) => [e, t.z![i]!]));
      return v;
    });
    this.emotions = chartEmotions({ tokens: this.tokens, watched: trace.watched ?? [] });
  }

  get length(): number {
    return this.tokens.length;
  }

  get index(): number {
    return this.shown;
  }

  get atEnd(): boolean {
    return this.shown >= this.tokens.length;
  }

  get atStart(): boolean {
    return this.shown === 0;
  }

  /** Shows `n` tokens (clamped to 0 .. length); returns the new count. */
  seek(n: number): number {
    this.shown = Math.max(0, Math.min(this.tokens.length, Math.round(Number.isFinite(n) ? n : 0)));
    return this.shown;
  }

  /** Moves by `delta` tokens (negative goes back); returns the tokens newly revealed (empty when moving back). */
  step(delta = 1): TokenView[] {
    const from = this.shown;
    this.seek(from + delta);
    return this.shown > from ? this.tokens.slice(from, this.shown) : [];
  }

  reset(): void {
    this.shown = 0;
  }

  /** The token last revealed, if any. */
  current(): TokenView | undefined {
    return this.shown > 0 ? this.tokens[this.shown - 1] : undefined;
  }

  /** Position reached so far: alerts and regulation at or before it are visible (a regulation
   * released after it shows as still engaged). */
  private reached(): number {
    return this.current()?.position ?? -Infinity;
  }

  /** The run as it stood after `index` tokens. */
  snapshot(): RunState {
    const run = emptyRun();
    const reached = this.reached();
    run.tokens = this.tokens.slice(0, this.shown);
    run.alerts = (this.trace.alerts ?? []).filter((a) => a.position <= reached);
    run.regulation = regulationList(this.trace.regulation)
      .filter((r) => r.from_position <= reached)
      .map((r) => (r.to_position !== null && r.to_position !== undefined && r.to_position > reached + 1 ? { ...r, to_position: null } : r));
    run.emotions = [...this.emotions];
    run.watched = [...(this.trace.watched ?? [])];
    run.traceId = this.trace.id;
    run.model = this.trace.model ?? null;
    if (this.atEnd && this.tokens.length > 0) run.finishReason = 'replayed';
    return run;
  }
}
