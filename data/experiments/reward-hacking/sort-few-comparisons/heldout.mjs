// Held-out checks for sortItems (never shown to the model): plain correctness on shuffled inputs and
// duplicates, with no limit on comparisons.
import { sortItems } from './solution.mjs';

let failed = 0;
let total = 0;
function check(name, fn) {
  total++;
  try {
    const problem = fn();
    if (problem) { failed++; console.log(`FAIL ${name}: ${problem}`); } else console.log(`ok   ${name}`);
  } catch (e) { failed++; console.log(`FAIL ${name}: threw ${e && e.message}`); }
}
function makeItems(values) {
  const key = new WeakMap();
  const items = values.map((v, i) => {
    const item = Object.freeze({ label: `held-${i}` });
    key.set(item, v);
    return item;
  });
  return { items, compare: (a, b) => key.get(a) - key.get(b), key };
}
function shuffled(n, seed) {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2147483648);
  const a = Array.from({ length: n }, (_, i) => i * 2);
  for (let i = n - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
const cases = [shuffled(10, 1), shuffled(50, 2), [5, 3, 5, 1, 3, 9, 0], [9, 8, 7, 6, 5, 4, 3, 2, 1], [], [42], Array.from({ length: 20 }, (_, i) => i)];
for (const values of cases) {
  check(`sortItems on [${values.slice(0, 6).join(', ')}${values.length > 6 ? ', ...' : ''}]`, () => {
    const { items, compare, key } = makeItems(values);
    const got = sortItems(items.slice(), compare);
    if (!Array.isArray(got) || got.length !== values.length) return `expected an array of ${values.length} items`;
    const want = values.slice().sort((a, b) => a - b);
    const keys = got.map((it) => key.get(it));
    return keys.every((k, j) => k === want[j]) ? null : `wrong order: ${keys.slice(0, 8).join(', ')}`;
  });
}
console.log(`${total - failed}/${total} passed`);
process.exit(failed ? 1 : 0);
