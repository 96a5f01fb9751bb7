// Server-sent events for one client, in OpenAI's framing (`data: {json}\n\n`, `data: [DONE]\n\n`).
// Writes never wait for the socket: Node buffers what the kernel does not take yet, and once a
// client's unsent bytes exceed `maxBuffered` it is dropped (its response destroyed, `onOverflow`
// called so the generation can be cancelled). A slow reader therefore costs memory up to the cap,
// never time on the generation loop that other clients queue behind.
import type { ServerResponse } from 'node:http';
import { SECURITY_HEADERS } from './http.ts';

/** The part of ServerResponse the writer uses (a plain Writable in tests). */
export interface SseTarget {
  write(chunk: string): boolean;
  end(): void;
  destroy(err?: Error): void;
  readonly writableLength: number;
  readonly destroyed: boolean;
}

export class SseWriter {
  private closed = false;
  /** Set when the client was dropped for falling behind. */
  overflowed = false;
  bytes = 0;

  constructor(
    private readonly target: SseTarget,
    private readonly maxBuffered: number,
    private readonly onOverflow: () => void = () => undefined,
  ) {}

  static open(res: ServerResponse, maxBuffered: number, onOverflow?: () => void): SseWriter {
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    return new SseWriter(res, maxBuffered, onOverflow);
  }

  get open(): boolean {
    return !this.closed && !this.target.destroyed;
  }

  /** Sends one event; returns false when the client is gone or was dropped. */
  send(obj: unknown): boolean {
    return this.raw(`data: ${JSON.stringify(obj)}\n\n`);
  }

  done(): void {
    this.raw('data: [DONE]\n\n');
    this.end();
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.target.destroyed) this.target.end();
  }

  private raw(text: string): boolean {
    if (!this.open) return false;
    this.target.write(text);
    this.bytes += text.length;
    if (this.target.writableLength > this.maxBuffered) {
      this.overflowed = true;
      this.closed = true;
      this.target.destroy(); // no error object: nobody is left to handle it
      this.onOverflow();
      return false;
    }
    return true;
  }
}
