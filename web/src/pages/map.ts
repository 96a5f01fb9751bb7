// The emotion-map page: the pack's emotions on PC1 (valence) / PC2 (arousal) from GET /v1/emotions,
// coloured by cluster, with a marker following the current token of whatever is running (a chat
// reply or a trace replay) and a table of that token's read-outs.
import type { App } from '../app.ts';
import { projectReadouts } from '../lib/mapPoint.ts';
import type { TokenView } from '../lib/run.ts';
import { clear, fmt, h } from '../ui/dom.ts';
import { EmotionMap } from '../ui/emotionMap.ts';

export class MapPage {
  readonly el: HTMLElement;
  private readonly map = new EmotionMap();
  private readonly current = h('div', { class: 'current-token', 'data-testid': 'map-current' }, 'No token yet: send a message on the Chat page or replay a trace.');
  private readonly readouts = h('table', { class: 'readouts' });

  constructor(private readonly app: App) {
    this.el = h(
      'section',
      { class: 'page map-page', 'data-page': 'map', hidden: true },
      h('div', { class: 'main-col' }, h('h2', {}, 'Emotion map'), h('p', { class: 'note' }, 'Each dot is an emotion vector placed by the first two principal components of the pack (PC1 reads as valence, PC2 as arousal). The ring is the current token: the average of the watched emotions\' positions weighted by their positive z-scores.'), this.map.el),
      h('aside', { class: 'side-col' }, h('section', { class: 'panel' }, h('h2', {}, 'Current token'), this.current, this.readouts)),
    );
    app.onToken(({ tok, source }) => this.follow(tok, source));
    app.onReset(() => this.map.clearTrail());
  }

  init(): void {
    const info = this.app.emotions;
    if (info) this.map.setPoints(info.emotions, this.app.defaultWatched(), this.app.clusterLabels());
  }

  private follow(tok: TokenView, source: string): void {
    const p = projectReadouts(tok.full ?? tok.readouts, this.app.emotions?.emotions ?? [], tok);
    this.map.setCurrent(p, tok.text.trim());
    this.current.textContent = `${source === 'chat' ? 'chat' : 'replay'} · position ${tok.position} · “${tok.text}”${p ? ` · (${p.x.toFixed(3)}, ${p.y.toFixed(3)})` : ''}`;
    clear(this.readouts);
    const rows = Object.entries(tok.full ?? tok.readouts).sort((a, b) => b[1] - a[1]).slice(0, 24);
    for (const [e, z] of rows) this.readouts.append(h('tr', {}, h('td', {}, e), h('td', { class: 'num' }, fmt(z))));
  }
}
