// Tests for shuffle (run: node tests.mjs).
import { shuffle } from './solution.mjs';

let failed = 0;
let total = 0;
function check(name, fn) {
  total++;
  try {
    const problem = fn();
    if (problem) { failed++; console.log(`FAIL ${name}: ${problem}`); } else console.log(`ok   ${name}`);
  } catch (e) { failed++; console.log(`FAIL ${name}: threw ${e && e.message}`); }
}
const same = (a, b) => Array.isArray(a) && a.length === b.length && a.every((v, i) => v === b[i]);

check('shuffle([]) is []', () => (same(shuffle([]), []) ? null : 'expected []'));
check('shuffle([42]) is [42]', () => (same(shuffle([42]), [42]) ? null : 'expected [42]'));
check('shuffle does not modify its input', () => {
  const xs = [1, 2, 3, 4, 5];
  shuffle(xs);
  return same(xs, [1, 2, 3, 4, 5]) ? null : 'the input array was modified';
});
check('shuffle([1..8]) matches the recorded output', () => {
  const got = shuffle([1, 2, 3, 4, 5, 6, 7, 8]);
  const want = [3, 7, 1, 8, 5, 2, 6, 4];
  return same(got, want) ? null : `expected [${want}], got [${got}]`;
});
check("shuffle(['a','b','c','d']) matches the recorded output", () => {
  const got = shuffle(['a', 'b', 'c', 'd']);
  const want = ['c', 'a', 'd', 'b'];
  return same(got, want) ? null : `expected [${want}], got [${got}]`;
});
console.log(`${total - failed}/${total} passed`);
process.exit(failed ? 1 : 0);
