// Atomic file output: write to a temporary sibling, fsync, then rename over the target,
// so a crash never leaves a half-written file where a complete one is expected.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Streams chunks from `write` into `path` atomically (large files never sit in memory whole). */
export function writeStreamAtomic(path: string, write: (emit: (chunk: Uint8Array) => void) => void): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      write((b) => {
        let done = 0;
        while (done < b.byteLength) done += writeSync(fd, b, done, b.byteLength - done);
      });
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  writeStreamAtomic(path, (emit) => emit(typeof data === 'string' ? Buffer.from(data, 'utf8') : data));
}
