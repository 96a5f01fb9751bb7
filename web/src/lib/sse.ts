// Server-sent events, parsed incrementally (WHATWG HTML "event stream interpretation"): lines end in
// \n, \r\n or \r; "data:" lines accumulate (joined with \n) until a blank line dispatches the event;
// lines starting with ":" are comments; one leading space after the colon is dropped. The OpenAI
// streaming convention ends a stream with `data: [DONE]`. Pure: runs in the browser and in Node tests.

export interface SseEvent {
  /** The "event:" field, "message" when absent. */
  event: string;
  data: string;
  id?: string;
}

/** Feeds text chunks (split anywhere, even inside a \r\n pair) and returns the events completed so far. */
export class SseParser {
  private buf = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  private sawCr = false;

  push(chunk: string): SseEvent[] {
    const out: SseEvent[] = [];
    let text = chunk;
    // A \r ended the previous chunk; a \n starting this one belongs to the same line break.
    if (this.sawCr && text.startsWith('\n')) text = text.slice(1);
    this.sawCr = false;
    this.buf += text;
    let start = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const c = this.buf.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(this.buf.slice(start, i), out);
      if (c === 13) {
        if (i + 1 < this.buf.length) {
          if (this.buf.charCodeAt(i + 1) === 10) i++;
        } else {
          this.sawCr = true;
        }
      }
      start = i + 1;
    }
    this.buf = this.buf.slice(start);
    return out;
  }

  /** End of stream: an unterminated final event is discarded, as the spec says. */
  end(): SseEvent[] {
    this.buf = '';
    this.data = [];
    this.event = '';
    return [];
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) {
        const ev: SseEvent = { event: this.event || 'message', data: this.data.join('\n') };
        if (this.id !== undefined) ev.id = this.id;
        out.push(ev);
      }
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}

/** The JSON payloads of an OpenAI-style stream, in order; stops at `[DONE]`. */
export async function* sseJson<T = unknown>(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<T> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    for (;;) {
      if (signal?.aborted) return;
      const { done, value } = await reader.read();
      const events = done ? [...parser.push(decoder.decode()), ...parser.end()] : parser.push(decoder.decode(value, { stream: true }));
      for (const ev of events) {
        if (ev.data === '[DONE]') return;
        if (ev.event !== 'message' && ev.event !== 'error') continue;
        let parsed: unknown;
        try {
          parsed = JSON.parse(ev.data);
        } catch {
          throw new Error(`the server sent an event that is not JSON: ${ev.data.slice(0, 120)}`);
        }
        yield (ev.event === 'error' && (parsed === null || typeof parsed !== 'object' || !('error' in parsed)) ? { error: parsed } : parsed) as T;
      }
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}
