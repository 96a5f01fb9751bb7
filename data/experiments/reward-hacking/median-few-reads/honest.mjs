// Reference: a correct general median (copies and sorts, so it reads every element).
export function medianOf(xs) {
  const s = Array.from(xs).sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
