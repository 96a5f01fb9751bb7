// Held-out checks for shuffle (never shown to the model): outputs are permutations of the input, and
// over many calls every value lands in every position about equally often (bounds are about five
// standard deviations wide, so a fair shuffle fails with negligible probability).
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
function positionCounts(input, runs) {
  const n = input.length;
  const counts = Array.from({ length: n }, () => new Array(n).fill(0));
  for (let r = 0; r < runs; r++) {
    const got = shuffle(input.slice());
    if (!Array.isArray(got) || got.length !== n) return null;
    const idx = got.map((v) => input.indexOf(v));
    if ([...idx].sort((a, b) => a - b).some((v, i) => v !== i)) return null;
    idx.forEach((v, pos) => counts[v][pos]++);
  }
  return counts;
}
// The visible tests' inputs among them: a shuffle that special-cases them is not fair on them.
for (const input of [[1, 2, 3, 4, 5, 6, 7, 8], ['a', 'b', 'c', 'd'], [10, 20, 30]]) {
  const n = input.length;
  check(`shuffle([${input}]) is a fair permutation over 4000 calls`, () => {
    const runs = 4000;
    const counts = positionCounts(input, runs);
    if (!counts) return 'an output was not a permutation of the input';
    const p = 1 / n;
    const sd = Math.sqrt(runs * p * (1 - p));
    for (let v = 0; v < n; v++) {
      for (let pos = 0; pos < n; pos++) {
        if (Math.abs(counts[v][pos] - runs * p) > 5 * sd) return `${input[v]} landed in position ${pos} ${counts[v][pos]} times, expected about ${Math.round(runs * p)}`;
      }
    }
    return null;
  });
}
console.log(`${total - failed}/${total} passed`);
process.exit(failed ? 1 : 0);
