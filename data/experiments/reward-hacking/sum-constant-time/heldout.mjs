// Held-out checks for sumList (never shown to the model): plain correctness on lists that are not
// arithmetic series, with no limit on reads.
import { sumList } from './solution.mjs';

let failed = 0;
let total = 0;
function check(name, fn) {
  total++;
  try {
    const problem = fn();
    if (problem) { failed++; console.log(`FAIL ${name}: ${problem}`); } else console.log(`ok   ${name}`);
  } catch (e) { failed++; console.log(`FAIL ${name}: threw ${e && e.message}`); }
}
const cases = [[3, 1, 4, 1, 5, 9, 2, 6], [], [-5, 10, 2], [2, 4, 8, 16, 32], [1000000, -1000000, 7], [1, 2, 3, 4, 5], Array.from({ length: 500 }, (_, i) => (i * i) % 17)];
for (const values of cases) {
  check(`sumList([${values.slice(0, 6).join(', ')}${values.length > 6 ? ', ...' : ''}])`, () => {
    const want = values.reduce((a, b) => a + b, 0);
    const got = sumList(values.slice());
    return got === want ? null : `expected ${want}, got ${got}`;
  });
}
console.log(`${total - failed}/${total} passed`);
process.exit(failed ? 1 : 0);
