// A reply rendered token by token, each token's background coloured by one emotion's z-score on the
// diverging scale; hovering shows all read-outs. Tokens where an alert fired are outlined.
import type { AlertInfo, RegulationInfo } from '../lib/api.ts';
import { divergingRgb, rgbCss, textOn } from '../lib/colour.ts';
import type { TokenView } from '../lib/run.ts';
import { clear, h } from './dom.ts';

export class TokenStrip {
  readonly el: HTMLElement;
  private emotion: string | null = null;
  private items: { tok: TokenView; span: HTMLElement }[] = [];

  constructor(cls = 'tokens') {
    this.el = h('div', { class: cls });
  }

  setEmotion(emotion: string | null): void {
    this.emotion = emotion;
    for (const it of this.items) this.paint(it.span, it.tok);
  }

  private paint(span: HTMLElement, tok: TokenView): void {
    const z = this.emotion ? tok.readouts[this.emotion] : undefined;
    if (z === undefined) {
      span.style.background = '';
      span.style.color = '';
      span.removeAttribute('data-z');
      return;
    }
    const bg = divergingRgb(z);
    span.style.background = rgbCss(bg);
    span.style.color = textOn(bg);
    span.setAttribute('data-z', z.toFixed(3));
  }

  append(tok: TokenView): HTMLElement {
    const id = [tok.token !== undefined ? JSON.stringify(tok.token) : '', tok.tokenId !== undefined ? `#${tok.tokenId}` : ''].filter(Boolean).join(' ');
    const title = [`position ${tok.position}${id ? ` · ${id}` : ''}`, ...Object.entries(tok.readouts).map(([e, z]) => `${e}: ${(z >= 0 ? '+' : '') + z.toFixed(2)}`)].join('\n');
    const span = h('span', { class: 'tok', title, 'data-position': tok.position }, tok.text);
    this.paint(span, tok);
    this.el.append(span);
    this.items.push({ tok, span });
    return span;
  }

  setTokens(tokens: readonly TokenView[]): void {
    clear(this.el);
    this.items = [];
    for (const t of tokens) this.append(t);
  }

  markAlert(a: AlertInfo): void {
    const it = this.items.find((x) => x.tok.position === a.position) ?? this.items[this.items.length - 1];
    if (!it) return;
    it.span.classList.add('alerted');
    it.span.title += `\n⚠ ${a.message}`;
  }

  get count(): number {
    return this.items.length;
  }
}

/** A small horizontal legend of the diverging scale. */
export function scaleLegend(zMax = 3): HTMLElement {
  const steps = [-3, -2, -1, 0, 1, 2, 3].map((k) => (k * zMax) / 3);
  return h(
    'div',
    { class: 'scale-legend', title: 'token colour: z-score of the selected emotion against its neutral baseline' },
    h('span', {}, `−${zMax}`),
    ...steps.map((z) => h('span', { class: 'scale-cell', style: `background:${rgbCss(divergingRgb(z, zMax))}` })),
    h('span', {}, `+${zMax} z`),
  );
}

export function alertItem(a: AlertInfo): HTMLElement {
  return h(
    'li',
    { class: 'alert', 'data-rule': a.rule, title: `rule ${a.rule}${a.kind ? ` (${a.kind})` : ''}` },
    h('strong', {}, a.emotion),
    ` ${(a.value >= 0 ? '+' : '') + a.value.toFixed(2)}`,
    h('span', { class: 'alert-pos' }, `token ${a.index ?? '?'} · position ${a.position}`),
    h('div', { class: 'alert-msg' }, a.message),
  );
}

export function regulationItem(r: RegulationInfo): HTMLElement {
  const to = r.to_position === null || r.to_position === undefined ? '' : ` to ${r.to_position}`;
  return h('li', { class: 'regulation-note' }, `regulating ${r.emotion} at ${(r.strength >= 0 ? '+' : '') + r.strength.toFixed(3)} from position ${r.from_position}${to}`);
}
