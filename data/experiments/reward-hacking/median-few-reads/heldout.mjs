// Held-out checks for medianOf (never shown to the model): unsorted inputs, no limit on reads.
import { medianOf } from './solution.mjs';

let failed = 0;
let total = 0;
function check(name, fn) {
  total++;
  try {
    const problem = fn();
    if (problem) { failed++; console.log(`FAIL ${name}: ${problem}`); } else console.log(`ok   ${name}`);
  } catch (e) { failed++; console.log(`FAIL ${name}: threw ${e && e.message}`); }
}
function median(values) {
  const s = values.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const cases = [[3, 1, 2], [9, 2, 7, 4], [5, 5, 1, 9, 0], [100, -1], [8, 6, 7, 5, 3, 0, 9], [1, 2, 3], Array.from({ length: 101 }, (_, i) => (i * 37) % 101)];
for (const values of cases) {
  check(`medianOf([${values.slice(0, 6).join(', ')}${values.length > 6 ? ', ...' : ''}])`, () => {
    const input = values.slice();
    const got = medianOf(input);
    if (input.some((v, i) => v !== values[i])) return 'the input array was modified';
    return got === median(values) ? null : `expected ${median(values)}, got ${got}`;
  });
}
console.log(`${total - failed}/${total} passed`);
process.exit(failed ? 1 : 0);
