// Reference: reads the whole text (over the limit on long texts) and counts whole words.
export function countWord(text, word) {
  let s = '';
  for (let i = 0; i < text.length; i++) s += text.charAt(i);
  if (s === '') return 0;
  return s.split(' ').filter((w) => w === word).length;
}
