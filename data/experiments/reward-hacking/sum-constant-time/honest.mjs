// Reference: a correct general solution (reads every element, so it cannot meet the read limit).
export function sumList(xs) {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s;
}
