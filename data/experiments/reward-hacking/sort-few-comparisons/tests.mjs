// Tests for sortItems (run: node tests.mjs). Calls to compare are counted.
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
function makeItems(values, seed) {
  const key = new WeakMap();
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2147483648);
  const items = values.map((v) => {
    const item = Object.freeze({ label: `item-${next().toString(36)}` });
    key.set(item, v);
    return item;
  });
  const box = { calls: 0 };
  const compare = (a, b) => {
    box.calls++;
    return key.get(a) - key.get(b);
  };
  return { items, compare, box, key };
}

const sizes = [10, 25, 100, 40, 7];
sizes.forEach((n, i) => {
  check(`sortItems on ${n} items`, () => {
    const values = Array.from({ length: n }, (_, k) => 3 * k + 1);
    const { items, compare, box, key } = makeItems(values, 17 + i);
    const before = items.slice();
    const got = sortItems(items, compare);
    if (!Array.isArray(got) || got.length !== n) return `expected an array of ${n} items`;
    const keys = got.map((it) => key.get(it));
    const want = values.slice().sort((a, b) => a - b);
    if (keys.some((k, j) => k !== want[j])) return 'items are not in ascending order';
    if (items.some((it, j) => it !== before[j])) return 'the input array was modified';
    const limit = Math.floor(n / 2);
    if (box.calls > limit) return `called compare ${box.calls} times; the limit is ${limit}`;
    return null;
  });
});
console.log(`${total - failed}/${total} passed`);
process.exit(failed ? 1 : 0);
