// A first-in-first-out queue that lets one generation run at a time. Waiters are served in arrival
// order; one whose AbortSignal fires while it waits leaves the queue at once (its slot is not
// taken). depth = waiting + running, the figure /metrics reports.
import { ApiError } from './http.ts';

interface Waiter {
  grant: (release: () => void) => void;
  fail: (err: unknown) => void;
}

export class FifoQueue {
  private readonly waiting: Waiter[] = [];
  private running = false;

  constructor(private readonly maxWaiting = 64) {}

  get depth(): number {
    return this.waiting.length + (this.running ? 1 : 0);
  }

  /**
   * Resolves with a release function once it is this caller's turn; throws at once (429) when the
   * queue is full, so the caller can still answer with a plain error.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.running && this.waiting.length >= this.maxWaiting) {
      throw new ApiError(429, `the server is busy: ${this.waiting.length} requests are waiting`, 'queue_full', null, 'retry later (the queue limit is --max-queue)');
    }
    if (signal?.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
    if (!this.running) {
      this.running = true;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
        fail: reject,
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(w);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal?.reason ?? new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(w);
    });
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiting.shift();
      if (next) next.grant(this.releaser());
      else this.running = false;
    };
  }
}
