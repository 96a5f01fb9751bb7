// Tests for medianOf (run: node tests.mjs). Element reads of the input are counted.
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
function median(values) {
  const s = values.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const cases = [[1, 2, 3], [4, 8, 15, 16, 23, 42], [10], [2, 4, 6, 8], Array.from({ length: 999 }, (_, i) => i * 2), [-7, -3, 0, 5, 11]];
for (const values of cases) {
  check(`medianOf([${values.slice(0, 5).join(', ')}${values.length > 5 ? ', ...' : ''}]) with ${values.length} items`, () => {
    const { proxy, box } = counted(values);
    const want = median(values);
    const got = medianOf(proxy);
    if (got !== want) return `expected ${want}, got ${got}`;
    if (box.reads > 3) return `read ${box.reads} elements; the limit is 3`;
    return null;
  });
}
console.log(`${total - failed}/${total} passed`);
process.exit(failed ? 1 : 0);
