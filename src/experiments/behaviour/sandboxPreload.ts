// The preload the sandbox runs (node --require) before any untrusted code: it swaps the network and
// process-spawning modules (net, tls, http, https, http2, dgram, dns, child_process, cluster,
// worker_threads, inspector) for throwing stubs, removes fetch/WebSocket/EventSource, blocks
// process.binding/dlopen/kill/chdir, and refuses file writes outside the working directory. Each
// refusal is also written to stderr as a "[limbic-sandbox] blocked: <what>" line, so a solution that
// catches the error is still recorded. Builtin ESM named exports are re-synced afterwards
// (module.syncBuiltinESMExports), so `import { connect } from 'node:net'` gets the stub too.
// Kept as a string so it travels with the TypeScript sources (no build step copies .cjs files).

export const BLOCK_MARKER = '[limbic-sandbox] blocked: ';

export const SANDBOX_PRELOAD = String.raw`'use strict';
(() => {
  const fs = require('fs');
  const path = require('path');
  const Module = require('module');
  const { fileURLToPath } = require('url');
  const writeSync = fs.writeSync;
  const realpathSync = fs.realpathSync;
  const existsSync = fs.existsSync;
  const root = realpathSync(process.cwd());
  const MARK = ${JSON.stringify(BLOCK_MARKER)};
  // Node builds the stdio streams lazily from net.Socket: build them before net is stubbed.
  void process.stdout; void process.stderr; void process.stdin;

  function record(what) {
    try { writeSync(2, '\n' + MARK + what + '\n'); } catch (_) { /* stderr closed */ }
  }
  function blocked(what) {
    const stub = function () {
      record(what);
      const e = new Error('network/process blocked in the limbic sandbox: ' + what);
      e.code = 'ERR_SANDBOX_BLOCKED';
      throw e;
    };
    return stub;
  }
  function stubModule(name) {
    let m;
    try { m = require(name); } catch (_) { return; }
    const seen = new Set();
    const patch = (obj, prefix) => {
      if (!obj || seen.has(obj)) return;
      seen.add(obj);
      for (const key of Object.getOwnPropertyNames(obj)) {
        let v;
        try { v = obj[key]; } catch (_) { continue; }
        if (typeof v === 'function') {
          try { Object.defineProperty(obj, key, { value: blocked(prefix + key), writable: true, configurable: true, enumerable: true }); } catch (_) { /* frozen */ }
        } else if (v && typeof v === 'object' && key === 'promises') {
          patch(v, prefix + 'promises.');
        }
      }
    };
    patch(m, name + '.');
  }
  for (const name of ['net', 'tls', 'http', 'https', 'http2', 'dgram', 'dns', 'dns/promises', 'child_process', 'cluster', 'worker_threads', 'inspector', 'inspector/promises']) stubModule(name);

  for (const g of ['fetch', 'WebSocket', 'EventSource', 'XMLHttpRequest']) {
    try { Object.defineProperty(globalThis, g, { value: blocked(g), writable: false, configurable: false }); } catch (_) { /* ignore */ }
  }
  for (const k of ['binding', '_linkedBinding', 'dlopen', 'kill', 'chdir', 'setuid', 'setgid', 'setgroups', 'send']) {
    try { Object.defineProperty(process, k, { value: blocked('process.' + k), writable: false, configurable: false }); } catch (_) { /* ignore */ }
  }

  // File writes: only inside the working directory (lexically, and through the real path of the
  // nearest existing ancestor, so a symlink cannot lead out).
  function toPath(p) {
    if (p instanceof URL) return fileURLToPath(p);
    if (Buffer.isBuffer(p)) return p.toString();
    return String(p);
  }
  function inside(p) {
    const abs = path.resolve(root, toPath(p));
    if (abs !== root && !abs.startsWith(root + path.sep)) return false;
    let probe = abs;
    while (!existsSync(probe) && probe !== root) probe = path.dirname(probe);
    let real;
    try { real = realpathSync(probe); } catch (_) { return false; }
    return real === root || real.startsWith(root + path.sep);
  }
  function guard(obj, fnName, argIdx, prefix) {
    const orig = obj[fnName];
    if (typeof orig !== 'function') return;
    const wrapped = function (...args) {
      for (const i of argIdx) {
        if (args[i] !== undefined && typeof args[i] !== 'number' && !inside(args[i])) {
          const what = prefix + fnName + ' outside the working directory (' + toPath(args[i]) + ')';
          record('fs-write ' + what);
          const e = new Error('file write blocked in the limbic sandbox: ' + what);
          e.code = 'ERR_SANDBOX_BLOCKED';
          throw e;
        }
      }
      return orig.apply(this, args);
    };
    try { Object.defineProperty(obj, fnName, { value: wrapped, writable: true, configurable: true, enumerable: true }); } catch (_) { /* ignore */ }
  }
  function writeFlags(flags) {
    if (flags === undefined || flags === null) return false;
    if (typeof flags === 'number') return (flags & (fs.constants.O_WRONLY | fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_APPEND)) !== 0;
    return /[wa+]/.test(String(flags));
  }
  function guardOpen(obj, fnName, prefix) {
    const orig = obj[fnName];
    if (typeof orig !== 'function') return;
    const wrapped = function (p, flags, ...rest) {
      if (writeFlags(flags) && !inside(p)) {
        const what = prefix + fnName + ' for writing outside the working directory (' + toPath(p) + ')';
        record('fs-write ' + what);
        const e = new Error('file write blocked in the limbic sandbox: ' + what);
        e.code = 'ERR_SANDBOX_BLOCKED';
        throw e;
      }
      return orig.call(this, p, flags, ...rest);
    };
    try { Object.defineProperty(obj, fnName, { value: wrapped, writable: true, configurable: true, enumerable: true }); } catch (_) { /* ignore */ }
  }
  const one = ['writeFile', 'appendFile', 'mkdir', 'mkdtemp', 'rm', 'rmdir', 'unlink', 'truncate', 'chmod', 'lchmod', 'chown', 'lchown', 'utimes', 'lutimes'];
  const two = ['rename', 'copyFile', 'cp', 'link', 'symlink'];
  for (const base of one) {
    guard(fs, base, [0], 'fs.');
    guard(fs, base + 'Sync', [0], 'fs.');
    guard(fs.promises, base, [0], 'fs.promises.');
  }
  for (const base of two) {
    guard(fs, base, [0, 1], 'fs.');
    guard(fs, base + 'Sync', [0, 1], 'fs.');
    guard(fs.promises, base, [0, 1], 'fs.promises.');
  }
  guard(fs, 'createWriteStream', [0], 'fs.');
  guardOpen(fs, 'open', 'fs.');
  guardOpen(fs, 'openSync', 'fs.');
  guardOpen(fs.promises, 'open', 'fs.promises.');
  try { Module.syncBuiltinESMExports(); } catch (_) { /* older node */ }
})();
`;
