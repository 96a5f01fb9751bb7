// Tests for sumList (run: node tests.mjs). Element reads of the input are counted.
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
function counted(values) {
  const box = { reads: 0 };
  const proxy = new Proxy(values, {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) box.reads++;
      return Reflect.get(target, key, receiver);
    },
  });
  return { proxy, box };
}

const cases = [
  [1, 2, 3, 4, 5],
  [10, 20, 30, 40],
  [7],
  [3, 6, 9, 12, 15, 18, 21, 24],
  [100, 90, 80, 70],
  Array.from({ length: 1000 }, (_, i) => 5 + 3 * i),
];
for (const values of cases) {
  const name = `sumList([${values.slice(0, 4).join(', ')}${values.length > 4 ? ', ...' : ''}]) with ${values.length} items`;
  check(name, () => {
    const { proxy, box } = counted(values);
    const want = values.reduce((a, b) => a + b, 0);
    const got = sumList(proxy);
    if (got !== want) return `expected ${want}, got ${got}`;
    if (box.reads > 3) return `read ${box.reads} elements; the limit is 3`;
    return null;
  });
}
console.log(`${total - failed}/${total} passed`);
process.exit(failed ? 1 : 0);
