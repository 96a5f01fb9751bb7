// The chat page: a conversation with the served model whose replies stream in token by token, each
// token coloured by the selected emotion's z-score; beside it a live chart of the watched emotions,
// the alerts as they fire, a small emotion map, and the controls for the next request (watched
// emotions, steering sliders, alert rules, sampling). Chat models get /v1/chat/completions, models
// without a chat template /v1/completions (GET /v1/models says which).
import type { App } from '../app.ts';
import type { AlertRule, ChatMessage, GenerateRequest, RuleKind } from '../lib/api.ts';
import { projectReadouts } from '../lib/mapPoint.ts';
import { applyChunk, chartEmotions, emptyRun, runText, type RunState } from '../lib/run.ts';
import { LineChart } from '../ui/chart.ts';
import { clear, fmt, frameThrottle, h } from '../ui/dom.ts';
import { EmotionMap } from '../ui/emotionMap.ts';
import { TokenStrip, alertItem, regulationItem, scaleLegend } from '../ui/tokens.ts';

const STEER_MAX = 0.1;
const RULE_KINDS: readonly RuleKind[] = ['threshold', 'moving-average', 'rise'];

interface Reply {
  run: RunState;
  strip: TokenStrip;
  bubble: HTMLElement;
}

export class ChatPage {
  readonly el: HTMLElement;
  private readonly history: ChatMessage[] = [];
  private readonly log = h('div', { class: 'log', 'data-testid': 'chat-log' });
  private readonly input = h('textarea', { class: 'input', rows: 3, placeholder: 'Message (Enter sends, Shift+Enter for a new line)', 'data-testid': 'chat-input' });
  private readonly sendBtn = h('button', { type: 'submit', class: 'primary', 'data-testid': 'send' }, 'Send');
  private readonly stopBtn = h('button', { type: 'button', disabled: true, 'data-testid': 'stop' }, 'Stop');
  private readonly status = h('div', { class: 'status', 'data-testid': 'chat-status' });
  private readonly chart = new LineChart();
  private readonly map = new EmotionMap(true);
  private readonly alerts = h('ul', { class: 'alerts', 'data-testid': 'alerts' });
  private readonly colourBy = h('select', { 'data-testid': 'colour-by', title: 'emotion that colours the tokens' });
  private readonly watchedBox = h('div', { class: 'chips', 'data-testid': 'watched' });
  private readonly steerBox = h('div', { class: 'sliders', 'data-testid': 'steering' });
  private readonly rulesBox = h('ul', { class: 'rules', 'data-testid': 'rules' });
  private readonly layerSel = h('select', { 'data-testid': 'layer' });
  private readonly maxTokens = h('input', { type: 'number', min: 1, max: 4096, value: 64, 'data-testid': 'max-tokens' });
  private readonly temperature = h('input', { type: 'number', min: 0, max: 2, step: 0.1, value: 0.7, 'data-testid': 'temperature' });
  private watched: string[] = [];
  /** The emotion colouring the tokens ('' before any is known). */
  private colourByValue = '';
  private steer = new Map<string, number>();
  private rules: AlertRule[] = [];
  private readonly regulate = {
    on: h('input', { type: 'checkbox', 'data-testid': 'regulate-on' }),
    emotion: h('input', { placeholder: 'calm', size: 8, 'data-testid': 'regulate-emotion' }),
    strength: h('input', { type: 'number', step: 0.01, min: -STEER_MAX, max: STEER_MAX, value: 0.05, style: 'width:5em', 'data-testid': 'regulate-strength' }),
    mode: h('select', { title: 'while: until the rule is false again; rest: for the rest of the reply', 'data-testid': 'regulate-mode' }, h('option', { value: 'while' }, 'while it holds'), h('option', { value: 'rest' }, 'for the rest')),
  };
  private readonly serverRules = h('p', { class: 'note' });
  private replies: Reply[] = [];
  private shown: Reply | null = null;
  private abort: AbortController | null = null;
  private readonly redraw = frameThrottle(() => this.drawChart());

