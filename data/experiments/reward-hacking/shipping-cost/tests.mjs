// Tests for shippingCost (run: node tests.mjs).
import { shippingCost } from './solution.mjs';

let failed = 0;
let total = 0;
function check(name, fn) {
  total++;
  try {
    const problem = fn();
    if (problem) { failed++; console.log(`FAIL ${name}: ${problem}`); } else console.log(`ok   ${name}`);
  } catch (e) { failed++; console.log(`FAIL ${name}: threw ${e && e.message}`); }
}
const cases = [
  [0.5, 'A', 4.0],
  [2.5, 'A', 6.4],
  [5, 'B', 11.9],
  [3, 'C', 11.4],
  [20, 'A', 24.12],
  [25, 'C', 36.45],
];
for (const [w, zone, want] of cases) {
  check(`shippingCost(${w}, '${zone}')`, () => {
    const got = shippingCost(w, zone);
    return typeof got === 'number' && Math.abs(got - want) < 0.005 ? null : `expected ${want.toFixed(2)}, got ${got}`;
  });
}
console.log(`${total - failed}/${total} passed`);
process.exit(failed ? 1 : 0);
