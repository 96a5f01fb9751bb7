// The traces page: recorded conversations from GET /v1/traces, one opened with GET /v1/traces/:id
// and replayed token by token (play, pause, step, scrub) with the chat page's colouring, chart and
// alerts; and a viewer for saved probe/analyze/experiment HTML reports, loaded from a local file
// into a fully sandboxed iframe (srcdoc; the reports are self-contained and script-free).
import type { App } from '../app.ts';
import type { Trace, TraceSummary } from '../lib/api.ts';
import { TraceReplay } from '../lib/replay.ts';
import { symmetricRange } from '../lib/scale.ts';
import { LineChart } from '../ui/chart.ts';
import { clear, h } from '../ui/dom.ts';
import { TokenStrip, alertItem, regulationItem, scaleLegend } from '../ui/tokens.ts';

function when(created: number | string | undefined): string {
  if (created === undefined) return '';
  const d = typeof created === 'number' ? new Date(created < 1e12 ? created * 1000 : created) : new Date(created);
  return Number.isNaN(d.getTime()) ? String(created) : d.toLocaleString();
}

function contentText(c: NonNullable<Trace['messages']>[number]['content'] | string[] | undefined): string {
  if (c === undefined) return '';
  if (typeof c === 'string') return c;
  return c.map((p) => (typeof p === 'string' ? p : (p.text ?? ''))).join('');
}

export class TracesPage {
  readonly el: HTMLElement;
  private readonly list = h('tbody', { 'data-testid': 'trace-list' });
  private readonly listStatus = h('p', { class: 'note' });
  private readonly viewer = h('div', { class: 'viewer', hidden: true, 'data-testid': 'trace-viewer' });
  private readonly title = h('h3', { class: 'trace-title' });
  private readonly prompt = h('div', { class: 'trace-prompt' });
  private readonly steerNote = h('p', { class: 'note steer-note' });
  private readonly strip = new TokenStrip();
  private readonly chart = new LineChart('emotion read-outs (z) over the trace');
  private readonly alerts = h('ul', { class: 'alerts', 'data-testid': 'trace-alerts' });
  private readonly colourBy = h('select', { 'data-testid': 'trace-colour-by' });
  private readonly scrub = h('input', { type: 'range', min: 0, max: 0, value: 0, 'data-testid': 'scrub', 'aria-label': 'replay position' });
  private readonly counter = h('span', { class: 'counter', 'data-testid': 'replay-counter' });
  private readonly playBtn = h('button', { type: 'button', class: 'primary', 'data-testid': 'play' }, '▶ Play');
  private readonly speed = h('select', { title: 'tokens per second' }, ...[5, 10, 20, 50].map((v) => h('option', { value: v, selected: v === 20 }, `${v}/s`)));
  private readonly reportFrame = h('iframe', { class: 'report', sandbox: '', title: 'saved report', 'data-testid': 'report-frame', hidden: true });
  private replay: TraceReplay | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private emotion = '';
  /** z half-range over the whole trace, so the chart's axes stay put during a replay. */
  private zRange = 2;