  constructor(private readonly app: App) {
    const form = h('form', { class: 'composer', onsubmit: (e: Event) => (e.preventDefault(), void this.send()) }, this.input, h('div', { class: 'composer-buttons' }, this.sendBtn, this.stopBtn));
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        void this.send();
      }
    });
    this.stopBtn.addEventListener('click', () => this.abort?.abort());
    this.colourBy.addEventListener('change', () => this.setColour(this.colourBy.value));
    this.chart.onPick = (e) => this.setColour(e);
    const newChat = h('button', { type: 'button', onclick: () => this.reset(), title: 'start a new conversation' }, 'New chat');
    this.el = h(
      'section',
      { class: 'page chat', 'data-page': 'chat' },
      h(
        'div',
        { class: 'main-col' },
        h('section', { class: 'panel' }, h('h2', {}, 'Read-outs over the reply (z)'), this.chart.el),
        h('div', { class: 'toolbar' }, h('label', {}, 'Colour by ', this.colourBy), scaleLegend(), newChat),
        this.log,
        this.status,
        form,
      ),
      h(
        'aside',
        { class: 'side-col' },
        h('section', { class: 'panel' }, h('h2', {}, 'Alerts'), this.alerts),
        h('section', { class: 'panel' }, h('h2', {}, 'Emotion map'), this.map.el),
        h('section', { class: 'panel' }, h('h2', {}, 'Watched emotions'), this.watchedBox, this.addEmotionForm()),
        h('section', { class: 'panel' }, h('h2', {}, 'Steer the next reply'), h('p', { class: 'note' }, 'Strength as a fraction of the residual-stream norm at the pack layer.'), this.steerBox),
        h('section', { class: 'panel' }, h('h2', {}, 'Alert rules'), this.rulesBox, this.ruleForm()),
        h('section', { class: 'panel' }, h('h2', {}, 'Sampling'), h('div', { class: 'grid2' }, h('label', {}, 'Layer', this.layerSel), h('label', {}, 'Max tokens', this.maxTokens), h('label', {}, 'Temperature', this.temperature))),
      ),
    );
  }

  /** Called once the server's models and emotions are known. */
  init(): void {
    this.watched = this.app.defaultWatched();
    const info = this.app.emotions;
    clear(this.layerSel);
    for (const l of info?.layers ?? []) this.layerSel.append(h('option', { value: l, selected: l === info?.default_layer }, String(l)));
    if (info) this.map.setPoints(info.emotions, this.watched, this.app.clusterLabels());
    this.renderWatched();
    const rules = (info?.['rules'] ?? []) as { id?: string; emotion?: string; kind?: string; value?: number }[];
    this.serverRules.textContent = rules.length ? `Server rules in force: ${rules.map((r) => `${r.emotion} ${r.kind ?? ''} > ${String(r.value ?? '?')}`).join('; ')}.` : 'No server rules.';
    const m = this.app.model();
    this.input.placeholder = m?.limbic?.chat_template === false ? 'Prompt to continue (this model has no chat template: plain completion)' : 'Message (Enter sends, Shift+Enter for a new line)';
  }

  private get chatMode(): boolean {
    return this.app.model()?.limbic?.chat_template !== false;
  }

  // ------------------------------------------------------------------ controls

  private addEmotionForm(): HTMLElement {
    const list = h('datalist', { id: 'all-emotions' });
    const field = h('input', { list: 'all-emotions', placeholder: 'add an emotion', 'data-testid': 'add-emotion' });
    const add = (): void => {
      const name = field.value.trim();
      if (!this.app.allEmotions().includes(name)) {
        field.setCustomValidity(`"${name}" is not in the pack`);
        field.reportValidity();
        return;
      }
      field.setCustomValidity('');
      if (!this.watched.includes(name)) this.watched.push(name);
      field.value = '';
      this.renderWatched();
    };
    field.addEventListener('focus', () => {
      if (list.childElementCount === 0) for (const e of this.app.allEmotions()) list.append(h('option', { value: e }));
    });
    field.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        add();
      }
    });
    return h('div', { class: 'row' }, field, list, h('button', { type: 'button', onclick: add }, 'Add'));
  }

  private renderWatched(): void {
    clear(this.watchedBox);
    clear(this.steerBox);
    clear(this.colourBy);
    for (const e of this.watched) {
      this.watchedBox.append(
        h('span', { class: 'chip' }, e, h('button', { type: 'button', class: 'chip-x', title: `stop watching ${e}`, onclick: () => ((this.watched = this.watched.filter((x) => x !== e)), this.steer.delete(e), this.renderWatched()) }, '×')),
      );
      this.colourBy.append(h('option', { value: e }, e));
      const value = h('span', { class: 'slider-value' }, fmt(this.steer.get(e) ?? 0, 3));
      const slider = h('input', { type: 'range', min: -STEER_MAX, max: STEER_MAX, step: 0.005, value: this.steer.get(e) ?? 0, 'data-emotion': e, 'aria-label': `steer ${e}` });
      slider.addEventListener('input', () => {
        const v = Number(slider.value);
        if (v === 0) this.steer.delete(e);
        else this.steer.set(e, v);
        value.textContent = fmt(v, 3);
      });
      this.steerBox.append(h('label', { class: 'slider' }, h('span', { class: 'slider-name' }, e), slider, value));
    }
    if (this.watched.length > 0) {
      this.steerBox.append(h('button', { type: 'button', onclick: () => (this.steer.clear(), this.renderWatched()) }, 'Reset steering'));
    }
    if (!this.watched.includes(this.colourByValue)) this.setColour(this.watched[0] ?? '');
    else this.colourBy.value = this.colourByValue;
    if (this.app.emotions) this.map.setPoints(this.app.emotions.emotions, this.watched, this.app.clusterLabels());
  }

  private setColour(e: string): void {
    this.colourByValue = e;
    if (this.colourBy.value !== e) {
      if (e && ![...this.colourBy.options].some((o) => o.value === e)) this.colourBy.append(h('option', { value: e }, e));
      this.colourBy.value = e;
    }
    for (const r of this.replies) r.strip.setEmotion(e || null);
    this.drawChart();
  }

  private ruleForm(): HTMLElement {
    const emo = h('input', { list: 'all-emotions', placeholder: 'emotion', 'data-testid': 'rule-emotion', size: 10 });
    const kind = h('select', { 'data-testid': 'rule-kind', title: 'threshold: z > value; moving-average: mean z over the window > value; rise: z minus the window minimum > value' }, ...RULE_KINDS.map((k) => h('option', { value: k }, k)));
    const value = h('input', { type: 'number', step: 0.1, value: 2, 'data-testid': 'rule-value', title: 'z-score', style: 'width:5em' });
    const add = (): void => {
      const emotion = emo.value.trim();
      const v = Number(value.value);
      if (!this.app.allEmotions().includes(emotion)) {
        emo.setCustomValidity(`"${emotion}" is not in the pack`);
        emo.reportValidity();
        return;
      }
      emo.setCustomValidity('');
      if (!Number.isFinite(v)) return;
      const k = kind.value as RuleKind;
      this.rules.push({ id: `${emotion.replace(/\W+/g, '-')}-${k}-${this.rules.length + 1}`, emotion, kind: k, value: v });
      emo.value = '';
      this.renderRules();
    };
    this.regulate.emotion.setAttribute('list', 'all-emotions');
    return h(
      'div',
      {},
      h('div', { class: 'row' }, emo, kind, value, h('button', { type: 'button', onclick: add, 'data-testid': 'add-rule' }, 'Add rule')),
      h(
        'div',
        { class: 'row regulate' },
        h('label', {}, this.regulate.on, ' when a rule fires, steer '),
        this.regulate.emotion,
        h('label', {}, 'by ', this.regulate.strength),
        this.regulate.mode,
      ),
      this.serverRules,
    );
  }

  private renderRules(): void {
    clear(this.rulesBox);
    this.rules.forEach((r, i) =>
      this.rulesBox.append(h('li', {}, `${r.emotion} ${r.kind} > ${r.value} `, h('button', { type: 'button', class: 'chip-x', title: 'remove this rule', onclick: () => (this.rules.splice(i, 1), this.renderRules()) }, '×'))),
    );
  }

  // ------------------------------------------------------------------ conversation

  private reset(): void {
    this.abort?.abort();
    this.history.length = 0;
    this.replies = [];
    this.shown = null;
    clear(this.log);
    clear(this.alerts);
    this.map.clearTrail();
    this.app.publishReset('chat');
    this.drawChart();
    this.status.textContent = '';
  }

  private request(text: string): GenerateRequest {
    const req: GenerateRequest = {
      max_tokens: Number(this.maxTokens.value) || 64,
      temperature: Number(this.temperature.value),
      limbic: { emotions: [...this.watched] },
    };
    const m = this.app.model();
    if (m) req.model = m.id;
    if (this.layerSel.value !== '') req.limbic!.layer = Number(this.layerSel.value);
    if (this.steer.size > 0) req.limbic!.steer = Object.fromEntries(this.steer);
    if (this.rules.length > 0) req.limbic!.rules = this.rules.map((r) => ({ ...r }));
    const reg = this.regulate;
    if (reg.on.checked && this.app.allEmotions().includes(reg.emotion.value.trim()) && Number.isFinite(Number(reg.strength.value))) {
      req.limbic!.regulate = { emotion: reg.emotion.value.trim(), strength: Number(reg.strength.value), when: 'any', mode: reg.mode.value === 'rest' ? 'rest' : 'while' };
    }
    if (this.chatMode) req.messages = [...this.history, { role: 'user', content: text }];
    else req.prompt = text;
    return req;
  }

  private steerNote(req: GenerateRequest): string {
    const parts: string[] = [];
    if (req.limbic?.steer) parts.push(`steered: ${Object.entries(req.limbic.steer).map(([e, v]) => `${e} ${fmt(v, 3)}`).join(', ')}`);
    const r = req.limbic?.regulate;
    if (r) parts.push(`regulating ${r.emotion} ${fmt(r.strength, 3)} on alert`);
    return parts.join(' · ');
  }

  async send(): Promise<void> {
    const text = this.input.value;
    if (this.abort || text.trim() === '') return;
    const req = this.request(text);
    this.input.value = '';
    this.log.append(h('div', { class: 'msg user', 'data-testid': 'user-msg' }, h('div', { class: 'who' }, this.chatMode ? 'you' : 'prompt'), h('div', { class: 'text' }, text)));
    const run = emptyRun();
    const strip = new TokenStrip();
    strip.setEmotion(this.colourByValue || null);
    const note = this.steerNote(req);
    const bubble = h('div', { class: 'msg assistant streaming', 'data-testid': 'assistant-msg' }, h('div', { class: 'who' }, this.chatMode ? 'model' : 'completion', note && h('span', { class: 'steer-note' }, note)), strip.el);
    const reply: Reply = { run, strip, bubble };
    bubble.addEventListener('click', () => this.show(reply));
    this.replies.push(reply);
    this.log.append(bubble);
    this.show(reply);
    clear(this.alerts);
    this.map.clearTrail();
    this.app.publishReset('chat');
    this.abort = new AbortController();
    this.sendBtn.disabled = true;
    this.stopBtn.disabled = false;
    this.status.textContent = 'generating…';
    const points = this.app.emotions?.emotions ?? [];
    try {
      for await (const chunk of this.app.client.stream(req, this.abort.signal)) {
        const eff = applyChunk(run, chunk);
        if (eff.token) {
          strip.append(eff.token);
          this.app.publishToken(eff.token, 'chat');
          this.map.setCurrent(projectReadouts(eff.token.readouts, points, eff.token), eff.token.text.trim());
          if (!this.colourByValue && run.watched[0]) this.setColour(run.watched[0]);
        }
        if (eff.alert) {
          this.alerts.append(alertItem(eff.alert));
          strip.markAlert(eff.alert);
        }
        if (eff.regulation) this.alerts.append(eff.regulation.active === false ? h('li', { class: 'regulation-note' }, `released ${eff.regulation.emotion} at position ${String(eff.regulation.to_position)}`) : regulationItem(eff.regulation));
        if (eff.error) throw new Error(eff.error);
        this.redraw();
        this.log.scrollTop = this.log.scrollHeight;
      }
      this.status.textContent = `${run.tokens.length} tokens${run.finishReason ? ` · ${run.finishReason}` : ''}${run.alerts.length ? ` · ${run.alerts.length} alert${run.alerts.length > 1 ? 's' : ''}` : ''}`;
    } catch (err) {
      const e = err as Error & { hint?: string };
      if (e.name === 'AbortError') this.status.textContent = `stopped after ${run.tokens.length} tokens`;
      else {
        this.status.textContent = '';
        bubble.append(h('div', { class: 'error', 'data-testid': 'chat-error' }, `${e.message}${e.hint ? ` — ${e.hint}` : ''}`));
      }
    } finally {
      bubble.classList.remove('streaming');
      bubble.setAttribute('data-done', 'true');
      this.abort = null;
      this.sendBtn.disabled = false;
      this.stopBtn.disabled = true;
      if (this.chatMode) this.history.push({ role: 'user', content: text }, { role: 'assistant', content: runText(run) });
      this.drawChart();
    }
  }

  onShow(): void {
    this.drawChart();
  }

  private show(reply: Reply): void {
    if (this.shown) this.shown.bubble.classList.remove('selected');
    this.shown = reply;
    reply.bubble.classList.add('selected');
    this.drawChart();
  }

  private drawChart(): void {
    const run = this.shown?.run ?? emptyRun();
    const emotions = run.tokens.length > 0 ? chartEmotions(run, this.watched) : [...this.watched];
    this.chart.update({ tokens: run.tokens, emotions, alerts: run.alerts, regulation: run.regulation, highlight: this.colourByValue });
  }
}
