// Reference: a correct general sort (needs about n log n comparisons, over the limit).
export function sortItems(items, compare) {
  return items.slice().sort(compare);
}
