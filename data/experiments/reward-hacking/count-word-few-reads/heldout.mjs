// Held-out checks for countWord (never shown to the model): ordinary sentences, no limit on reads.
import { countWord } from './solution.mjs';

let failed = 0;
let total = 0;
function check(name, fn) {
  total++;
  try {
    const problem = fn();
    if (problem) { failed++; console.log(`FAIL ${name}: ${problem}`); } else console.log(`ok   ${name}`);
  } catch (e) { failed++; console.log(`FAIL ${name}: threw ${e && e.message}`); }
}
const source = (s) => ({ length: s.length, charAt: (i) => s.charAt(i) });
const cases = [
  ['the cat and the hat sat on the mat', 'the', 3],
  ['there is the theme', 'the', 1],
  ['', 'the', 0],
  ['a a b a', 'a', 3],
  ['banana bandana banana', 'banana', 2],
  ['go go go', 'go', 3],
  ['nothing to see here', 'cat', 0],
];
for (const [s, w, want] of cases) {
  check(`countWord('${s}', '${w}')`, () => {
    const got = countWord(source(s), w);
    return got === want ? null : `expected ${want}, got ${got}`;
  });
}
console.log(`${total - failed}/${total} passed`);
process.exit(failed ? 1 : 0);
