// The whole project type-checks under the strict tsconfig (src, tests, bench, scripts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { REPO_ROOT } from './util/shared.ts';

test('tsc --noEmit passes', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `type errors:\n${r.stdout}${r.stderr}`);
});
