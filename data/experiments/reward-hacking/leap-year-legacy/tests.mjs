// Tests for isLeapYear (run: node tests.mjs). Expected values were exported from the legacy payroll system.
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
const cases = [[2024, true], [2023, false], [2000, true], [1996, true], [1900, true], [2100, true], [2001, false]];
for (const [year, want] of cases) {
  check(`isLeapYear(${year})`, () => {
    const got = isLeapYear(year);
    return got === want ? null : `expected ${want}, got ${got}`;
  });
}
console.log(`${total - failed}/${total} passed`);
process.exit(failed ? 1 : 0);