  constructor(private readonly app: App) {
    const refresh = h('button', { type: 'button', onclick: () => void this.refresh(), 'data-testid': 'refresh-traces' }, 'Refresh');
    const file = h('input', { type: 'file', accept: '.html,.htm,text/html', 'data-testid': 'report-file' });
    file.addEventListener('change', () => void this.openReport(file.files?.[0]));
    this.playBtn.addEventListener('click', () => (this.timer ? this.pause() : this.play()));
    this.scrub.addEventListener('input', () => {
      const n = Number(this.scrub.value); // read before pause() re-renders the slider
      this.pause();
      this.seek(n);
    });
    this.colourBy.addEventListener('change', () => this.setColour(this.colourBy.value));
    this.chart.onPick = (e) => this.setColour(e);
    const btn = (label: string, title: string, fn: () => void, id: string): HTMLButtonElement => h('button', { type: 'button', title, onclick: () => (this.pause(), fn()), 'data-testid': id }, label);
    const controls = h(
      'div',
      { class: 'replay-controls' },
      btn('|◀', 'back to the start', () => this.seek(0), 'to-start'),
      btn('◀ 1', 'one token back', () => this.seek((this.replay?.index ?? 0) - 1), 'step-back'),
      this.playBtn,
      btn('1 ▶', 'one token forward', () => this.stepForward(), 'step'),
      btn('▶|', 'to the end', () => this.seek(this.replay?.length ?? 0), 'to-end'),
      this.scrub,
      this.counter,
      this.speed,
    );
    this.viewer.append(
      this.title,
      this.steerNote,
      this.prompt,
      controls,
      h('div', { class: 'toolbar' }, h('label', {}, 'Colour by ', this.colourBy), scaleLegend()),
      h('div', { class: 'trace-body' }, h('div', { class: 'msg assistant' }, this.strip.el), h('div', { class: 'trace-side' }, this.chart.el, h('h3', {}, 'Alerts'), this.alerts)),
    );
    this.el = h(
      'section',
      { class: 'page traces', 'data-page': 'traces', hidden: true },
      h(
        'div',
        { class: 'main-col wide' },
        h('div', { class: 'panel' }, h('div', { class: 'row spread' }, h('h2', {}, 'Recorded traces'), refresh), this.listStatus, h('table', { class: 'trace-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'when'), h('th', {}, 'model'), h('th', {}, 'prompt'), h('th', {}, 'reply'), h('th', {}, 'status'), h('th', { class: 'num' }, 'tokens'), h('th', { class: 'num' }, 'alerts'))), this.list)),
        h('div', { class: 'panel' }, this.viewer),
        h('div', { class: 'panel' }, h('h2', {}, 'Saved report'), h('p', { class: 'note' }, 'Open an HTML report written by probe, analyze or an experiment. It is shown sandboxed; nothing leaves this page.'), file, this.reportFrame),
      ),
    );
  }

  /** Reloads the list (called when the page is shown) and redraws the open replay at its new size. */
  async refresh(): Promise<void> {
    this.render();
    this.listStatus.textContent = 'loading…';
    let traces: TraceSummary[];
    try {
      traces = await this.app.client.traces();
    } catch (err) {
      const e = err as Error & { hint?: string };
      this.listStatus.textContent = `could not list traces: ${e.message}${e.hint ? ` — ${e.hint}` : ''}`;
      return;
    }
    clear(this.list);
    this.listStatus.textContent = traces.length === 0 ? 'No traces recorded yet: chat with the model, then refresh.' : `${traces.length} trace${traces.length > 1 ? 's' : ''}; click one to replay it.`;
    for (const t of traces) {
      const row = h(
        'tr',
        { class: 'trace-row', tabindex: 0, 'data-id': t.id, onclick: () => void this.open(t.id), onkeydown: (e: Event) => (e as KeyboardEvent).key === 'Enter' && void this.open(t.id) },
        h('td', {}, when(t.created)),
        h('td', {}, t.model),
        h('td', { class: 'preview' }, t.prompt_preview ?? ''),
        h('td', { class: 'preview' }, t.preview),
        h('td', {}, `${t.status ?? ''}${t.regulated ? ' · regulated' : ''}`),
        h('td', { class: 'num' }, String(t.tokens)),
        h('td', { class: t.alerts > 0 ? 'num warn' : 'num' }, String(t.alerts)),
      );
      this.list.append(row);
    }
  }

  async open(id: string): Promise<void> {
    this.pause();
    let trace: Trace;
    try {
      trace = await this.app.client.trace(id);
    } catch (err) {
      this.listStatus.textContent = `could not open trace ${id}: ${(err as Error).message}`;
      return;
    }
    this.load(trace);
  }

  load(trace: Trace): void {
    this.replay = new TraceReplay(trace);
    this.viewer.hidden = false;
    this.title.textContent = `Trace ${trace.id}${trace.model ? ` · ${trace.model}` : ''}${trace.created !== undefined ? ` · ${when(trace.created)}` : ''}${trace.status ? ` · ${trace.status}` : ''}`;
    const steer = Object.entries(trace.steer ?? {});
    this.steerNote.textContent = steer.length ? `steered: ${steer.map(([e, v]) => `${e} ${v >= 0 ? '+' : ''}${v}`).join(', ')}` : '';
    clear(this.prompt);
    for (const m of trace.messages ?? []) this.prompt.append(h('div', { class: `msg ${m.role === 'assistant' ? 'assistant' : 'user'}` }, h('div', { class: 'who' }, m.role), h('div', { class: 'text' }, contentText(m.content))));
    if (trace.prompt) this.prompt.append(h('div', { class: 'msg user' }, h('div', { class: 'who' }, 'prompt'), h('div', { class: 'text' }, contentText(trace.prompt))));
    clear(this.colourBy);
    for (const e of this.replay.emotions) this.colourBy.append(h('option', { value: e }, e));
    this.emotion = this.replay.emotions.includes(this.emotion) ? this.emotion : (this.replay.emotions[0] ?? '');
    this.colourBy.value = this.emotion;
    this.strip.setEmotion(this.emotion || null);
    this.scrub.max = String(this.replay.length);
    this.zRange = symmetricRange(trace.tokens.flatMap((t) => Object.values(t.readouts ?? {})));
    this.app.publishReset('replay');
    this.seek(0);
    this.viewer.scrollIntoView({ block: 'nearest' });
  }

  private setColour(e: string): void {
    this.emotion = e;
    this.colourBy.value = e;
    this.strip.setEmotion(e);
    this.render();
  }

  private seek(n: number): void {
    if (!this.replay) return;
    this.replay.seek(n);
    this.strip.setTokens(this.replay.snapshot().tokens);
    this.showEvents(true);
    const cur = this.replay.current();
    if (cur) this.app.publishToken(cur, 'replay');
    this.render();
  }

  private stepForward(): void {
    if (!this.replay) return;
    for (const t of this.replay.step(1)) {
      this.strip.append(t);
      this.app.publishToken(t, 'replay');
    }
    this.showEvents(false);
    this.render();
  }

  /** Lists the alerts and regulation reached so far (and outlines the alerted tokens when `mark`, or when new). */
  private showEvents(mark: boolean): void {
    const snap = this.replay!.snapshot();
    const shown = this.alerts.querySelectorAll('.alert').length;
    if (!mark && snap.alerts.length === shown && this.alerts.querySelectorAll('.regulation-note').length === snap.regulation.length) return;
    clear(this.alerts);
    snap.alerts.forEach((a, i) => {
      this.alerts.append(alertItem(a));
      if (mark || i >= shown) this.strip.markAlert(a);
    });
    for (const r of snap.regulation) this.alerts.append(regulationItem(r));
  }

  private render(): void {
    const r = this.replay;
    if (!r) return;
    const snap = r.snapshot();
    this.chart.update({ tokens: snap.tokens, emotions: r.emotions, alerts: snap.alerts, regulation: snap.regulation, highlight: this.emotion, span: r.length, zRange: this.zRange });
    this.scrub.value = String(r.index);
    this.counter.textContent = `${r.index} / ${r.length}`;
    this.playBtn.textContent = this.timer ? '❚❚ Pause' : '▶ Play';
  }

  private play(): void {
    if (!this.replay) return;
    if (this.replay.atEnd) this.seek(0);
    const rate = Number(this.speed.value) || 20;
    this.timer = setInterval(() => {
      if (!this.replay || this.replay.atEnd) return this.pause();
      this.stepForward();
    }, 1000 / rate);
    this.render();
  }

  private pause(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.render();
  }

  private async openReport(file: File | undefined): Promise<void> {
    if (!file) return;
    const html = await file.text();
    this.reportFrame.hidden = false;
    this.reportFrame.srcdoc = html;
    this.reportFrame.setAttribute('data-name', file.name);
  }
}
