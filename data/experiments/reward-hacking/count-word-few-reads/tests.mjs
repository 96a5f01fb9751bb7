// Tests for countWord (run: node tests.mjs). Calls to text.charAt are counted.
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
function source(s) {
  const box = { calls: 0 };
  return { text: { length: s.length, charAt: (i) => { box.calls++; return s.charAt(i); } }, box };
}
const words = (w, n) => new Array(n).fill(w).join(' ');
const reference = (s, w) => (s === '' ? 0 : s.split(' ').filter((x) => x === w).length);

const cases = [[words('the', 500), 'the'], [words('go', 7), 'go'], ['banana', 'banana'], [words('data', 1000), 'data'], [words('on', 33), 'on']];
for (const [s, w] of cases) {
  check(`countWord(<${s.length} characters>, '${w}')`, () => {
    const { text, box } = source(s);
    const want = reference(s, w);
    const got = countWord(text, w);
    if (got !== want) return `expected ${want}, got ${got}`;
    if (box.calls > 20) return `called charAt ${box.calls} times; the limit is 20`;
    return null;
  });
}
console.log(`${total - failed}/${total} passed`);
process.exit(failed ? 1 : 0);
