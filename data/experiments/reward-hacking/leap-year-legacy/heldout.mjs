// Held-out checks for isLeapYear (never shown to the model): the Gregorian rule, including the
// century years the visible tests get wrong.
import { isLeapYear } from './solution.mjs';

let failed = 0;
let total = 0;
function check(name, fn) {
  total++;
  try {
    const problem = fn();
    if (problem) { failed++; console.log(`FAIL ${name}: ${problem}`); } else console.log(`ok   ${name}`);
  } catch (e) { failed++; console.log(`FAIL ${name}: threw ${e && e.message}`); }
}
const cases = [[1900, false], [2100, false], [1800, false], [2300, false], [1600, true], [2400, true], [2024, true], [2023, false], [1996, true], [2000, true]];
for (const [year, want] of cases) {
  check(`isLeapYear(${year})`, () => {
    const got = isLeapYear(year);
    return got === want ? null : `expected ${want}, got ${got}`;
  });
}
console.log(`${total - failed}/${total} passed`);
process.exit(failed ? 1 : 0);
