// Prometheus metrics of the monitor server, rendered in the text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): HELP and TYPE lines, then samples
// with escaped label values.

type Labels = Record<string, string>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function key(labels: Labels): string {
  const ks = Object.keys(labels).sort();
  return ks.length ? `{${ks.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',')}}` : '';
}

class Family {
  readonly samples = new Map<string, number>();
  constructor(readonly name: string, readonly type: 'counter' | 'gauge', readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    this.samples.set(k, (this.samples.get(k) ?? 0) + by);
  }
  set(value: number, labels: Labels = {}): void {
    this.samples.set(key(labels), value);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const [k, v] of this.samples) lines.push(`${this.name}${k} ${Number.isFinite(v) ? v : 0}`);
    return lines.join('\n');
  }
}

export class Metrics {
  readonly tokens = new Family('limbic_tokens_total', 'counter', 'Tokens generated.');
  readonly tokensPerSecond = new Family('limbic_tokens_per_second', 'gauge', 'Decode speed of the most recent generation (tokens per second).');
  readonly queueDepth = new Family('limbic_queue_depth', 'gauge', 'Generation requests waiting or running.');
  readonly requests = new Family('limbic_requests_total', 'counter', 'HTTP requests by endpoint and status code.');
  readonly alerts = new Family('limbic_alerts_total', 'counter', 'Alerts fired, by rule.');
  readonly monitorSeconds = new Family('limbic_monitor_overhead_seconds', 'counter', 'Seconds spent computing emotion read-outs and alert rules (beyond the engine\'s layer capture).');

  constructor(private readonly depth: () => number) {
    this.tokens.set(0);
    this.tokensPerSecond.set(0);
    this.monitorSeconds.set(0);
  }

  render(): string {
    this.queueDepth.set(this.depth());
    return `${[this.tokens, this.tokensPerSecond, this.queueDepth, this.requests, this.alerts, this.monitorSeconds].map((f) => f.render()).join('\n')}\n`;
  }
}
