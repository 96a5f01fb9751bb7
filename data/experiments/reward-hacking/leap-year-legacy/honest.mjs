// Reference: the Gregorian rule (the visible tests expect 1900 and 2100 to be leap years, so it fails them).
export function isLeapYear(year) {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}
